package chat_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// startChat serves bubble.toml as written, except that the listener moves
// to a free port and every route runs the module built from module/ on
// engine; adjust, if any, may change the configuration further. It returns
// the base URL.
func startChat(t *testing.T, engine string, adjust ...func(*config.Config)) string {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PubSub.QueueSize != 10 || cfg.PubSub.Overflow != config.OverflowDropSubscriber || cfg.PubSub.IdleTimeout <= 0 {
		t.Fatalf("bubble.toml: [pubsub] = %+v, want a queue of 10, drop-subscriber and an idle timeout", cfg.PubSub)
	}
	for _, f := range adjust {
		f(cfg)
	}
	wasm := testbuild.Path(t, "module")
	for i := range cfg.Routes {
		cfg.Routes[i].Module = wasm
		cfg.Routes[i].Engine = engine
		// On a busy machine a burst of pages builds Go instances for
		// seconds: the tests check behaviour, not the example's latency
		// budget. (A pull still waits at most 10 s: the module says so.)
		cfg.Routes[i].Timeout = max(cfg.Routes[i].Timeout, 2*time.Minute)
	}
	cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	return "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://")
}

// participant is one browser: its own cookie jar.
type participant struct {
	t      testing.TB
	base   string
	client *http.Client
	me     string // the display id the page shows
	tab    string // the page's id
}

func newParticipant(t testing.TB, base string, tr http.RoundTripper) *participant {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &participant{t: t, base: base, client: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}}
}

var (
	meAttr  = regexp.MustCompile(`data-participant="([0-9A-F]{6})"`)
	tabAttr = regexp.MustCompile(`data-tab="([0-9A-F]{6})"`)
)

