package amqp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	bubbleamqp "github.com/bubblewasm/bubblewasm/server/amqp"
)

// wait bounds every wait for the broker in these tests.
const wait = 30 * time.Second

func TestParseURL(t *testing.T) {
	s, err := bubbleamqp.ParseURL("amqp://u:secret@127.0.0.1:5672/vh?queue=work&prefetch=4&on_error=requeue&max_body=64KiB&max_deliveries=3&heartbeat=5")
	if err != nil {
		t.Fatal(err)
	}
	if s.Queue != "work" || s.Prefetch != 4 || !s.Requeue || s.MaxBody != 64<<10 || s.MaxDeliveries != 3 {
		t.Errorf("settings = %+v", s)
	}
	if s.DialURL != "amqp://u:secret@127.0.0.1:5672/vh?heartbeat=5" {
		t.Errorf("DialURL = %q", s.DialURL)
	}
	if strings.Contains(s.Redacted, "secret") {
		t.Errorf("Redacted = %q shows the password", s.Redacted)
	}
	d, err := bubbleamqp.ParseURL("amqps://h/?queue=q")
	if err != nil || d.Prefetch != bubbleamqp.DefaultPrefetch || d.Requeue || d.MaxBody != bubbleamqp.DefaultMaxBody || d.MaxDeliveries != bubbleamqp.DefaultMaxDeliveries {
		t.Errorf("defaults = %+v, %v", d, err)
	}
	if u, err := bubbleamqp.ParseURL("amqp://h/?queue=q&max_deliveries=0"); err != nil || u.MaxDeliveries != 0 {
		t.Errorf("max_deliveries=0 (no limit): %+v, %v", u, err)
	}
	for _, bad := range []string{
		"amqp://h/",                             // no queue
		"amqp://u:secret@h/?queue=q&prefetch=0", // prefetch range
		"amqp://h/?queue=q&prefetch=x",
		"amqp://h/?queue=q&on_error=retry",
		"amqp://h/?queue=q&max_body=0",
		"amqp://h/?queue=q&max_body=lots",
		"amqp:///?queue=q", // no host
		"amqp://h/?queue=q&max_deliveries=-1",
		"amqp://h/?queue=q&max_deliveries=1000001",
		"amqp://h/?queue=q&max_deliveries=99999999999999999999",
		"amqp://h/?queue=q&max_deliveries=five",
		"amqp://h/?queue=q&max_deliveries=2.5",
	} {
		_, err := bubbleamqp.ParseURL(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
	}
}

// FuzzParseURL: a URL that parses is consistent, and neither its Redacted
// form nor an error shows its password (what ParseAddress checked when it
// read AMQP addresses).
func FuzzParseURL(f *testing.F) {
	f.Add("amqp://h/?queue=q")
	f.Add("amqps://u:p@h:5671/v?queue=q&prefetch=2")
	f.Add("amqp://u:p%zz@h/?queue=q")
	f.Add("amqp://u:secret@h:0/?queue=q")
	f.Fuzz(func(t *testing.T, s string) {
		set, err := bubbleamqp.ParseURL(s)
		password := ""
		if u, perr := url.Parse(s); perr == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "xxxxx" && len(p) > 3 {
				password = ":" + u.User.String()[len(u.User.Username())+1:] + "@"
			}
		}
		if err != nil {
			if password != "" && strings.Contains(err.Error(), password) {
				t.Fatalf("ParseURL(%q) error shows the password: %v", s, err)
			}
			return
		}
		if set.Queue == "" || set.Host == "" || set.Port < 1 || set.Port > 65535 {
			t.Fatalf("ParseURL(%q) = %+v: inconsistent", s, set)
		}
		if password != "" && strings.Contains(set.Redacted, password) {
			t.Fatalf("Redacted of %q shows the password: %q", s, set.Redacted)
		}
	})
}

