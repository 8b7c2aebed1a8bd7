package amqp_test

// Reliability tests of the amqp listener against a real broker: nothing is
// lost when the server is SIGKILLed under load (TestReliabilityNothingLost),
// a broker restart leaves HTTP unaffected and the consumer resumes
// (TestReliabilityBrokerRestart), and malformed deliveries are settled
// without stopping the consumer (TestReliabilityMalformed). The handler is
// testdata/result.wat: it answers "<message id> <redelivered>\n<body>".

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// resultWasm compiles testdata/result.wat into dir.
func resultWasm(t *testing.T, dir string) string {
	t.Helper()
	wasm := filepath.Join(dir, "result.wasm")
	if out, err := exec.Command("wat2wasm", "testdata/result.wat", "-o", wasm).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm (Debian package wabt, `make deps`): %v\n%s", err, out)
	}
	return wasm
}

// reliabilityN is the number of messages of TestReliabilityNothingLost; it
// takes about 10 s with or without the race detector (the consumer is a
// separate, non-race process), so there is one value for both.
const reliabilityN = 10_000

// parseResult splits a result.wat answer into message id, redelivered and
// body.
func parseResult(t *testing.T, body []byte) (id string, redelivered bool, rest []byte) {
	t.Helper()
	line, rest, ok := bytes.Cut(body, []byte("\n"))
	id, red, ok2 := strings.Cut(string(line), " ")
	if !ok || !ok2 || (red != "true" && red != "false") {
		t.Fatalf("malformed result %q", body)
	}
	return id, red == "true", rest
}

