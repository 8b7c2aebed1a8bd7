package conformance

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Bounds. They keep a broken kit or host from hanging the test; none of
// them is a timing assertion.
const (
	buildTimeout   = 9 * time.Minute  // one build-kit.sh run
	requestTimeout = 60 * time.Second // one HTTP exchange, body included
	caseTimeout    = 20 * time.Second // the streaming and line cases
)

// engineNames are the engines the configuration schema accepts. The engine
// table of the server's own tests (internal/testutil.Engines) is
// internal to server/ and cannot be imported from here, so the test asks
// app.NewEngine, the constructor the CLI uses, for each of them; an engine
// that this build does not include is reported as such, never dropped
// silently.
var engineNames = config.Engines()

var lifecycles = []wasm.Lifecycle{wasm.Snapshot, wasm.Fresh, wasm.Pool}

func TestMain(m *testing.M) {
	code := m.Run()
	if table := report.table(); table != "" {
		fmt.Printf("\nguest conformance kit: passed cases per language and engine (every lifecycle)\n\n%s\n", table)
		if path := os.Getenv("BUBBLEWASM_KIT_REPORT"); path != "" {
			if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "BUBBLEWASM_KIT_REPORT: %v\n", err)
				if code == 0 {
					code = 1
				}
			}
		}
	}
	os.Exit(code)
}

// TestKits builds every language's kit module and runs every case on every
// engine and lifecycle: TestKits/LANG/ENGINE/LIFECYCLE/CASE. The extension
// cases (ext_test.go) call a line echo worker and an HTTP server the test
// serves.
func TestKits(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	kits := discover(t, root)
	if len(kits) == 0 {
		t.Fatalf("no guest SDK directories under %s", filepath.Join(root, "guest-sdk"))
	}

	// Build every kit at once, each into its own file; each language's
	// sub-test waits for its own build.
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	var builds sync.WaitGroup
	t.Cleanup(func() { cancel(); builds.Wait() })
	for _, k := range kits {
		k.path = filepath.Join(out, k.lang+".wasm")
		if k.script != "" && k.unsupported == "" {
			builds.Add(1)
			go func() {
				defer builds.Done()
				k.build(ctx, root, k.path)
			}()
		}
	}

	engines := openEngines(t)
	peers := extensionPeers{echoSock: echoWorker(t), origin: upstream(t)}
	for _, k := range kits {
		t.Run(k.lang, func(t *testing.T) { testKit(t, k, engines, peers) })
	}
}

func testKit(t *testing.T, k *kit, engines []engine, peers extensionPeers) {
	switch {
	case k.unsupported != "":
		report.note(k.lang, "unsupported: "+k.unsupported)
		t.Skipf("guest-sdk/%s/KIT_UNSUPPORTED: %s", k.lang, k.unsupported)
	case k.script == "":
		report.note(k.lang, "no build-kit.sh")
		t.Skipf("guest-sdk/%s has no build-kit.sh (and no KIT_UNSUPPORTED): nothing to test yet", k.lang)
	}
	<-k.done
	if k.err != nil {
		report.note(k.lang, "build failed")
		t.Fatalf("language %s: guest-sdk/%s/build-kit.sh failed: %v\n--- build-kit.sh output ---\n%s", k.lang, k.lang, k.err, tail(k.output, 64<<10))
	}
	t.Logf("language %s: kit module built, %d bytes", k.lang, len(k.wasm))
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			if e.engine == nil {
				report.cell(k.lang, e.name).setNote("engine not in this build")
				t.Skipf("engine %s: %v", e.name, e.err)
			}
			for _, lc := range lifecycles {
				t.Run(string(lc), func(t *testing.T) { runCases(t, k, e, lc, peers) })
			}
		})
	}
}

