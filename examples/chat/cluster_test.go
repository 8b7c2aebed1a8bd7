package chat_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// probeRoute is added to cluster.toml by the test only: a host long-poll
// handler on its own channel. A POST to it publishes through the AMQP
// broker, so it succeeds once the server is connected to RabbitMQ (and then
// every subscription of the server is bound), without putting anything on
// the chat's channel.
const probeRoute = `
[[route]]
name = "probe"
builtin = "longpoll"
channel = "probe"
match = { PATH_INFO = "/probe" }
timeout = "5s"
`

// startClusterServer serves cluster.toml as one process of the cluster
// would: RabbitMQ at url, every route running wasm, and a free port, either
// by moving the file's listener (listen == "") or by replacing it as
// `--listen ADDRESS` does. It returns the base URL.
func startClusterServer(t *testing.T, url, wasm, listen string) string {
	t.Helper()
	cfg, err := config.Load("cluster.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PubSub.Backend != config.BackendAMQP || cfg.PubSub.URL != "amqp://guest:guest@127.0.0.1:5672/" || cfg.PubSub.Exchange == "" {
		t.Fatalf("cluster.toml: [pubsub] = %+v, want backend amqp on the local RabbitMQ", cfg.PubSub)
	}
	if cfg.PubSub.QueueSize != 10 || cfg.PubSub.Overflow != config.OverflowDropSubscriber || cfg.PubSub.IdleTimeout <= 0 {
		t.Fatalf("cluster.toml: [pubsub] = %+v, want bubble.toml's queue of 10, drop-subscriber and an idle timeout", cfg.PubSub)
	}
	if len(cfg.Listeners) != 1 || cfg.Listeners[0].Address != "tcp://127.0.0.1:8091" {
		t.Fatalf("cluster.toml: listeners %+v, want one on 127.0.0.1:8091", cfg.Listeners)
	}
	cfg.PubSub.URL = url
	for i := range cfg.Routes {
		cfg.Routes[i].Module = wasm
		cfg.Routes[i].Engine = config.EngineWazero
	}
	probe, err := config.Parse("probe.toml", []byte(probeRoute))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routes = append(cfg.Routes, probe.Routes...)
	opts := app.Options{Logger: slog.New(slog.DiscardHandler)}
	if listen == "" {
		cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	} else {
		opts.Listen = []string{listen}
	}
	addrs := testapp.Start(t, cfg, opts)
	return "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://")
}

// waitConnected returns once the server at base publishes through
// RabbitMQ. The AMQP broker connects in the background after the server
// starts; a publish fails until it is connected. Between attempts a long
// poll on the probe channel (nothing else publishes there) waits 0.2 s.
func waitConnected(ctx context.Context, t *testing.T, name, base string) {
	t.Helper()
	p := newParticipant(t, base, nil)
	for attempt := 0; ; attempt++ {
		if attempt == 100 {
			t.Fatalf("server %s: not connected to RabbitMQ after %d attempts", name, attempt)
		}
		resp, body, err := p.do(ctx, "POST", "/probe", "ping")
		if err != nil {
			t.Fatalf("server %s: probe: %v", name, err)
		}
		if resp.StatusCode == 200 {
			if attempt > 0 {
				t.Logf("server %s: connected to RabbitMQ after %d failed publishes", name, attempt)
			}
			return
		}
		if resp.StatusCode < 500 {
			t.Fatalf("server %s: probe: %d %q", name, resp.StatusCode, body)
		}
		if resp, body, err := p.do(ctx, "GET", "/probe?timeout=0.2", ""); err != nil || resp.StatusCode != 200 {
			t.Fatalf("server %s: probe wait: %v %q", name, err, body)
		}
	}
}

// pullN pulls until p has n messages; more than n, or a rejoin, is an
// error. Each pull waits up to 10 s for a message.
func (p *participant) pullN(ctx context.Context, n int) ([]string, error) {
	var got []string
	for polls := 0; len(got) < n; polls++ {
		if polls == 2*n+2 {
			return got, fmt.Errorf("%s: %d pulls, %d of %d messages: %q", p.me, polls, len(got), n, got)
		}
		msgs, rejoined, err := p.pull(ctx)
		if err != nil {
			return got, fmt.Errorf("%s: %w", p.me, err)
		}
		if rejoined {
			return got, fmt.Errorf("%s: dropped and subscribed again after %q", p.me, got)
		}
		got = append(got, msgs...)
	}
	if len(got) > n {
		return got, fmt.Errorf("%s: %d messages, want %d: %q", p.me, len(got), n, got)
	}
	return got, nil
}

