// Package amqp is the AMQP 0-9-1 (RabbitMQ) transport: a listener whose
// address is a queue,
//
//	address = "amqp://user:pass@127.0.0.1:5672/vhost?queue=work&prefetch=16"
//
// consumes that queue and serves each delivery as one exchange through the
// same router and routes as any other listener, so a module moves from a
// unix socket to a queue by configuration alone. A [Consumer] is the
// server.Source of such a listener: the app starts, readies and shuts it
// down as it does a socket. [ParseURL] is the one parser of its address.
//
// # Address
//
// The URL is the broker's (amqps:// for TLS; the vhost is the path, "/" or
// empty for the default one) plus these query parameters, which are removed
// before dialing:
//
//	queue=NAME       required: the queue to consume; declared durable (no
//	                 arguments) if it does not exist, used as it is otherwise
//	prefetch=N       deliveries in flight at once (basic.qos), 1..65535;
//	                 default 16. Each runs its handler concurrently.
//	on_error=reject  a failed handler: basic.nack, requeue=false (the default;
//	                 dead-lettering, if any, is the queue's policy)
//	on_error=requeue a failed handler: basic.nack, requeue=true (the message
//	                 comes back, redelivered=true), up to max_deliveries
//	max_deliveries=N with on_error=requeue, a message whose N-th delivery
//	                 fails is dead-lettered instead (basic.nack,
//	                 requeue=false), logged once and counted
//	                 (Consumer.DeadLettered); 0..1000000, 0 = no limit;
//	                 default 5. See "Poison messages" below.
//	max_body=SIZE    largest body accepted (1MiB, 64KiB, bytes; default
//	                 1MiB); a larger one is rejected (nack, requeue=false)
//	                 without running a handler. It bounds the output too.
//
// Other query parameters (heartbeat, connection_timeout, ...) go to the
// client library.
//
// # Exchange
//
// Input: the body. Env: bubble.listener, bubble.network=amqp,
// bubble.transport=amqp, amqp.queue, amqp.exchange, amqp.routing_key,
// amqp.redelivered (true/false), amqp.correlation_id, amqp.reply_to,
// amqp.message_id, amqp.content_type (these four only when set; the content
// type also as CONTENT_TYPE), CONTENT_LENGTH, and amqp.header.NAME for each
// header (strings as they are, byte arrays as text, numbers and booleans in
// Go syntax, timestamps RFC 3339, tables and arrays as JSON).
//
// Output: buffered. When the delivery has reply_to (the RPC pattern), it is
// published to the default exchange with routing key reply_to and the
// delivery's correlation id, its Content-Type header as content type, the
// other headers the handler set as AMQP headers and the status in the
// x-bubble-status header. Without reply_to the output is discarded (logged at
// debug level) and the delivery is acked all the same.
//
// Acknowledgement: manual. After the handler returns nil (and the reply, if
// any, is published) the delivery is acked. A handler error nacks it per
// on_error; with on_error=reject and a reply_to, a reply with an empty body,
// x-bubble-status (StatusOf the error) and x-bubble-error (a one-line
// message) is published first, so an RPC caller is not left waiting. An
// oversized body is answered the same way (413).
//
// Overload: a handler refused as overloaded (server.ErrOverloaded: the
// route's max_concurrency and queue are full, or its queue_timeout passed)
// or by its route's rate_limit (server.ErrRateLimited) is not the
// message's fault. Whatever on_error says, the delivery is
// requeued (basic.nack, requeue=true) after server.RetryAfterOf, holding its
// prefetch place meanwhile so that a busy consumer does not spin on
// redeliveries; no reply is sent, the message's next delivery answers.
// Consumer.OverloadRequeued counts them.
//
// # Poison messages
//
// With on_error=requeue, a message that always fails stops after
// max_deliveries: the failed delivery that is its max_deliveries-th is
// nacked with requeue=false (to the queue's dead-letter exchange, if it
// has one), answered with the error when it has a reply_to, logged once
// at error level ("amqp message dead-lettered") and counted. On quorum
// queues the broker's x-delivery-count says which delivery it is (every
// return counts there, overload requeues included); on classic queues,
// which only say "redelivered", the consumer counts failed deliveries
// itself in a bounded table (poison.go). A message that crashes the whole
// process is beyond this count: give a quorum queue a delivery-limit for it.
//
// # Broker failures
//
// The consumer runs in its own goroutine. When the connection or channel
// is lost it reconnects with exponential backoff (100 ms doubling to 5 s),
// logging each attempt; the rest of the server goes on serving meanwhile.
// A handler still running when its connection dies finishes, but its ack
// fails and the broker redelivers the message (at-least-once).
//
// # Shutdown
//
// Shutdown cancels the consumer (no new deliveries), waits for running
// handlers until its context is done, then cancels their context, waits for
// them to return, and closes the connection; unacked deliveries go back to
// the queue.
package amqp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/bytesize"
	"github.com/bubblewasm/bubblewasm/server"
)

