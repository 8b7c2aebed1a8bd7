// Command pullers measures a chat server (examples/chat) under many
// participants that wait at once. It is the client side of the manual
// measurement in examples/chat/README.md, run in a process of its own so
// that its memory does not count against the server's:
//
//	go run ./examples/chat/pullers -url http://127.0.0.1:8082 -n 10000 -pid $(pgrep -n bubblewasm)
//
// It opens n pages (each participant with its own cookie jar), then, for
// each of -rounds rounds: starts one pull per participant, waits until every
// pull has been sent and the server is quiet (at most -settle), samples
// the server's resident memory, threads and CPU time from /proc/PID, pushes
// one message, and checks that every participant's pull returns exactly
// that message. A pull that answers empty (its 10 s wait ended first) is
// repeated. The process's open file limit must exceed n (ulimit -n).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pullers:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	n        int
	pid      int
	rounds   int
	settle   time.Duration
	parallel int
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("pullers", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8082", "the chat's base URL")
	fs.IntVar(&o.n, "n", 1000, "participants")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, to sample its memory (0: no samples)")
	fs.IntVar(&o.rounds, "rounds", 2, "messages pushed, one per round")
	fs.DurationVar(&o.settle, "settle", 8*time.Second, "the longest to wait, once every pull is sent, for the server to be quiet (parked) before sampling")
	fs.IntVar(&o.parallel, "parallel", 64, "page loads at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * o.n, DialContext: (&net.Dialer{Timeout: time.Minute}).DialContext}
	defer tr.CloseIdleConnections()

	before := sample(o.pid)
	fmt.Fprintf(out, "server before pages: %s\n", before)
	ps := make([]*participant, o.n)
	if err := each(o.n, o.parallel, func(i int) error {
		p, err := newParticipant(o.url, tr)
		if err == nil {
			err = p.open(ctx)
		}
		ps[i] = p
		return err
	}); err != nil {
		return err
	}
	pages := sample(o.pid)
	fmt.Fprintf(out, "server with %d pages open: %s\n", o.n, pages)
	publisher, err := newParticipant(o.url, tr)
	if err != nil {
		return err
	}
	for round := 1; round <= o.rounds; round++ {
		text := fmt.Sprintf("round-%d-%d", round, time.Now().UnixNano())
		var sent, empty atomic.Int64
		got := make([][]string, o.n)
		errs := make(chan error, o.n)
		var pulling sync.WaitGroup
		for i, p := range ps {
			pulling.Go(func() {
				for {
					msgs, err := p.pull(ctx, &sent)
					if err != nil {
						errs <- fmt.Errorf("participant %d: %w", i, err)
						return
					}
					if len(msgs) > 0 {
						got[i] = msgs
						return
					}
					empty.Add(1) // the 10 s wait ended first: pull again
				}
			})
		}
		for sent.Load() < int64(o.n) {
			select {
			case err := <-errs:
				return err
			case <-time.After(50 * time.Millisecond):
			}
		}
		parked := settle(o.pid, o.settle)
		fmt.Fprintf(out, "round %d, %d pulls waiting: %s; per waiting pull over the pages: %s\n", round, o.n, parked, parked.per(pages, o.n))
		start := time.Now()
		n, err := publisher.push(ctx, text)
		if err != nil {
			return err
		}
		pulling.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		woke := sample(o.pid)
		exact := 0
		for i, msgs := range got {
			if len(msgs) != 1 || !strings.HasSuffix(msgs[0], ": "+text) {
				return fmt.Errorf("round %d: participant %d got %q, want exactly the one message", round, i, msgs)
			}
			exact++
		}
		fmt.Fprintf(out, "round %d: push reached %d subscriptions; %d of %d participants got it exactly once in %v (%d empty re-pulls); server after: %s; CPU for the wake-up %.2f s\n",
			round, n, exact, o.n, time.Since(start).Round(time.Millisecond), empty.Load(), woke, woke.cpu-parked.cpu)
	}
	return nil
}

// settle waits until the server is quiet (it used under a tenth of a CPU
// over the last half second: it has parked what it was sent), at most for
// max, and returns the last sample.
func settle(pid int, max time.Duration) stats {
	last := sample(pid)
	for end := time.Now().Add(max); time.Now().Before(end); {
		time.Sleep(500 * time.Millisecond)
		s := sample(pid)
		if !s.ok || s.cpu-last.cpu < 0.05 {
			return s
		}
		last = s
	}
	return last
}

// each runs f(0..n-1), at most par at once, and returns the first error.
func each(n, par int, f func(i int) error) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				first.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return nil
}