// TestConsumer runs every broker-backed case on one private node (a node
// takes seconds to start). Each case uses queues of its own.
func TestConsumer(t *testing.T) {
	b := rabbittest.Start(t)
	t.Logf("broker started in %v", b.StartDuration())
	cl := dialClient(t, b.URL())

	t.Run("rpc and env", func(t *testing.T) {
		h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			body, _ := io.ReadAll(x.Reader)
			x.Writer.Header().Set("Content-Type", "application/json")
			x.Writer.Header().Set("X-Echo", string(body))
			return json.NewEncoder(x.Writer).Encode(map[string]any{"body": string(body), "env": x.Env})
		})
		c := startConsumer(t, b.URL()+"?queue=rpc", "q1", h)
		reply := cl.call(t, "rpc", amqp.Publishing{
			Body: []byte("hi"), MessageId: "m-1", ContentType: "text/plain",
			Headers: amqp.Table{"x-num": int32(7), "x-str": "s", "x-bool": true, "x-bytes": []byte("raw")},
		})
		if reply.ContentType != "application/json" || reply.Headers["x-echo"] != "hi" || reply.Headers[bubbleamqp.HeaderStatus] != int32(200) {
			t.Errorf("reply properties: content type %q, headers %v", reply.ContentType, reply.Headers)
		}
		var got struct {
			Body string
			Env  map[string]string
		}
		if err := json.Unmarshal(reply.Body, &got); err != nil {
			t.Fatalf("reply %q: %v", reply.Body, err)
		}
		if got.Body != "hi" {
			t.Errorf("body = %q", got.Body)
		}
		want := map[string]string{
			"bubble.listener": "q1", "bubble.transport": "amqp", "bubble.network": "amqp",
			"amqp.queue": "rpc", "amqp.exchange": "", "amqp.routing_key": "rpc", "amqp.redelivered": "false",
			"amqp.message_id": "m-1", "amqp.content_type": "text/plain", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "2",
			"amqp.reply_to": reply.replyTo, "amqp.correlation_id": reply.CorrelationId,
			"amqp.header.x-num": "7", "amqp.header.x-str": "s", "amqp.header.x-bool": "true", "amqp.header.x-bytes": "raw",
		}
		for k, v := range want {
			if gv, ok := got.Env[k]; !ok || gv != v {
				t.Errorf("env[%s] = %q (present %v), want %q", k, gv, ok, v)
			}
		}
		if len(got.Env) != len(want) {
			t.Errorf("env has %d keys, want %d: %v", len(got.Env), len(want), got.Env)
		}

		// Round trip: 200 sequential calls on a warm consumer.
		const n = 200
		start := time.Now()
		for range n {
			cl.call(t, "rpc", amqp.Publishing{Body: []byte("x")})
		}
		t.Logf("RPC round trip: %v per call (mean of %d sequential calls)", time.Since(start)/n, n)
		shutdown(t, c)
		if m := cl.messages(t, "rpc"); m != 0 {
			t.Errorf("queue holds %d messages after the calls, want 0 (all acked)", m)
		}
	})

	t.Run("ack without reply_to", func(t *testing.T) {
		var served atomic.Int32
		done := make(chan struct{}, 5)
		c := startConsumer(t, b.URL()+"?queue=fire", "q2", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			served.Add(1)
			io.WriteString(x.Writer, "discarded")
			done <- struct{}{}
			return nil
		}))
		for i := range 5 {
			cl.publish(t, "fire", amqp.Publishing{Body: []byte(fmt.Sprint(i))})
		}
		for range 5 {
			waitFor(t, done, "a delivery to be served")
		}
		shutdown(t, c) // waits for the acks
		if m := cl.messages(t, "fire"); m != 0 || served.Load() != 5 {
			t.Errorf("served %d, queue holds %d; want 5 and 0", served.Load(), m)
		}
	})

	t.Run("failure rejects to the dead-letter queue", func(t *testing.T) {
		// An existing queue with its own arguments is used as it is.
		cl.declare(t, "dlq", nil)
		cl.declare(t, "failing", amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
		var calls atomic.Int32
		c := startConsumer(t, b.URL()+"?queue=failing", "q3", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			calls.Add(1)
			io.WriteString(x.Writer, "partial output is not sent")
			return errors.New("boom")
		}))
		reply := cl.call(t, "failing", amqp.Publishing{Body: []byte("x")})
		if reply.Headers[bubbleamqp.HeaderStatus] != int32(500) || reply.Headers[bubbleamqp.HeaderError] != "handler failed" || len(reply.Body) != 0 {
			t.Errorf("error reply: headers %v, body %q", reply.Headers, reply.Body)
		}
		shutdown(t, c)
		if m, d := cl.messages(t, "failing"), cl.messages(t, "dlq"); m != 0 || d != 1 || calls.Load() != 1 {
			t.Errorf("queue %d, dead letters %d, calls %d; want 0, 1, 1", m, d, calls.Load())
		}
	})

	t.Run("failure requeues with on_error=requeue", func(t *testing.T) {
		seen := make(chan string, 4)
		c := startConsumer(t, b.URL()+"?queue=retry&on_error=requeue", "q4", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			seen <- x.Env["amqp.redelivered"]
			if x.Env["amqp.redelivered"] == "false" {
				return errors.New("transient")
			}
			io.WriteString(x.Writer, "second time lucky")
			return nil
		}))
		reply := cl.call(t, "retry", amqp.Publishing{Body: []byte("x")})
		if string(reply.Body) != "second time lucky" {
			t.Errorf("reply %q %v", reply.Body, reply.Headers)
		}
		if a, b := waitFor(t, seen, "first try"), waitFor(t, seen, "second try"); a != "false" || b != "true" {
			t.Errorf("redelivered = %s then %s", a, b)
		}
		if !c.Stats().Consuming {
			t.Error("Stats: not consuming")
		}
		shutdown(t, c) // every delivery settled
		if m := cl.messages(t, "retry"); m != 0 {
			t.Errorf("queue holds %d", m)
		}
		want := bubbleamqp.Stats{Sessions: 1, Deliveries: 2, Redeliveries: 1, Acks: 1, Nacks: 1}
		if got := c.Stats(); got.Sessions != want.Sessions || got.Deliveries != want.Deliveries || got.Redeliveries != want.Redeliveries ||
			got.Acks != want.Acks || got.Nacks != want.Nacks || got.ConnectFailures != 0 {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})

	backpressureCases(t, b, cl)

	t.Run("prefetch bounds deliveries in flight", func(t *testing.T) {
		const prefetch, total = 3, 10
		var inFlight, peak atomic.Int32
		gate := make(chan struct{})
		entered := make(chan struct{}, total)
		done := make(chan struct{}, total)
		c := startConsumer(t, fmt.Sprintf("%s?queue=bounded&prefetch=%d", b.URL(), prefetch), "q5", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			entered <- struct{}{}
			<-gate
			inFlight.Add(-1)
			done <- struct{}{}
			return nil
		}))
		for i := range total {
			cl.publish(t, "bounded", amqp.Publishing{Body: []byte(fmt.Sprint(i))})
		}
		for range prefetch {
			waitFor(t, entered, "the first deliveries")
		}
		// With prefetch deliveries unacked, the broker sends no more: the
		// rest stays ready in the queue (publishes are confirmed, so the
		// count includes them all).
		if m := cl.messages(t, "bounded"); m != total-prefetch {
			t.Errorf("ready messages = %d with %d in flight, want %d", m, prefetch, total-prefetch)
		}
		close(gate)
		for range total {
			waitFor(t, done, "all deliveries")
		}
		shutdown(t, c)
		if p := peak.Load(); p != prefetch {
			t.Errorf("peak in flight = %d, want %d", p, prefetch)
		}
	})

	t.Run("oversize body rejected", func(t *testing.T) {
		var calls atomic.Int32
		c := startConsumer(t, b.URL()+"?queue=small&max_body=1KiB", "q6", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			calls.Add(1)
			io.Copy(x.Writer, x.Reader)
			return nil
		}))
		reply := cl.call(t, "small", amqp.Publishing{Body: bytes.Repeat([]byte("x"), 1025)})
		if reply.Headers[bubbleamqp.HeaderStatus] != int32(413) || !strings.Contains(fmt.Sprint(reply.Headers[bubbleamqp.HeaderError]), "max_body") {
			t.Errorf("oversize reply headers %v", reply.Headers)
		}
		if reply := cl.call(t, "small", amqp.Publishing{Body: bytes.Repeat([]byte("y"), 1024)}); len(reply.Body) != 1024 {
			t.Errorf("a body at the limit: reply of %d bytes %v", len(reply.Body), reply.Headers)
		}
		shutdown(t, c)
		if calls.Load() != 1 || cl.messages(t, "small") != 0 {
			t.Errorf("calls %d, queue %d; want 1, 0", calls.Load(), cl.messages(t, "small"))
		}
	})

	t.Run("handler timeout does not stop the consumer", func(t *testing.T) {
		h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			body, _ := io.ReadAll(x.Reader)
			if string(body) == "hang" {
				ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond) // a route's timeout
				defer cancel()
				<-ctx.Done()
				return fmt.Errorf("%w: %w", server.ErrTimeout, ctx.Err())
			}
			x.Writer.Write(body)
			return nil
		})
		c := startConsumer(t, b.URL()+"?queue=slow", "q7", h)
		reply := cl.call(t, "slow", amqp.Publishing{Body: []byte("hang")})
		if reply.Headers[bubbleamqp.HeaderStatus] != int32(504) || reply.Headers[bubbleamqp.HeaderError] != "handler timed out" {
			t.Errorf("timeout reply headers %v", reply.Headers)
		}
		if reply := cl.call(t, "slow", amqp.Publishing{Body: []byte("fine")}); string(reply.Body) != "fine" {
			t.Errorf("after a timeout: reply %q", reply.Body)
		}
		shutdown(t, c)
	})

	t.Run("shutdown lets running handlers finish", func(t *testing.T) {
		gate := make(chan struct{})
		entered := make(chan struct{}, 1)
		c, errc := startConsumerRun(t, b.URL()+"?queue=drain", "q8", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			entered <- struct{}{}
			<-gate
			return nil
		}))
		cl.publish(t, "drain", amqp.Publishing{Body: []byte("x")})
		waitFor(t, entered, "the handler")
		sd := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			sd <- c.Shutdown(ctx)
		}()
		close(gate)
		if err := waitFor(t, sd, "Shutdown"); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if err := waitFor(t, errc, "Serve"); !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
		if m := cl.messages(t, "drain"); m != 0 {
			t.Errorf("queue holds %d: the drained delivery was not acked", m)
		}
	})

	t.Run("shutdown deadline cancels handlers", func(t *testing.T) {
		entered := make(chan struct{}, 1)
		c, errc := startConsumerRun(t, b.URL()+"?queue=stuck", "q9", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}))
		cl.publish(t, "stuck", amqp.Publishing{Body: []byte("x")})
		waitFor(t, entered, "the handler")
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // already expired: handlers are cancelled at once
		if err := c.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want it to report the forced stop", err)
		}
		if err := waitFor(t, errc, "Serve"); !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
}