// open loads the page, which subscribes it to the chat.
func (p *participant) open(ctx context.Context) error {
	resp, body, err := p.do(ctx, "GET", "/", "")
	if err != nil {
		return err
	}
	me, tab := meAttr.FindStringSubmatch(body), tabAttr.FindStringSubmatch(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || me == nil || tab == nil {
		return fmt.Errorf("GET /: %d %q, want the page with its participant and tab", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p.me, p.tab = me[1], tab[1]
	return nil
}

// pull long-polls once: the messages (one per line) and whether the
// server had to subscribe the page again.
func (p *participant) pull(ctx context.Context) (msgs []string, rejoined bool, err error) {
	resp, body, err := p.do(ctx, "GET", "/chat/pull?tab="+p.tab, "")
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != 200 {
		return nil, false, fmt.Errorf("pull: %d %q", resp.StatusCode, body)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		msgs = append(msgs, sc.Text())
	}
	return msgs, resp.Header.Get("X-Chat-Rejoined") != "", nil
}

// push sends text and returns how many subscriptions it reached.
func (p *participant) push(ctx context.Context, text string) (int, error) {
	resp, body, err := p.do(ctx, "POST", "/chat/push", text)
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(body, `{"delivered":%d}`, &n); resp.StatusCode != 200 || err != nil {
		return 0, fmt.Errorf("push: %d %q", resp.StatusCode, body)
	}
	return n, nil
}

func (p *participant) do(ctx context.Context, method, path, body string) (*http.Response, string, error) {
	var rd io.Reader
	if method == "POST" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return nil, "", err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestChatExchanges(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base := startChat(t, engine)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			a, b := newParticipant(t, base, tr), newParticipant(t, base, tr)
			for _, p := range []*participant{a, b} {
				if err := p.open(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if a.me == b.me && a.tab == b.tab {
				t.Fatalf("two participants got the same ids %s/%s", a.me, a.tab)
			}

			// Both pages are subscribed once their GET / returned: a
			// message pushed now is queued for both, so no pull waits.
			if n, err := a.push(ctx, "hello\r\nfrom a  "); err != nil || n != 2 {
				t.Fatalf("push: %d subscriptions, %v; want 2", n, err)
			}
			if n, err := b.push(ctx, "hi a"); err != nil || n != 2 {
				t.Fatalf("push: %d subscriptions, %v; want 2", n, err)
			}
			want := []string{a.me + ": hello  from a", b.me + ": hi a"}
			for _, p := range []*participant{a, b} {
				msgs, rejoined, err := p.pull(ctx)
				if err != nil || rejoined || strings.Join(msgs, "|") != strings.Join(want, "|") {
					t.Errorf("%s pulled %q (rejoined %v, err %v), want %q", p.me, msgs, rejoined, err, want)
				}
			}

			// Errors: an empty message, a long one, another path.
			for _, c := range []struct {
				method, path, body string
				status             int
			}{
				{"POST", "/chat/push", " \n ", 400},
				{"POST", "/chat/push", strings.Repeat("x", 1001), 413},
				{"GET", "/chat/pull?tab=nothex", "", 400},
				{"GET", "/chat/push", "", 404},
				{"GET", "/other", "", 404},
			} {
				resp, body, err := a.do(ctx, c.method, c.path, c.body)
				if err != nil || resp.StatusCode != c.status {
					t.Errorf("%s %s: %v %v %q, want %d", c.method, c.path, resp.StatusCode, err, body, c.status)
				}
			}

			// b stops pulling: the 11th message overflows its queue of 10
			// and the broker drops its subscription (delivered counts it
			// no longer), while a keeps up.
			for i := 1; i <= 11; i++ {
				n, err := a.push(ctx, "m"+strconv.Itoa(i))
				if wantN := 2 - i/11; err != nil || n != wantN {
					t.Fatalf("push m%d: %d subscriptions, %v; want %d", i, n, err, wantN)
				}
				if i == 10 {
					if msgs, _, err := a.pull(ctx); err != nil || len(msgs) != 10 {
						t.Fatalf("a pulled %q, %v", msgs, err)
					}
				}
			}
			if msgs, rejoined, err := a.pull(ctx); err != nil || rejoined || len(msgs) != 1 || msgs[0] != a.me+": m11" {
				t.Fatalf("a pulled %q (rejoined %v, %v), want m11", msgs, rejoined, err)
			}

			// b's next pull subscribes again and says so. It then waits
			// for a new message: push until one reaches the new
			// subscription (each push answers how many it reached), a
			// pulling each one so that its queue stays empty.
			type result struct {
				msgs     []string
				rejoined bool
				err      error
			}
			done := make(chan result, 1)
			go func() {
				msgs, rejoined, err := b.pull(ctx)
				done <- result{msgs, rejoined, err}
			}()
			for i := 0; ; i++ {
				if i == 10_000 {
					t.Fatal("b never subscribed again")
				}
				n, err := a.push(ctx, "again")
				if err != nil {
					t.Fatal(err)
				}
				if msgs, _, err := a.pull(ctx); err != nil || len(msgs) != 1 {
					t.Fatalf("a pulled %q, %v", msgs, err)
				}
				if n == 2 { // a's and b's new subscription
					break
				}
			}
			r := <-done
			if r.err != nil || !r.rejoined || len(r.msgs) != 1 || r.msgs[0] != a.me+": again" {
				t.Fatalf("b pulled %q (rejoined %v, %v), want a rejoin and %q", r.msgs, r.rejoined, r.err, a.me+": again")
			}
		})
	}
}

// TestChat200Pullers runs 200 participants, each with its own cookie jar,
// pulling continuously while a publisher pushes 50 messages: every one of
// them gets every message exactly once, in order. The publisher never has
// more than 10 messages (the queue size) outstanding for anyone: it sends
// message k only once every puller has received message k-10, so no queue
// overflows, which the delivered count of each push confirms.
func TestChat200Pullers(t *testing.T) {
	const (
		pullers  = 200
		messages = 50
		window   = 10 // the [pubsub] queue_size
		maxPolls = 10 * messages
	)
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base := startChat(t, engine)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			tr := &http.Transport{MaxIdleConnsPerHost: 2 * pullers}
			defer tr.CloseIdleConnections()

			ps := make([]*participant, pullers)
			var opened sync.WaitGroup
			openErrs := make(chan error, pullers)
			for i := range ps {
				ps[i] = newParticipant(t, base, tr)
				opened.Go(func() {
					if err := ps[i].open(ctx); err != nil {
						openErrs <- err
					}
				})
			}
			opened.Wait()
			close(openErrs)
			for err := range openErrs {
				t.Fatal(err)
			}

			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rssBefore := procStatus(t, "VmRSS")
			received := make([]atomic.Int32, pullers) // messages each puller has
			progress := make(chan struct{}, 1)
			got := make([][]string, pullers)
			errs := make([]error, pullers)
			var pulling sync.WaitGroup
			for i, p := range ps {
				pulling.Go(func() {
					defer func() {
						if errs[i] != nil {
							cancel() // stop everyone: the publisher would wait forever
						}
					}()
					for polls := 0; len(got[i]) < messages; polls++ {
						if polls == maxPolls {
							errs[i] = fmt.Errorf("puller %d: %d polls, only %d messages", i, polls, len(got[i]))
							return
						}
						msgs, rejoined, err := p.pull(ctx)
						if err != nil {
							errs[i] = fmt.Errorf("puller %d: %w", i, err)
							return
						}
						if rejoined {
							errs[i] = fmt.Errorf("puller %d: dropped and subscribed again after %d messages", i, len(got[i]))
							return
						}
						got[i] = append(got[i], msgs...)
						received[i].Store(int32(len(got[i])))
						select {
						case progress <- struct{}{}:
						default:
						}
					}
				})
			}

			publisher := newParticipant(t, base, tr) // no page: no subscription of its own
			var rssPeak int64
			var mid runtime.MemStats
			for k := 1; k <= messages; k++ {
				for waits := 0; minReceived(received) < k-window; waits++ {
					if waits == pullers*messages {
						t.Fatalf("message %d: waited %d times for the pullers", k, waits)
					}
					select {
					case <-progress:
					case <-ctx.Done():
						pulling.Wait()
						t.Fatalf("message %d: %v; %v", k, ctx.Err(), errors.Join(errs...))
					}
				}
				n, err := publisher.push(ctx, fmt.Sprintf("msg-%02d", k))
				if err != nil || n != pullers {
					cancel()
					pulling.Wait()
					t.Fatalf("push %d: reached %d subscriptions (%v), want %d; %v", k, n, err, pullers, errors.Join(errs...))
				}
				rssPeak = max(rssPeak, procStatus(t, "VmRSS"))
				if k == messages/2 { // most pullers are parked in a pull
					runtime.GC()
					runtime.ReadMemStats(&mid)
				}
			}
			pulling.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			var from string
			for i, msgs := range got {
				if len(msgs) != messages {
					t.Fatalf("puller %d got %d messages, want %d", i, len(msgs), messages)
				}
				for k, m := range msgs {
					who, text, _ := strings.Cut(m, ": ")
					if from == "" {
						from = who
					}
					if want := fmt.Sprintf("msg-%02d", k+1); who != from || text != want {
						t.Fatalf("puller %d: message %d is %q, want %q from %s (lost, duplicated or out of order)", i, k+1, m, want, from)
					}
				}
			}
			// Go heap in use (wazero keeps linear memory there) after a GC,
			// and the process's resident set (also engine memory outside
			// the Go heap, such as wasmtime's).
			t.Logf("%d pullers got all %d messages in order; Go heap in use %d MiB with pages open, %d MiB mid-run (%.1f MiB per puller); process RSS %d MiB with pages open, at most %d MiB while pulling (%.1f MiB per puller)",
				pullers, messages, before.HeapInuse>>20, mid.HeapInuse>>20, float64(mid.HeapInuse-before.HeapInuse)/(1<<20)/pullers,
				rssBefore>>10, rssPeak>>10, float64(rssPeak-rssBefore)/1024/pullers)
		})
	}
}

func minReceived(received []atomic.Int32) int {
	m := int(received[0].Load())
	for i := range received {
		m = min(m, int(received[i].Load()))
	}
	return m
}

// procStatus reads a field of /proc/self/status in KiB (0 where there is
// no /proc).
func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	t.Logf("/proc/self/status has no %s", field)
	return 0
}