// runCases serves the kit module and runs every case against it: the core
// cases, then the extension cases on a host configured to grant them.
func runCases(t *testing.T, k *kit, e engine, lc wasm.Lifecycle, peers extensionPeers) {
	lang := k.lang
	ks, loadErr := startKit(t, e.engine, k.wasm, lc)
	cell := report.cell(lang, e.name)
	for _, c := range cases {
		ran := false // t.Run reports a case that -run filtered out as a success
		ok := t.Run(c.name, func(t *testing.T) {
			ran = true
			if loadErr != nil {
				t.Fatalf("the %s kit module did not load on %s (%s): %v\nserver log:\n%s", lang, e.name, lc, loadErr, cmp.Or(ks.logs.since(0), "(empty)\n"))
			}
			mark := ks.logs.len()
			defer func() {
				if t.Failed() {
					t.Logf("server log during this case:\n%s", cmp.Or(ks.logs.since(mark), "(empty)\n"))
				}
			}()
			c.run(t, ks)
		})
		if ran {
			cell.add(ok)
		}
	}
	runExtensionCases(t, lang, e.name, k.path, peers, lc, cell)
}

// cases are CONFORMANCE.md's table, in its order (the extension cases are
// in ext_test.go).
var cases = []struct {
	name string
	run  func(t *testing.T, k *kitServer)
}{
	{"env", caseEnv},
	{"keys", caseKeys},
	{"echo", caseEcho},
	{"status", caseStatus},
	{"log", caseLog},
	{"fail", func(t *testing.T, k *kitServer) { caseFailure(t, k, "/fail") }},
	{"trap", func(t *testing.T, k *kitServer) { caseFailure(t, k, "/trap") }},
	{"committed", caseCommitted},
	{"invalid", caseInvalid},
	{"flush", caseFlush},
	{"park", casePark},
	{"line", caseLine},
}

// casePark: the exchange parks twice (timeouts) and comes back each time
// with its output, its header and its stash.
func casePark(t *testing.T, k *kitServer) {
	r := k.do(t, "GET", "/park", nil, nil)
	const want = "0;1:timeout:kit;2:timeout:kit;"
	if r.status != 200 || string(r.body) != want || r.header.Get("X-Kit-Park") != "1" {
		t.Errorf("GET /park: status %d, X-Kit-Park %q, body %s; want 200, \"1\", %q", r.status, r.header.Get("X-Kit-Park"), show(r.body), want)
	}
}

// caseEnv: a 10 KiB header value (size negotiation), REQUEST_METHOD, and a
// missing key (404 "missing").
func caseEnv(t *testing.T, k *kitServer) {
	long := randomToken(10 << 10)
	r := k.do(t, "GET", "/env?HTTP_X_LONG", nil, http.Header{"X-Long": {long}})
	if r.status != 200 || string(r.body) != long {
		t.Errorf("GET /env?HTTP_X_LONG with a %d-byte X-Long: status %d, body %s; want 200 and the header value", len(long), r.status, show(r.body))
	}
	r = k.do(t, "PUT", "/env?REQUEST_METHOD", nil, nil)
	if r.status != 200 || string(r.body) != "PUT" {
		t.Errorf("PUT /env?REQUEST_METHOD: status %d, body %s; want 200 \"PUT\"", r.status, show(r.body))
	}
	r = k.do(t, "GET", "/env?KIT_NO_SUCH_KEY", nil, nil)
	if r.status != 404 || string(r.body) != "missing" {
		t.Errorf("GET /env?KIT_NO_SUCH_KEY: status %d, body %s; want 404 \"missing\"", r.status, show(r.body))
	}
}

// caseKeys: the listed keys are the env the host sent, sorted.
func caseKeys(t *testing.T, k *kitServer) {
	id := strconv.FormatInt(k.nextID.Add(1), 10)
	r := k.do(t, "GET", "/keys", nil, http.Header{"X-Kit-Req": {id}, "X-Kit-Extra": {"1"}})
	if r.status != 200 {
		t.Fatalf("GET /keys: status %d, body %s; want 200", r.status, show(r.body))
	}
	sent := k.envs.get(id)
	if sent == nil {
		t.Fatalf("GET /keys: the host never served request %s to the module", id)
	}
	want := sent.Keys()
	sort.Strings(want)
	got := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
	if len(r.body) == 0 {
		got = nil
	}
	if !sort.StringsAreSorted(got) {
		t.Errorf("GET /keys: keys not in ascending byte order: %q", got)
	}
	sortedGot := slices.Sorted(slices.Values(got))
	if !slices.Equal(sortedGot, want) {
		missing, extra := diff(want, sortedGot)
		t.Errorf("GET /keys: listed keys differ from the env the host sent\nmissing: %q\nextra:   %q\nlisted:  %q\nsent:    %q", missing, extra, got, want)
	}
}