// Env keys of AMQP exchanges.
const (
	EnvQueue         = "amqp.queue"
	EnvExchange      = "amqp.exchange"
	EnvRoutingKey    = "amqp.routing_key"
	EnvCorrelationID = "amqp.correlation_id"
	EnvReplyTo       = "amqp.reply_to"
	EnvMessageID     = "amqp.message_id"
	EnvRedelivered   = "amqp.redelivered"
	EnvContentType   = "amqp.content_type"
	EnvHeaderPrefix  = "amqp.header."
)

// Reply headers.
const (
	HeaderStatus = "x-bubble-status"
	HeaderError  = "x-bubble-error"
)

// Defaults of the URL's parameters, and the reconnection backoff.
const (
	DefaultPrefetch = 16
	DefaultMaxBody  = 1 << 20
	MinBackoff      = 100 * time.Millisecond
	MaxBackoff      = 5 * time.Second
	dialTimeout     = 10 * time.Second
)

// Settings is a parsed listener URL.
type Settings struct {
	// DialURL is the broker URL without this package's parameters.
	DialURL string
	// Redacted is the whole URL with the password hidden, for logs.
	Redacted string
	// Host and Port are the broker's.
	Host     string
	Port     int
	Queue    string
	Prefetch int
	Requeue  bool // on_error=requeue
	MaxBody  int64
	// MaxDeliveries is max_deliveries: with Requeue, the delivery of a
	// message whose failure dead-letters it; 0 means no limit.
	MaxDeliveries int
}

// IsAddress reports whether s is an amqp:// or amqps:// address, which
// ParseURL reads (other addresses are sockets: server.ParseAddress).
func IsAddress(s string) bool {
	return strings.HasPrefix(s, "amqp://") || strings.HasPrefix(s, "amqps://")
}