// TestBrokerRestart: the consumer reconnects after the broker went away and
// serves what is published after it came back.
func TestBrokerRestart(t *testing.T) {
	b := rabbittest.Start(t)
	var logs testutil.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := bubbleamqp.New(parseURL(t, b.URL()+"?queue=survivor"), bubbleamqp.Options{Name: "restart", Logger: logger})
	echo := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	})
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(context.Background(), echo) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c.Shutdown(ctx)
		<-errc
	})
	waitFor(t, c.Ready(), "the consumer")
	cl := dialClient(t, b.URL())
	if r := cl.call(t, "survivor", amqp.Publishing{Body: []byte("before")}); string(r.Body) != "before" {
		t.Fatalf("reply %q", r.Body)
	}
	cl.conn.Close()

	b.Restart()
	t.Logf("broker restarted in %v", b.StartDuration())
	cl = dialClient(t, b.URL())
	// The queue is durable: this waits there until the consumer is back.
	if r := cl.callWithin(t, "survivor", amqp.Publishing{Body: []byte("after")}, 60*time.Second); string(r.Body) != "after" {
		t.Fatalf("reply after restart %q", r.Body)
	}
	// The reply is published before the ack is counted.
	testutil.Eventually(t, "the second ack", func() bool { return c.Stats().Acks == 2 })
	if s := c.Stats(); s.Sessions < 2 || s.Deliveries != 2 {
		t.Errorf("after a reconnection: Stats = %+v, want 2 sessions or more, 2 deliveries", s)
	}
	if n := strings.Count(logs.String(), "amqp connection lost; reconnecting"); n < 1 {
		t.Errorf("no reconnection logged:\n%s", logs.String())
	}
	t.Logf("reconnection attempts logged: %d", strings.Count(logs.String(), "amqp connection lost; reconnecting"))
}