// caseEcho: a 1 MiB random body comes back byte-exact with its
// Content-Type; an empty body gives 200 and an empty body.
func caseEcho(t *testing.T, k *kitServer) {
	body := randomBytes(1 << 20)
	const ct = "application/x-kit-echo; charset=binary"
	r := k.do(t, "POST", "/echo", bytes.NewReader(body), http.Header{"Content-Type": {ct}})
	if r.status != 200 {
		t.Errorf("POST /echo (1 MiB): status %d, want 200", r.status)
	}
	if got := r.header.Get("Content-Type"); got != ct {
		t.Errorf("POST /echo (1 MiB): Content-Type %q, want %q", got, ct)
	}
	if !bytes.Equal(r.body, body) {
		t.Errorf("POST /echo (1 MiB): body differs: %s", describeDiff(r.body, body))
	}
	r = k.do(t, "POST", "/echo", http.NoBody, nil)
	if r.status != 200 || len(r.body) != 0 {
		t.Errorf("POST /echo (empty): status %d, body %s; want 200 and empty", r.status, show(r.body))
	}
}

// caseStatus: the status from QUERY_STRING, X-Kit set then added, body ok.
func caseStatus(t *testing.T, k *kitServer) {
	r := k.do(t, "GET", "/status?201", nil, nil)
	if r.status != 201 {
		t.Errorf("GET /status?201: status %d, want 201", r.status)
	}
	if got := r.header.Values("X-Kit"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("GET /status?201: X-Kit values %q, want [\"a\" \"b\"]", got)
	}
	if string(r.body) != "ok" {
		t.Errorf("GET /status?201: body %s, want \"ok\"", show(r.body))
	}
}

// caseLog: the four records reach the server log at their levels.
func caseLog(t *testing.T, k *kitServer) {
	mark := k.logs.len()
	r := k.do(t, "GET", "/log", nil, nil)
	if r.status != 200 || string(r.body) != "logged" {
		t.Errorf("GET /log: status %d, body %s; want 200 \"logged\"", r.status, show(r.body))
	}
	// The guest's log calls return before its response ends, so the records
	// are in the log by the time the client has read the body.
	recs := k.logs.records(mark)
	for _, want := range []struct {
		level slog.Level
		msg   string
	}{{slog.LevelDebug, "kit debug"}, {slog.LevelInfo, "kit info"}, {slog.LevelWarn, "kit warn"}, {slog.LevelError, "kit error"}} {
		var levels []slog.Level
		for _, rec := range recs {
			if rec.msg == want.msg {
				levels = append(levels, rec.level)
			}
		}
		switch {
		case len(levels) == 0:
			t.Errorf("GET /log: no record %q in the server log", want.msg)
		case slices.ContainsFunc(levels, func(l slog.Level) bool { return l != want.level }):
			t.Errorf("GET /log: record %q logged at %v, want %v only", want.msg, levels, want.level)
		}
	}
}

// caseFailure: /fail and /trap give 500, and the next request succeeds.
func caseFailure(t *testing.T, k *kitServer, path string) {
	r := k.do(t, "GET", path, nil, nil)
	if r.status != 500 {
		t.Errorf("GET %s: status %d, body %s; want 500", path, r.status, show(r.body))
	}
	r = k.do(t, "POST", "/echo", strings.NewReader("after "+path), nil)
	if r.status != 200 || string(r.body) != "after "+path {
		t.Errorf("POST /echo after %s: status %d, body %s; want 200 %q", path, r.status, show(r.body), "after "+path)
	}
}

// caseCommitted: setting the status after a write is the "committed" error.
func caseCommitted(t *testing.T, k *kitServer) {
	r := k.do(t, "GET", "/committed", nil, nil)
	if r.status != 200 || string(r.body) != "xcommitted-ok" {
		t.Errorf("GET /committed: status %d, body %s; want 200 \"xcommitted-ok\"", r.status, show(r.body))
	}
}