type participant struct {
	base   string
	client *http.Client
	tab    string
}

func newParticipant(base string, tr http.RoundTripper) (*participant, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &participant{base: base, client: &http.Client{Jar: jar, Transport: tr, Timeout: 5 * time.Minute}}, nil
}

var tabAttr = regexp.MustCompile(`data-tab="([0-9A-F]{6})"`)

func (p *participant) open(ctx context.Context) error {
	status, body, _, err := p.do(ctx, "GET", "/", "", nil)
	if err != nil {
		return err
	}
	m := tabAttr.FindStringSubmatch(body)
	if status != 200 || m == nil {
		return fmt.Errorf("GET /: %d", status)
	}
	p.tab = m[1]
	return nil
}

// pull long-polls once; sent counts the pull once its request is written.
func (p *participant) pull(ctx context.Context, sent *atomic.Int64) ([]string, error) {
	status, body, hdr, err := p.do(ctx, "GET", "/chat/pull?tab="+p.tab, "", sent)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("pull: %d %q", status, body)
	}
	if hdr.Get("X-Chat-Rejoined") != "" {
		return nil, errors.New("pull: dropped and subscribed again")
	}
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		msgs = append(msgs, sc.Text())
	}
	return msgs, nil
}

func (p *participant) push(ctx context.Context, text string) (int, error) {
	status, body, _, err := p.do(ctx, "POST", "/chat/push", text, nil)
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(body, `{"delivered":%d}`, &n); status != 200 || err != nil {
		return 0, fmt.Errorf("push: %d %q", status, body)
	}
	return n, nil
}

// do sends a request and reads the whole answer; with sent, the request
// is counted once the transport has written it.
func (p *participant) do(ctx context.Context, method, path, body string, sent *atomic.Int64) (int, string, http.Header, error) {
	var rd io.Reader
	if method == "POST" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return 0, "", nil, err
	}
	if sent != nil {
		req = req.WithContext(withWrote(ctx, sent))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

// withWrote returns ctx with a trace that counts written requests.
func withWrote(ctx context.Context, sent *atomic.Int64) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { sent.Add(1) },
	})
}

// stats is a sample of the server process.
type stats struct {
	ok      bool
	rss     int64 // bytes
	threads int64
	cpu     float64 // user + system seconds
}

func (s stats) String() string {
	if !s.ok {
		return "(no samples)"
	}
	return fmt.Sprintf("RSS %d MiB, %d threads, CPU %.2f s", s.rss>>20, s.threads, s.cpu)
}

// per is what each of n added to s over base.
func (s stats) per(base stats, n int) string {
	if !s.ok || !base.ok || n == 0 {
		return "(no samples)"
	}
	return fmt.Sprintf("%d KiB RSS, %+d threads", (s.rss-base.rss)/int64(n)>>10, s.threads-base.threads)
}

// sample reads /proc/PID/status and /proc/PID/stat.
func sample(pid int) stats {
	if pid <= 0 {
		return stats{}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return stats{}
	}
	var s stats
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = n << 10
		}
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			s.threads, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name (in parentheses): utime is the
		// 14th field of the line, stime the 15th, in clock ticks (100/s).
		if i := strings.LastIndexByte(string(st), ')'); i >= 0 {
			f := strings.Fields(string(st)[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				k, _ := strconv.ParseFloat(f[12], 64)
				s.cpu = (u + k) / 100
			}
		}
	}
	s.ok = true
	return s
}