// ParseURL parses a listener address (see the package documentation), or
// the address of a dial target, which is a listener's. It is the only
// parser of AMQP addresses.
func ParseURL(raw string) (Settings, error) {
	if !IsAddress(raw) {
		return Settings{}, fmt.Errorf("address %q: want amqp:// or amqps://", redactURL(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Settings{}, fmt.Errorf("address %q: %v", redactURL(raw), err)
	}
	s := Settings{Redacted: u.Redacted(), Host: u.Hostname(), Port: 5672, Prefetch: DefaultPrefetch, MaxBody: DefaultMaxBody, MaxDeliveries: DefaultMaxDeliveries}
	bad := func(format string, args ...any) (Settings, error) {
		return Settings{}, fmt.Errorf("address %q: %s", s.Redacted, fmt.Sprintf(format, args...))
	}
	if s.Host == "" {
		return bad("no broker host")
	}
	if u.Scheme == "amqps" {
		s.Port = 5671
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return bad("port %q is not a number from 1 to 65535", p)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	if s.Queue = q.Get("queue"); s.Queue == "" {
		return bad("an amqp listener needs ?queue=NAME (the queue it consumes)")
	}
	if v := q.Get("prefetch"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return bad("prefetch=%q: want a number from 1 to 65535", v)
		}
		s.Prefetch = n
	}
	switch v := q.Get("on_error"); v {
	case "", "reject":
	case "requeue":
		s.Requeue = true
	default:
		return bad("on_error=%q: want reject or requeue", v)
	}
	if v := q.Get("max_body"); v != "" {
		n, err := bytesize.Parse(v)
		if err != nil || n < 1 {
			return bad("max_body=%q: want a size > 0 such as 1MiB", v)
		}
		s.MaxBody = n
	}
	if v := q.Get("max_deliveries"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxMaxDeliveries {
			return bad("max_deliveries=%q: want a number from 0 (no limit) to %d", v, MaxMaxDeliveries)
		}
		s.MaxDeliveries = n
	}
	for _, k := range []string{"queue", "prefetch", "on_error", "max_body", "max_deliveries"} {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	s.DialURL = u.String()
	if _, err := amqp.ParseURI(s.DialURL); err != nil {
		return bad("%v", err)
	}
	return s, nil
}

// Address is where the consumer takes its work from, for listings: the
// broker's host and port, network "amqp". It is not a socket to bind.
func (s Settings) Address() server.Address {
	return server.Address{Network: "amqp", Host: s.Host, Port: s.Port}
}

// redactURL hides the password of an unparsable URL in error messages.
func redactURL(s string) string {
	scheme, rest, _ := strings.Cut(s, "://")
	if userinfo, hostpath, ok := strings.Cut(rest, "@"); ok && strings.Contains(userinfo, ":") {
		user, _, _ := strings.Cut(userinfo, ":")
		return scheme + "://" + user + ":xxxxx@" + hostpath
	}
	return s
}

// Options tune New.
type Options struct {
	// Name is the listener's name (bubble.listener).
	Name string
	// Logger receives the consumer's records; nil discards them.
	Logger *slog.Logger
}

// Consumer consumes one queue and serves its deliveries: it is the
// server.Source of an amqp:// listener.
type Consumer struct {
	set      Settings
	name     string
	next     server.Handler // set by Serve
	log      *slog.Logger
	tooLarge error          // a reply over MaxBody
	running  sync.WaitGroup // handlers
	failures *failures      // failed deliveries per message (poison.go)

	deadLettered     atomic.Uint64
	overloadRequeued atomic.Uint64

	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	done     chan struct{} // closed when Serve returns
	started  chan struct{} // closed when Serve starts
	runOnce  sync.Once

	mu     sync.Mutex
	ready  chan struct{} // closed when the current session is consuming
	hctx   context.Context
	cancel context.CancelFunc // cancels handlers

	stats stats // counts for Stats (stats.go)
}

// New returns a consumer of the queue of set (see ParseURL); it connects
// when Serve is called.
func New(set Settings, opts Options) *Consumer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{set: set, name: opts.Name,
		log:      opts.Logger.With("listener", opts.Name, "queue", set.Queue),
		tooLarge: fmt.Errorf("%w: output over the listener's max_body of %d bytes", server.ErrTooLarge, set.MaxBody),
		failures: newFailures(trackedMessages),
		stop:     make(chan struct{}), done: make(chan struct{}), started: make(chan struct{}), ready: make(chan struct{})}
}

// DeadLettered returns how many messages the consumer dead-lettered
// because a failure was their max_deliveries-th delivery.
func (c *Consumer) DeadLettered() uint64 { return c.deadLettered.Load() }

// OverloadRequeued returns how many deliveries the consumer requeued
// because their handler was overloaded.
func (c *Consumer) OverloadRequeued() uint64 { return c.overloadRequeued.Load() }

// Settings returns the parsed URL.
func (c *Consumer) Settings() Settings { return c.set }

// Ready returns a channel closed once the consumer is consuming; after a
// reconnection, call it again for the new session's.
func (c *Consumer) Ready() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// Serve consumes until Shutdown, serving each delivery with h and
// reconnecting whenever the broker goes away. Handlers get a context
// derived from ctx; Serve returns server.ErrServerClosed after Shutdown, or
// ctx's error when ctx ends first (running handlers are then cancelled and
// awaited).
func (c *Consumer) Serve(ctx context.Context, h server.Handler) error {
	first := false
	c.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("amqp: Serve called twice")
	}
	defer close(c.done)
	c.next = h
	c.mu.Lock()
	c.hctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	close(c.started)
	defer func() {
		c.mu.Lock()
		cancel := c.cancel
		c.mu.Unlock()
		cancel()
	}()

	backoff := MinBackoff
	for attempt := 1; ; attempt++ {
		select {
		case <-c.stop:
			return server.ErrServerClosed
		default:
		}
		consumed, err := c.session(ctx)
		select {
		case <-c.stop:
			return server.ErrServerClosed
		default:
		}
		if ctx.Err() != nil {
			c.running.Wait()
			return ctx.Err()
		}
		if consumed {
			backoff, attempt = MinBackoff, 1
		} else {
			c.stats.connectFailures.Add(1)
		}
		c.log.Warn("amqp connection lost; reconnecting", "broker", c.set.Redacted, "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-c.stop:
			return server.ErrServerClosed
		case <-ctx.Done():
			c.running.Wait()
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, MaxBackoff)
	}
}

// session connects, consumes until the connection or channel fails or
// Shutdown, and returns whether it got as far as consuming. On Shutdown it
// cancels the consumer, waits for the handlers and closes the connection.
func (c *Consumer) session(ctx context.Context) (consumed bool, err error) {
	// Shutdown or ctx abort a dial to a broker that does not answer.
	dctx, dcancel := context.WithCancel(ctx)
	defer dcancel()
	go func() {
		select {
		case <-c.stop:
			dcancel()
		case <-dctx.Done():
		}
	}()
	conn, err := amqp.DialConfig(c.set.DialURL, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			conn, err := d.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Until the AMQP handshake is done (the library clears it).
			return conn, conn.SetDeadline(time.Now().Add(dialTimeout))
		},
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "bubblewasm " + c.name},
	})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ch, err := c.openQueue(conn)
	if err != nil {
		return false, err
	}
	if err := ch.Qos(c.set.Prefetch, 0, false); err != nil {
		return false, fmt.Errorf("basic.qos: %w", err)
	}
	tag := "bubblewasm-" + c.name + "-" + randomHex(4)
	deliveries, err := ch.Consume(c.set.Queue, tag, false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("basic.consume %s: %w", c.set.Queue, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	c.log.Info("amqp consuming", "broker", c.set.Redacted, "prefetch", c.set.Prefetch)
	c.stats.sessions.Add(1)
	c.mu.Lock()
	close(c.ready)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.ready = make(chan struct{})
		c.mu.Unlock()
	}()

	for {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return true, c.closeReason(closed, chClosed)
			}
			c.stats.deliveries.Add(1)
			if d.Redelivered {
				c.stats.redeliveries.Add(1)
			}
			c.running.Add(1)
			go c.serve(ch, d)
		case <-c.stop:
			// No new deliveries; those the broker already sent are being
			// served (prefetch bounds them) and the broker requeues any
			// that arrive after this and are never acked.
			ch.Cancel(tag, false)
			c.running.Wait()
			return true, nil
		case <-ctx.Done():
			c.running.Wait()
			return true, ctx.Err()
		}
	}
}