// --- helpers ---

// luckyHandler fails a message's first delivery with err and answers its
// redelivery, reporting each delivery's redelivered flag on seen.
type luckyHandler struct {
	err  error
	seen chan string
}

func secondTimeLucky(err error) luckyHandler { return luckyHandler{err, make(chan string, 4)} }

func (h luckyHandler) Serve(ctx context.Context, x *server.Exchange) error {
	h.seen <- x.Env[bubbleamqp.EnvRedelivered]
	if x.Env[bubbleamqp.EnvRedelivered] == "false" {
		return h.err
	}
	io.WriteString(x.Writer, "second time lucky")
	return nil
}

// expectRetried calls queue and checks that the reply came from the
// message's second delivery.
func (h luckyHandler) expectRetried(t *testing.T, cl *client, queue string) {
	t.Helper()
	reply := cl.call(t, queue, amqp.Publishing{Body: []byte("x")})
	if string(reply.Body) != "second time lucky" {
		t.Errorf("reply %q %v", reply.Body, reply.Headers)
	}
	if a, b := waitFor(t, h.seen, "first delivery"), waitFor(t, h.seen, "second delivery"); a != "false" || b != "true" {
		t.Errorf("redelivered = %s then %s", a, b)
	}
}

type client struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func dialClient(t *testing.T, url string) *client {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// Confirms: publish returns once the broker has routed the message, so
	// queue counts read afterwards include it.
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return &client{conn: conn, ch: ch}
}