// caseInvalid: a header name that is not a token is the "invalid" error.
func caseInvalid(t *testing.T, k *kitServer) {
	r := k.do(t, "GET", "/invalid", nil, nil)
	if string(r.body) != "invalid-ok" {
		t.Errorf("GET /invalid: status %d, body %s; want body \"invalid-ok\"", r.status, show(r.body))
	}
}

// caseFlush: the client reads "first" before it sends any of its body, then
// sends the body and reads it back.
func caseFlush(t *testing.T, k *kitServer) {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close() // unblocks the writer below if the test ends early
	// net/http waits for its body-writing goroutine before Do returns an
	// error, and that goroutine blocks reading the pipe: end the pipe when
	// the case's time is up, so that a kit that reads before flushing fails
	// the case instead of hanging it.
	defer context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })()
	req, err := http.NewRequestWithContext(ctx, "POST", k.base+"/flush", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		t.Fatalf("POST /flush, body held back: no response (the kit must write and flush \"first\" before reading): %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("POST /flush: status %d, want 200", resp.StatusCode)
	}
	first := make([]byte, len("first"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("POST /flush, body held back: reading \"first\": %v (got %q)", err, first)
	}
	if string(first) != "first" {
		t.Fatalf("POST /flush: response starts with %q, want \"first\"", first)
	}
	// Only now does the client send its body.
	body := randomBytes(64 << 10)
	written := make(chan error, 1)
	go func() {
		_, err := pw.Write(body)
		pw.CloseWithError(err)
		written <- err
	}()
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /flush: reading the rest of the response: %v (%d bytes)", err, len(rest))
	}
	if !bytes.Equal(rest, body) {
		t.Errorf("POST /flush: the rest of the response differs from the body sent after \"first\": %s", describeDiff(rest, body))
	}
	select {
	case err := <-written:
		if err != nil {
			t.Errorf("POST /flush: sending the body: %v", err)
		}
	case <-ctx.Done():
		t.Errorf("POST /flush: the body was never all sent: %v", ctx.Err())
	}
}