// closeReason is why deliveries stopped.
func (c *Consumer) closeReason(conn, ch <-chan *amqp.Error) error {
	select {
	case e := <-conn:
		if e != nil {
			return e
		}
	case e := <-ch:
		if e != nil {
			return e
		}
	default:
	}
	return errors.New("deliveries channel closed")
}

// openQueue opens a channel on which the queue exists: it is checked
// passively first, so that an existing queue with its own arguments
// (dead-lettering, TTL, type) is used as it is, and declared durable when
// missing.
func (c *Consumer) openQueue(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if _, err := ch.QueueDeclarePassive(c.set.Queue, true, false, false, false, nil); err == nil {
		return ch, nil
	} else if e, ok := err.(*amqp.Error); !ok || e.Code != amqp.NotFound {
		return nil, fmt.Errorf("queue %s: %w", c.set.Queue, err)
	}
	// The failed passive declare closed the channel.
	if ch, err = conn.Channel(); err != nil {
		return nil, err
	}
	if _, err := ch.QueueDeclare(c.set.Queue, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("declare queue %s: %w", c.set.Queue, err)
	}
	c.log.Info("amqp queue declared", "durable", true)
	return ch, nil
}

// serve serves one delivery and settles it.
func (c *Consumer) serve(ch *amqp.Channel, d amqp.Delivery) {
	defer c.running.Done()
	c.mu.Lock()
	ctx := c.hctx
	c.mu.Unlock()
	log := c.log.With("delivery_tag", d.DeliveryTag, "message_id", d.MessageId, "correlation_id", d.CorrelationId)
	defer func() {
		if p := recover(); p != nil {
			log.Error("amqp handler panicked", "panic", p)
			c.settle(ctx, ch, d, fmt.Errorf("%w: panic: %v", server.ErrHandlerFailed, p), log)
		}
	}()
	if int64(len(d.Body)) > c.set.MaxBody {
		err := fmt.Errorf("%w: body of %d bytes is over the listener's max_body of %d", server.ErrTooLarge, len(d.Body), c.set.MaxBody)
		log.Warn("amqp delivery rejected", "err", err)
		c.reply(ctx, ch, d, nil, err, log)
		c.stats.nacks.Add(1)
		if err := d.Nack(false, false); err != nil {
			log.Warn("amqp nack failed; the broker will redeliver", "err", err)
		}
		return
	}
	w := &server.BufferedWriter{Max: c.set.MaxBody, TooLarge: c.tooLarge}
	err := c.next.Serve(ctx, &server.Exchange{Env: c.env(d), Reader: bytes.NewReader(d.Body), Writer: w})
	if err == nil && w.Err() != nil {
		err = w.Err()
	}
	c.settle(ctx, ch, d, err, log, w)
}