// TestReliabilityNothingLost publishes reliabilityN persistent, confirmed
// messages to a durable queue served by a `bubblewasm run` child process,
// SIGKILLs the child at random points and restarts it, and checks that
// every message was handled at least once and that every duplicate came
// from a redelivery.
func TestReliabilityNothingLost(t *testing.T) {
	const (
		n     = reliabilityN
		kills = 5
		bound = 3 * time.Minute
	)
	t0 := time.Now()
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RELIABILITY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RELIABILITY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with RELIABILITY_SEED=%d); %d messages", seed, seed, n)

	b := rabbittest.Start(t)
	dir := t.TempDir()
	wasm := resultWasm(t, dir)
	bin := filepath.Join(dir, "bubblewasm")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bubblewasm")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const work, results = "rel.work", "rel.results"
	cfgPath := filepath.Join(dir, "bubble.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
[[listener]]
name = "jobs"
address = "%s?queue=%s&prefetch=64"

[[route]]
name = "result"
module = %q
`, b.URL(), work, wasm)), 0o600); err != nil {
		t.Fatal(err)
	}

	cl := dialClient(t, b.URL()) // confirm mode
	cl.declare(t, work, nil)
	cl.declare(t, results, nil)

	// Publish everything, confirmed, before the first consumer starts.
	confirms := make([]*amqp.DeferredConfirmation, n)
	for i := range n {
		c, err := cl.ch.PublishWithDeferredConfirm("", work, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, MessageId: fmt.Sprintf("m-%05d", i), ReplyTo: results,
		})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		confirms[i] = c
	}
	confirmed := map[string]bool{}
	for i, c := range confirms {
		if ok, err := c.WaitContext(t.Context()); err != nil {
			t.Fatal(err)
		} else if ok {
			confirmed[fmt.Sprintf("m-%05d", i)] = true
		}
	}
	if len(confirmed) != n {
		t.Fatalf("%d of %d publishes confirmed", len(confirmed), n)
	}
	t.Logf("published and confirmed %d messages in %v", n, time.Since(t0).Round(time.Millisecond))

	rch, err := cl.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer rch.Close()
	res, err := rch.Consume(results, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The child: killed by the kernel if the test dies, by us otherwise.
	type child struct {
		cmd  *exec.Cmd
		log  string
		done chan struct{}
	}
	var cur *child
	start := func(i int) *child {
		t.Helper()
		logPath := filepath.Join(dir, fmt.Sprintf("child-%d.log", i))
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, "run", "-c", cfgPath)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := &child{cmd: cmd, log: logPath, done: make(chan struct{})}
		go func() { cmd.Wait(); close(c.done) }()
		return c
	}
	t.Cleanup(func() {
		if cur != nil {
			cur.cmd.Process.Kill()
			<-cur.done
		}
	})
	childLog := func(c *child) string {
		data, _ := os.ReadFile(c.log)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		return string(data)
	}

	// Kill points: distinct counts of results received, in the middle 90%.
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var points []int
	for len(points) < kills {
		p := n/20 + rng.IntN(n*9/10)
		if !slices.Contains(points, p) {
			points = append(points, p)
		}
	}
	slices.Sort(points)
	t.Logf("kill points (results received): %v", points)

	seen := map[string]int{}  // results per id
	fresh := map[string]int{} // results with redelivered=false per id
	total, redelivered, k := 0, 0, 0
	record := func(m amqp.Delivery) {
		id, red, _ := parseResult(t, m.Body)
		if !confirmed[id] {
			t.Errorf("result for unknown id %q", id)
			return
		}
		total++
		seen[id]++
		if red {
			redelivered++
		} else {
			fresh[id]++
		}
	}
	cur = start(0)
	for len(seen) < n {
		select {
		case m, ok := <-res:
			if !ok {
				t.Fatal("results consumer closed")
			}
			record(m)
			if k < len(points) && total >= points[k] {
				cur.cmd.Process.Signal(syscall.SIGKILL)
				<-cur.done
				t.Logf("kill %d at %d results (%d distinct ids) after %v", k+1, total, len(seen), time.Since(t0).Round(time.Millisecond))
				k++
				cur = start(k)
			}
		case <-cur.done:
			t.Fatalf("child exited on its own (%v)\n%s", cur.cmd.ProcessState, childLog(cur))
		case <-deadline.C:
			t.Fatalf("after %v: %d of %d ids handled, %d results, %d kills\n%s", bound, len(seen), n, total, k, childLog(cur))
		}
	}
	if k != kills {
		t.Errorf("%d kills, want %d", k, kills)
	}

	// Stop the last child gracefully: it settles what it holds, and every
	// reply it published is routed before its connection closes. A
	// sentinel published after that marks the end of the results.
	cur.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cur.done:
	case <-deadline.C:
		t.Fatalf("child did not stop on SIGTERM\n%s", childLog(cur))
	}
	if code := cur.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("child exit code %d after SIGTERM\n%s", code, childLog(cur))
	}
	cur = nil
	cl.publish(t, results, amqp.Publishing{MessageId: "sentinel", Body: []byte("sentinel end\n")})
drain:
	for {
		select {
		case m := <-res:
			if m.MessageId == "sentinel" {
				break drain
			}
			record(m)
		case <-deadline.C:
			t.Fatal("sentinel not received")
		}
	}

	missing := 0
	for id := range confirmed {
		if seen[id] == 0 {
			missing++
		}
	}
	dups, badDups := 0, 0
	for id, c := range seen {
		dups += c - 1
		if fresh[id] > 1 {
			badDups++
			t.Errorf("%s: %d results with redelivered=false", id, fresh[id])
		}
	}
	if missing > 0 {
		t.Errorf("%d confirmed ids never handled", missing)
	}
	t.Logf("FIGURES: n=%d kills=%d results=%d duplicates=%d (redelivered results %d, duplicates not from a redelivery %d) missing=%d total time %v",
		n, k, total, dups, redelivered, badDups, missing, time.Since(t0).Round(time.Millisecond))
}

// TestReliabilityBrokerRestart restarts the broker while an HTTP load loop
// runs against the same server: every HTTP request succeeds, and the amqp
// consumer reconnects and answers messages published after the restart.
func TestReliabilityBrokerRestart(t *testing.T) {
	const maxRequests = 1_000_000
	b := rabbittest.Start(t)
	wasm := resultWasm(t, t.TempDir())
	var logs testutil.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const queue = "rel.restart"
	cl := dialClient(t, b.URL())
	cl.declare(t, queue, nil)
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "bubble.toml"), []byte(fmt.Sprintf(`
[[listener]]
name = "web"
address = "tcp://127.0.0.1:0"

[[listener]]
name = "jobs"
address = "%s?queue=%s&prefetch=8"

[[route]]
name = "result"
module = %q
`, b.URL(), queue, wasm)))
	if err != nil {
		t.Fatal(err)
	}
	addrs := testapp.Start(t, cfg, app.Options{Logger: logger})
	url := fmt.Sprintf("http://127.0.0.1:%d/", addrs[0].Port)

	r := cl.call(t, queue, amqp.Publishing{MessageId: "before", Body: []byte("x"), DeliveryMode: amqp.Persistent})
	if string(r.Body) != "before false\nx" {
		t.Fatalf("reply before the restart: %q", r.Body)
	}

	// The load loop: sequential requests on keep-alive connections until
	// stopped, maxRequests or the time bound. Each is counted in the phase
	// (0 before, 1 during, 2 after the restart) it started and ended in; 3
	// counts those that straddle a phase change.
	var phase atomic.Int32
	var counts [4]atomic.Int64
	var failures atomic.Int64
	var firstFailure atomic.Value
	stop, done, warm := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		hc := &http.Client{Timeout: 10 * time.Second}
		defer hc.CloseIdleConnections()
		end := time.Now().Add(3 * time.Minute)
		for i := 0; i < maxRequests && time.Now().Before(end); i++ {
			select {
			case <-stop:
				return
			default:
			}
			p0 := phase.Load()
			body := fmt.Sprintf("req-%d", i)
			err := func() error {
				resp, err := hc.Post(url, "text/plain", strings.NewReader(body))
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if resp.StatusCode != 200 || string(got) != " \n"+body {
					return fmt.Errorf("request %d: %s %q", i, resp.Status, got)
				}
				return nil
			}()
			if err != nil {
				failures.Add(1)
				firstFailure.CompareAndSwap(nil, err)
			}
			if p1 := phase.Load(); p0 == p1 {
				counts[p0].Add(1)
			} else {
				counts[3].Add(1)
			}
			if i == 20 {
				close(warm)
			}
		}
	}()
	select {
	case <-warm:
	case <-done:
		t.Fatal("load loop ended before 20 requests")
	}

	t1 := time.Now()
	phase.Store(1)
	b.Restart()
	phase.Store(2)
	outage := time.Since(t1)
	cl2 := dialClient(t, b.URL()) // the first client's connection died with the node
	t2 := time.Now()
	r = cl2.call(t, queue, amqp.Publishing{MessageId: "after", Body: []byte("y"), DeliveryMode: amqp.Persistent})
	if string(r.Body) != "after false\ny" {
		t.Errorf("reply after the restart: %q", r.Body)
	}
	resumed := time.Since(t2)
	close(stop)
	<-done

	if f := failures.Load(); f > 0 {
		t.Errorf("%d HTTP requests failed; first: %v", f, firstFailure.Load())
	}
	if counts[1].Load() == 0 {
		t.Errorf("no HTTP request ran during the outage")
	}
	attempts := strings.Count(logs.String(), "amqp connection lost; reconnecting")
	if attempts == 0 {
		t.Errorf("no reconnect attempt logged:\n%s", logs.String())
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "reconnecting") || strings.Contains(l, "amqp consuming") {
			lines = append(lines, l)
		}
	}
	t.Logf("consumer log:\n%s", strings.Join(lines, "\n"))
	t.Logf("FIGURES: restart took %v; HTTP requests before=%d during outage=%d after=%d straddling=%d failed=%d; reconnect attempts logged=%d; first reply after the restart in %v",
		outage.Round(time.Millisecond), counts[0].Load(), counts[1].Load(), counts[2].Load(), counts[3].Load(), failures.Load(), attempts, resumed.Round(time.Millisecond))
}

// TestReliabilityMalformed sends deliveries a handler cannot be given as
// they are, or cannot answer, and checks each is settled and the consumer
// keeps serving:
//
//   - a body that is not UTF-8 is served as bytes: the handler reads the
//     exact bytes (CONTENT_LENGTH is their count) and its output, bytes too,
//     is the reply body unchanged;
//   - a body over max_body is rejected without running the handler: the
//     reply_to gets status 413 and the message is nacked without requeue,
//     so the queue's dead-letter exchange routes it to the DLQ;
//   - a delivery without reply_to is served, its output discarded (logged
//     at debug level) and acked (prefetch=1: the next delivery would never
//     come otherwise).
func TestReliabilityMalformed(t *testing.T) {
	b := rabbittest.Start(t)
	wasm := resultWasm(t, t.TempDir())
	var logs testutil.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const queue, dlq = "rel.mal", "rel.mal.dlq"
	cl := dialClient(t, b.URL())
	cl.declare(t, dlq, nil)
	cl.declare(t, queue, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "bubble.toml"), []byte(fmt.Sprintf(`
[[listener]]
name = "jobs"
address = "%s?queue=%s&prefetch=1&max_body=1KiB"

[[route]]
name = "result"
module = %q
`, b.URL(), queue, wasm)))
	if err != nil {
		t.Fatal(err)
	}
	testapp.Start(t, cfg, app.Options{Logger: logger})

	// Not UTF-8: an invalid start byte, a NUL, a truncated sequence, a lone
	// continuation byte.
	bin := []byte{0xff, 0xfe, 0x00, 0xc3, 0x28, 'a', 0x80}
	r := cl.call(t, queue, amqp.Publishing{MessageId: "bin", Body: bin, ContentType: "application/octet-stream"})
	if want := append([]byte("bin false\n"), bin...); !bytes.Equal(r.Body, want) {
		t.Errorf("non-UTF-8 reply %q, want %q", r.Body, want)
	}
	if s := r.Headers["x-bubble-status"]; s != int32(200) {
		t.Errorf("non-UTF-8 status %v", s)
	}

	// Over max_body: 413 to reply_to, dead-lettered.
	dch, err := cl.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer dch.Close()
	dead, err := dch.Consume(dlq, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("z"), 1025)
	r = cl.call(t, queue, amqp.Publishing{MessageId: "big", Body: big})
	if s := r.Headers["x-bubble-status"]; s != int32(413) || len(r.Body) != 0 {
		t.Errorf("oversized: status %v body %q", s, r.Body)
	}
	if e, _ := r.Headers["x-bubble-error"].(string); !strings.Contains(e, "max_body") {
		t.Errorf("oversized: x-bubble-error %q", e)
	}
	m := waitFor(t, dead, "the oversized message in the DLQ")
	if m.MessageId != "big" || !bytes.Equal(m.Body, big) {
		t.Errorf("DLQ got %q (%d bytes)", m.MessageId, len(m.Body))
	}
	if deaths, _ := m.Headers["x-death"].([]any); len(deaths) == 0 {
		t.Errorf("DLQ message has no x-death header: %v", m.Headers)
	} else if d, _ := deaths[0].(amqp.Table); d["reason"] != "rejected" || d["queue"] != queue {
		t.Errorf("x-death = %v", d)
	}

	// No reply_to: acked and logged.
	cl.publish(t, queue, amqp.Publishing{MessageId: "noreply", Body: []byte("lost words")})
	r = cl.call(t, queue, amqp.Publishing{MessageId: "after", Body: []byte("ok")})
	if string(r.Body) != "after false\nok" {
		t.Errorf("reply after the malformed deliveries: %q", r.Body)
	}
	var discarded string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "message_id=noreply") {
			discarded += l + "\n"
		}
	}
	if !strings.Contains(discarded, "amqp output discarded") || strings.Contains(discarded, "amqp exchange failed") {
		t.Errorf("log of the delivery without reply_to:\n%s", discarded)
	}
	select { // nothing else was dead-lettered

	case m := <-dead:
		t.Errorf("unexpected DLQ message %q", m.MessageId)
	default:
	}
	if c := cl.messages(t, queue); c != 0 {
		t.Errorf("%d messages left in %s", c, queue)
	}
	t.Logf("no reply_to delivery log:\n%s", discarded)
}