// caseLine: three lines sent in one write on one connection of the line
// transport come back as three lines, and nothing else.
func caseLine(t *testing.T, k *kitServer) {
	d := net.Dialer{Timeout: caseTimeout}
	c, err := d.Dial("tcp", k.lineAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(caseTimeout))
	lines := []string{"one", "two two", "three 3"}
	if _, err := io.WriteString(c, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatalf("line transport: writing: %v", err)
	}
	br := bufio.NewReader(c)
	for i, want := range lines {
		got, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("line transport: reading line %d: %v (got %q)", i+1, err, got)
		}
		if got != want+"\n" {
			t.Errorf("line transport: line %d is %q, want %q", i+1, got, want+"\n")
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	extra, err := io.ReadAll(br)
	if err != nil {
		t.Errorf("line transport: after the three lines: %v", err)
	}
	if len(extra) > 0 {
		t.Errorf("line transport: unexpected output after the three lines: %s", show(extra))
	}
}

// ---- the kit server ----

// kitServer is one kit module served over HTTP and the line transport on
// 127.0.0.1, with its log and the env of each HTTP exchange recorded.
type kitServer struct {
	base     string // http://127.0.0.1:PORT
	lineAddr string // 127.0.0.1:PORT
	client   *http.Client
	logs     *logStore
	envs     *envRecorder
	nextID   atomic.Int64
}

// startKit loads the module with the lifecycle and serves it until the test
// ends. An error is the module failing to load (ks.logs holds what it
// logged); anything else fails t.
func startKit(t *testing.T, engine wasm.Engine, bin []byte, lc wasm.Lifecycle) (*kitServer, error) {
	t.Helper()
	ks := &kitServer{logs: &logStore{}}
	logger := slog.New(&logHandler{s: ks.logs})
	h, err := wasm.New(context.Background(), engine, bin, wasm.Options{Name: "kit", Logger: logger, Lifecycle: lc, Services: noGrants()})
	if err != nil {
		return ks, err
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	ks.envs = &envRecorder{next: h, envs: map[string]server.Env{}}
	router := server.NewRouter(server.Route{Name: "kit", Handler: ks.envs}) // mounted at the root

	var listeners []server.Listener
	for _, name := range []string{config.TransportHTTP, config.TransportLine} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		th, err := transport.Default().New(name, router, transport.Options{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, server.Listener{Name: name, Listener: l, Handler: th})
	}
	ks.base = "http://" + listeners[0].Listener.Addr().String()
	ks.lineAddr = listeners[1].Listener.Addr().String()

	srv := server.NewServer(logger, listeners...)
	served := make(chan struct{})
	go func() { srv.Serve(); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})

	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	ks.client = &http.Client{Transport: tr, Timeout: requestTimeout}
	return ks, nil
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads the whole response.
func (k *kitServer) do(t *testing.T, method, path string, body io.Reader, header http.Header) reply {
	t.Helper()
	req, err := http.NewRequest(method, k.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := k.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: status %d, reading the body: %v (%d bytes read)", method, path, resp.StatusCode, err, len(b))
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// envRecorder records the env of each exchange that carries an X-Kit-Req
// header, as the module receives it.
type envRecorder struct {
	next server.Handler
	mu   sync.Mutex
	envs map[string]server.Env
}

func (r *envRecorder) Serve(ctx context.Context, x *server.Exchange) error {
	if id, ok := x.Env["HTTP_X_KIT_REQ"]; ok {
		r.mu.Lock()
		r.envs[id] = x.Env.Clone()
		r.mu.Unlock()
	}
	return r.next.Serve(ctx, x)
}

func (r *envRecorder) get(id string) server.Env {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.envs[id]
}

// ---- log capture ----

type logRecord struct {
	level slog.Level
	msg   string
	attrs []slog.Attr // with group prefixes in the keys
}

func (r logRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s %q", r.level, r.msg)
	for _, a := range r.attrs {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
	}
	return b.String()
}

// logStore keeps every record of a kit server, at every level.
type logStore struct {
	mu   sync.Mutex
	recs []logRecord
}

func (s *logStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func (s *logStore) records(from int) []logRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs[from:])
}

func (s *logStore) since(from int) string {
	var b strings.Builder
	for _, r := range s.records(from) {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// logHandler is a slog.Handler that appends to a logStore.
type logHandler struct {
	s      *logStore
	attrs  []slog.Attr
	prefix string
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: slices.Clone(h.attrs)}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs = append(rec.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
		return true
	})
	h.s.mu.Lock()
	h.s.recs = append(h.s.recs, rec)
	h.s.mu.Unlock()
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		n.attrs = append(n.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return &n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.prefix += name + "."
	return &n
}

// ---- languages, builds, engines ----

// kit is one language's kit module and its build.
type kit struct {
	lang        string
	script      string // guest-sdk/LANG/build-kit.sh, or "" when there is none
	path        string // where the build writes the module
	unsupported string // the content of KIT_UNSUPPORTED

	done   chan struct{} // closed when the build ended
	wasm   []byte
	output []byte
	err    error
}

// discover lists the directories of guest-sdk that are languages: all but
// this package, sorted by name.
func discover(t testing.TB, root string) []*kit {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "guest-sdk"))
	if err != nil {
		t.Fatal(err)
	}
	var kits []*kit
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "conformance" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, "guest-sdk", e.Name())
		k := &kit{lang: e.Name(), done: make(chan struct{})}
		if b, err := os.ReadFile(filepath.Join(dir, "KIT_UNSUPPORTED")); err == nil {
			k.unsupported = strings.TrimSpace(string(b))
			if k.unsupported == "" {
				k.unsupported = "(KIT_UNSUPPORTED is empty: no reason given)"
			}
		}
		if script := filepath.Join(dir, "build-kit.sh"); fileExists(script) {
			k.script = script
		}
		kits = append(kits, k)
	}
	return kits
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// build runs `bash guest-sdk/LANG/build-kit.sh OUT` from the repository root.
func (k *kit) build(ctx context.Context, root, out string) {
	defer close(k.done)
	cmd := exec.CommandContext(ctx, "bash", k.script, out)
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second // a killed script's children may hold the pipe
	k.output, k.err = cmd.CombinedOutput()
	if k.err != nil {
		if ctx.Err() != nil {
			k.err = fmt.Errorf("%w (%v)", k.err, ctx.Err())
		}
		return
	}
	k.wasm, k.err = os.ReadFile(out)
	switch {
	case k.err != nil:
		k.err = fmt.Errorf("it exited 0 without writing OUT.wasm: %w", k.err)
	case len(k.wasm) == 0:
		k.err = errors.New("it exited 0 but OUT.wasm is empty")
	}
}

type engine struct {
	name   string
	engine wasm.Engine // nil when the build does not include it
	err    error
}

func openEngines(t testing.TB) []engine {
	t.Helper()
	cache := t.TempDir()
	var es []engine
	for _, name := range engineNames {
		e, err := app.NewEngine(name, cache)
		switch {
		case errors.Is(err, app.ErrEngineUnavailable):
			t.Logf("engine %s: %v: its column of the matrix is skipped", name, err)
		case err != nil:
			t.Fatalf("engine %s: %v", name, err)
		default:
			t.Cleanup(func() { e.Close(context.Background()) })
		}
		es = append(es, engine{name: name, engine: e, err: err})
	}
	return es
}

// ---- the summary ----

var report = &summary{cells: map[[2]string]*cell{}, notes: map[string]string{}}

type summary struct {
	mu    sync.Mutex
	langs []string
	cells map[[2]string]*cell // language, engine
	notes map[string]string   // language-wide: build failed, unsupported, ...
}

type cell struct {
	mu         sync.Mutex
	pass, fail int
	note       string
}

func (c *cell) setNote(note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.note = note
}

func (c *cell) add(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.pass++
	} else {
		c.fail++
	}
}