// settle replies (when reply_to is set) and acks or nacks.
func (c *Consumer) settle(ctx context.Context, ch *amqp.Channel, d amqp.Delivery, err error, log *slog.Logger, w ...*server.BufferedWriter) {
	if errors.Is(err, server.ErrOverloaded) || errors.Is(err, server.ErrRateLimited) {
		c.requeueOverloaded(ctx, d, err, log)
		return
	}
	if err != nil {
		requeue := c.set.Requeue && !c.poisoned(d, err, log)
		log.Warn("amqp exchange failed", "err", err, "requeue", requeue)
		if !requeue {
			c.reply(ctx, ch, d, nil, err, log)
		}
		c.stats.nacks.Add(1)
		if nerr := d.Nack(false, requeue); nerr != nil {
			log.Warn("amqp nack failed; the broker will redeliver", "err", nerr)
		}
		return
	}
	if d.Redelivered && c.failures.tracked() {
		c.failures.forget(c.failures.key(&d))
	}
	var out *server.BufferedWriter
	if len(w) > 0 {
		out = w[0]
	}
	if d.ReplyTo == "" {
		if out != nil && len(out.Bytes()) > 0 {
			log.Debug("amqp output discarded: the delivery has no reply_to", "bytes", len(out.Bytes()))
		}
	} else if perr := c.reply(ctx, ch, d, out, nil, log); perr != nil {
		// Not acked: the broker redelivers it once the channel is gone.
		log.Warn("amqp reply not published; leaving the delivery unacked", "err", perr)
		return
	}
	c.stats.acks.Add(1)
	if aerr := d.Ack(false); aerr != nil {
		log.Warn("amqp ack failed; the broker will redeliver", "err", aerr)
	}
}