func (c *client) declare(t *testing.T, queue string, args amqp.Table) {
	t.Helper()
	if _, err := c.ch.QueueDeclare(queue, true, false, false, false, args); err != nil {
		t.Fatal(err)
	}
}

func (c *client) publish(t *testing.T, queue string, p amqp.Publishing) {
	t.Helper()
	conf, err := c.ch.PublishWithDeferredConfirm("", queue, false, false, p)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := conf.WaitContext(t.Context()); !ok || err != nil {
		t.Fatalf("publish to %s not confirmed: %v %v", queue, ok, err)
	}
}

// messages is the number of ready messages in queue.
func (c *client) messages(t *testing.T, queue string) int {
	t.Helper()
	q, err := c.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

type reply struct {
	amqp.Delivery
	replyTo string
}

func (c *client) call(t *testing.T, queue string, p amqp.Publishing) reply {
	t.Helper()
	return c.callWithin(t, queue, p, wait)
}

// callWithin publishes p to queue with a fresh reply queue and correlation
// id and returns the reply.
func (c *client) callWithin(t *testing.T, queue string, p amqp.Publishing, d time.Duration) reply {
	t.Helper()
	ch, err := c.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.ReplyTo = q.Name
	p.CorrelationId = fmt.Sprintf("corr-%d", time.Now().UnixNano())
	if err := ch.Publish("", queue, false, false, p); err != nil {
		t.Fatal(err)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("reply channel closed")
			}
			if m.CorrelationId != p.CorrelationId {
				t.Errorf("reply correlation id %q, want %q", m.CorrelationId, p.CorrelationId)
				continue
			}
			return reply{Delivery: m, replyTo: q.Name}
		case <-timer.C:
			t.Fatalf("no reply from %s within %v", queue, d)
		}
	}
}

func startConsumerRun(t *testing.T, url, name string, h server.Handler) (*bubbleamqp.Consumer, chan error) {
	t.Helper()
	return startConsumerLogged(t, url, name, h, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startConsumerLogged is startConsumerRun with the consumer's logger.
func startConsumerLogged(t *testing.T, url, name string, h server.Handler, logger *slog.Logger) (*bubbleamqp.Consumer, chan error) {
	t.Helper()
	c := bubbleamqp.New(parseURL(t, url), bubbleamqp.Options{Name: name, Logger: logger})
	errc := make(chan error, 1)
	stopped := make(chan struct{})
	go func() { errc <- c.Serve(context.Background(), h); close(stopped) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		c.Shutdown(ctx)
		select {
		case <-stopped:
		case <-ctx.Done():
			t.Error("consumer did not stop")
		}
	})
	waitFor(t, c.Ready(), "the consumer to consume")
	return c, errc
}

func parseURL(t *testing.T, url string) bubbleamqp.Settings {
	t.Helper()
	set, err := bubbleamqp.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func startConsumer(t *testing.T, url, name string, h server.Handler) *bubbleamqp.Consumer {
	t.Helper()
	c, _ := startConsumerRun(t, url, name, h)
	return c
}

func shutdown(t *testing.T, c *bubbleamqp.Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}