func (s *summary) lang(l string) {
	if !slices.Contains(s.langs, l) {
		s.langs = append(s.langs, l)
	}
}

func (s *summary) note(lang, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang(lang)
	s.notes[lang] = note
}

func (s *summary) cell(lang, engine string) *cell {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang(lang)
	c := s.cells[[2]string{lang, engine}]
	if c == nil {
		c = &cell{}
		s.cells[[2]string{lang, engine}] = c
	}
	return c
}

// table renders the summary as a Markdown table, "" when nothing ran.
func (s *summary) table() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.langs) == 0 {
		return ""
	}
	langs := slices.Sorted(slices.Values(s.langs))
	var b strings.Builder
	b.WriteString("| language |")
	for _, e := range engineNames {
		b.WriteString(" " + e + " |")
	}
	b.WriteString("\n|---|")
	for range engineNames {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, l := range langs {
		b.WriteString("| " + l + " |")
		for _, e := range engineNames {
			b.WriteString(" " + s.cellText(l, e) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (s *summary) cellText(lang, engine string) string {
	if n := s.notes[lang]; n != "" {
		return strings.ReplaceAll(n, "|", "/")
	}
	c := s.cells[[2]string{lang, engine}]
	switch {
	case c == nil:
		return "not run"
	case c.note != "":
		return c.note
	}
	text := fmt.Sprintf("pass %d/%d", c.pass, c.pass)
	if c.fail > 0 {
		text = fmt.Sprintf("FAIL %d/%d failed", c.fail, c.pass+c.fail)
	}
	return text
}

// ---- helpers ----

// rng makes the test's random data reproducible from run to run.
var (
	rngMu sync.Mutex
	rng   = rand.NewChaCha8([32]byte{'b', 'u', 'b', 'b', 'l', 'e', 'k', 'i', 't'})
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rngMu.Lock()
	rng.Read(b)
	rngMu.Unlock()
	return b
}

// randomToken is n random letters and digits, valid in a header value.
func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// show quotes a body for a message, shortened when long.
func show(b []byte) string {
	if len(b) <= 200 {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
}

// describeDiff says where got first differs from want.
func describeDiff(got, want []byte) string {
	n := min(len(got), len(want))
	i := 0
	for i < n && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d", len(got), len(want), i)
}

// diff returns the elements of want missing from got and those of got not
// in want; both are sorted.
func diff(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if _, ok := slices.BinarySearch(got, w); !ok {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if _, ok := slices.BinarySearch(want, g); !ok {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

// tail returns the last max bytes of b, marked when cut.
func tail(b []byte, max int) string {
	if len(b) <= max {
		return string(b)
	}
	return fmt.Sprintf("[... %d bytes cut ...]\n%s", len(b)-max, b[len(b)-max:])
}