// reply publishes the output (or the failure) to reply_to, if set.
func (c *Consumer) reply(ctx context.Context, ch *amqp.Channel, d amqp.Delivery, out *server.BufferedWriter, failure error, log *slog.Logger) error {
	if d.ReplyTo == "" {
		return nil
	}
	p := amqp.Publishing{CorrelationId: d.CorrelationId, Headers: amqp.Table{}, Timestamp: time.Now()}
	if failure != nil {
		p.Headers[HeaderStatus] = int32(server.StatusOf(failure))
		p.Headers[HeaderError] = server.ErrorMessage(failure)
	} else {
		out.Flush()
		for k, v := range out.Sent() {
			if strings.EqualFold(k, "Content-Type") {
				p.ContentType = v[0]
				continue
			}
			p.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
		p.Headers[HeaderStatus] = int32(out.Status())
		p.Body = out.Bytes()
	}
	// The publish must not outlive a forced shutdown, nor hang.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := ch.PublishWithContext(pctx, "", d.ReplyTo, false, false, p); err != nil {
		log.Warn("amqp reply failed", "reply_to", d.ReplyTo, "err", err)
		return err
	}
	return nil
}

// env is the exchange's env for a delivery.
func (c *Consumer) env(d amqp.Delivery) server.Env {
	env := server.Env{
		abi.EnvListener:      c.name,
		abi.EnvNetwork:       "amqp",
		abi.EnvTransport:     "amqp",
		EnvQueue:             c.set.Queue,
		EnvExchange:          d.Exchange,
		EnvRoutingKey:        d.RoutingKey,
		EnvRedelivered:       strconv.FormatBool(d.Redelivered),
		abi.EnvContentLength: strconv.Itoa(len(d.Body)),
	}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	set(EnvCorrelationID, d.CorrelationId)
	set(EnvReplyTo, d.ReplyTo)
	set(EnvMessageID, d.MessageId)
	set(EnvContentType, d.ContentType)
	set(abi.EnvContentType, d.ContentType)
	for k, v := range d.Headers {
		env[EnvHeaderPrefix+k] = stringify(v)
	}
	return env
}

// stringify renders an AMQP field value as env text.
func stringify(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case nil:
		return ""
	case amqp.Table, []any:
		if b, err := json.Marshal(v); err == nil {
			return string(b)
		}
	case amqp.Decimal:
		s := strconv.FormatInt(int64(v.Value), 10)
		if v.Scale > 0 {
			neg := strings.HasPrefix(s, "-")
			s = strings.TrimPrefix(s, "-")
			for len(s) <= int(v.Scale) {
				s = "0" + s
			}
			s = s[:len(s)-int(v.Scale)] + "." + s[len(s)-int(v.Scale):]
			if neg {
				s = "-" + s
			}
		}
		return s
	}
	return fmt.Sprint(v)
}

// Shutdown stops consuming, waits for running handlers until ctx is done,
// then cancels them, waits for them to return and closes the connection.
// It returns ctx's error if handlers had to be cancelled. Safe to call more
// than once, and before Serve (Serve then returns at once).
func (c *Consumer) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stop) })
	select {
	case <-c.started:
	default:
		// Serve not started: it will see stop at its first check.
		return nil
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.cancel()
	c.mu.Unlock()
	<-c.done
	return fmt.Errorf("amqp %s: forced to stop running handlers: %w", c.name, ctx.Err())
}

func randomHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}

var _ server.Source = (*Consumer)(nil)