// TestChatTwoServers runs cluster.toml as two servers (two processes in
// production) sharing the channel through a private RabbitMQ node: A
// serves two participants, B one. What one pushes reaches every page on
// both servers, the pusher's own included; the delivered count of a push
// is the pushing server's own subscriptions. Each publisher's messages
// arrive in order everywhere.
func TestChatTwoServers(t *testing.T) {
	node := rabbittest.Start(t)
	wasm := testbuild.Path(t, "module")
	baseA := startClusterServer(t, node.URL(), wasm, "")
	baseB := startClusterServer(t, node.URL(), wasm, "tcp://127.0.0.1:0") // as with --listen
	if baseA == baseB {
		t.Fatalf("both servers on %s", baseA)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitConnected(ctx, t, "A", baseA)
	waitConnected(ctx, t, "B", baseB)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	// Each participant sticks to one server (sessions are per server);
	// each has its own cookie jar.
	a1, a2, b := newParticipant(t, baseA, tr), newParticipant(t, baseA, tr), newParticipant(t, baseB, tr)
	all := []*participant{a1, a2, b}
	for _, p := range all {
		if err := p.open(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a1.me == a2.me || a1.me == b.me || a2.me == b.me {
		t.Fatalf("participants %s, %s, %s are not distinct", a1.me, a2.me, b.me)
	}
	local := map[*participant]int{a1: 2, a2: 2, b: 1} // pages on the pusher's server

	// a1 and the others are parked in a pull (or about to be: their pages
	// subscribed when they loaded) when b, on the other server, pushes;
	// then the other way round.
	for _, from := range []*participant{b, a1} {
		pulled := make(chan pullResult, 1)
		go func() { pulled <- pullAll(ctx, all, 1) }()
		text := "hello from " + from.me
		n, err := from.push(ctx, text)
		if err != nil || n != local[from] {
			t.Fatalf("%s pushed: delivered %d, %v; want %d (its own server's pages only)", from.me, n, err, local[from])
		}
		res := <-pulled
		if res.err != nil {
			t.Fatal(res.err)
		}
		for _, p := range all {
			if want := from.me + ": " + text; len(res.got[p]) != 1 || res.got[p][0] != want {
				t.Errorf("%s (on %s) pulled %q, want %q", p.me, p.base, res.got[p], want)
			}
		}
	}

	// Both servers publish at once, 5 messages each: 10, the queue size,
	// so nobody's queue can overflow even before it pulls. Every page gets
	// all 10, each publisher's in its order; how the two interleave may
	// differ from server to server.
	const each = 5
	var pushing sync.WaitGroup
	pushErrs := make(chan error, 2*each)
	for _, from := range []*participant{a2, b} {
		pushing.Go(func() {
			for k := 1; k <= each; k++ {
				n, err := from.push(ctx, fmt.Sprintf("msg-%02d", k))
				if err != nil || n != local[from] {
					pushErrs <- fmt.Errorf("%s pushed msg-%02d: delivered %d, %v; want %d", from.me, k, n, err, local[from])
					cancel() // the pulls would wait for it
					return
				}
			}
		})
	}
	res := pullAll(ctx, all, 2*each)
	pushing.Wait()
	close(pushErrs)
	for err := range pushErrs {
		t.Error(err)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if t.Failed() {
		t.FailNow()
	}
	got := res.got
	for _, p := range all {
		for _, from := range []*participant{a2, b} {
			var texts []string
			for _, m := range got[p] {
				if who, text, _ := strings.Cut(m, ": "); who == from.me {
					texts = append(texts, text)
				}
			}
			want := []string{"msg-01", "msg-02", "msg-03", "msg-04", "msg-05"}
			if !slices.Equal(texts, want) {
				t.Errorf("%s (on %s) got %q from %s, want %q in order; all: %q", p.me, p.base, texts, from.me, want, got[p])
			}
		}
	}
}

type pullResult struct {
	got map[*participant][]string
	err error
}

// pullAll pulls n messages on every page at once; it returns the first
// error rather than failing the test, so that it may run in a goroutine.
func pullAll(ctx context.Context, all []*participant, n int) pullResult {
	res := pullResult{got: make(map[*participant][]string)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(func() {
			msgs, err := p.pullN(ctx, n)
			mu.Lock()
			defer mu.Unlock()
			res.got[p] = msgs
			if err != nil && res.err == nil {
				res.err = err
			}
		})
	}
	wg.Wait()
	return res
}
