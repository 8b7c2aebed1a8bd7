package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/outbound"
)

// origin is "http://127.0.0.1:PORT" of a test server.
func origin(srv *httptest.Server) string { return srv.URL }

// bind makes a Client with opts and binds it to a fresh exchange context,
// both closed when the test ends.
func bind(t *testing.T, opts outbound.Options) (*outbound.Binding, context.CancelFunc) {
	t.Helper()
	c, err := outbound.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := c.Bind(ctx)
	t.Cleanup(func() { b.CloseAll(); cancel(); c.Close() })
	return b, cancel
}

// code is the ABI code an error maps to.
func code(err error) string {
	if err == nil {
		return "ok"
	}
	for _, c := range []struct {
		is   error
		name string
	}{{abi.ErrNotGranted, "ERR_DENIED"}, {abi.ErrGone, "ERR_NOT_FOUND"}, {abi.ErrInvalidRequest, "ERR_INVALID"}, {abi.ErrCapacity, "ERR_FULL"}} {
		if errors.Is(err, c.is) { // as abi's extension functions map them
			return c.name
		}
	}
	return abi.ErrorName(abi.ErrorCode(err))
}

func readAll(t *testing.T, b *outbound.Binding, h, chunk int) (string, int, error) {
	t.Helper()
	var out []byte
	reads := 0
	buf := make([]byte, chunk)
	for {
		n, err := b.Read(h, buf)
		if err == io.EOF {
			return string(out), reads, nil
		}
		if err != nil {
			return string(out), reads, err
		}
		reads++
		out = append(out, buf[:n]...)
	}
}

// GET and POST with headers and a body, over a real HTTP server.
func TestRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Add("X-Seen", r.Header.Get("X-A"))
		w.Header().Add("X-Seen", strings.Join(r.Header.Values("X-Multi"), ","))
		w.WriteHeader(201)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body)
	}))
	defer srv.Close()
	b, _ := bind(t, outbound.Options{Allow: []string{origin(srv)}})
	for _, m := range []string{"GET", "POST"} {
		h, err := b.Request(abi.OutboundRequest{Method: m, URL: srv.URL + "/p?q=1", Header: http.Header{"X-A": {"a"}, "X-Multi": {"1", "2"}}, Body: []byte("data")})
		if err != nil {
			t.Fatal(err)
		}
		status, _ := b.Status(h)
		hdr, _ := b.Header(h)
		body, _, err := readAll(t, b, h, 3)
		if status != 201 || strings.Join(hdr.Values("X-Seen"), "|") != "a|1,2" || body != m+" /p?q=1 data" || err != nil {
			t.Errorf("%s: %d %v %q %v", m, status, hdr, body, err)
		}
		if err := b.Close(h); err != nil {
			t.Error(err)
		}
		if _, err := b.Status(h); code(err) != "ERR_NOT_FOUND" {
			t.Errorf("status after close: %v", err)
		}
	}
}

// https to a server whose certificate a test CA issued.
func TestTLS(t *testing.T) {
	ca := testutil.NewCA(t)
	_, _, cert := ca.Issue(t, "srv", "127.0.0.1")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %v", r.TLS != nil)
	}))
	srv.TLS = newTLSConfig(cert)
	srv.StartTLS()
	defer srv.Close()
	b, _ := bind(t, outbound.Options{Allow: []string{srv.URL}, RootCAs: ca.Pool()})
	h, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if body, _, err := readAll(t, b, h, 64); body != "tls true" || err != nil {
		t.Errorf("%q %v", body, err)
	}
	// Without the CA: the certificate is not trusted, ERR_IO.
	b2, _ := bind(t, outbound.Options{Allow: []string{srv.URL}})
	if _, err := b2.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL + "/"}); code(err) != "ERR_IO" {
		t.Errorf("untrusted certificate: %v (%s)", err, code(err))
	}
}

// fakeResolver answers the names it has with their addresses, localhost
// through the system's resolver, and refuses the rest.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	if host == "localhost" {
		return net.DefaultResolver.LookupNetIP(ctx, network, host)
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// A name that resolves to loopback, link-local (the metadata address) or
// private space is refused unless an entry names that address with its
// port; the real resolver's localhost too.
func TestSSRF(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	res := fakeResolver{
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"rebind.test":   {netip.MustParseAddr("127.0.0.1")},
		"mixed.test":    {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")},
	}
	get := func(allow []string, url string) error {
		b, _ := bind(t, outbound.Options{Allow: allow, Resolver: res})
		h, err := b.Request(abi.OutboundRequest{Method: "GET", URL: url})
		if err == nil {
			body, _, _ := readAll(t, b, h, 64)
			if body != "reached" {
				t.Errorf("%s: %q", url, body)
			}
		}
		return err
	}
	p := fmt.Sprint(port)
	for _, c := range []struct {
		allow []string
		url   string
		want  string
	}{
		{[]string{"http://localhost:" + p}, "http://localhost:" + p + "/", "ERR_DENIED"},
		{[]string{"http://localhost:" + p, "http://127.0.0.1:" + p}, "http://localhost:" + p + "/", "ok"},
		{[]string{"http://localhost:" + p, "http://127.0.0.1:1"}, "http://localhost:" + p + "/", "ERR_DENIED"}, // another port
		{[]string{"http://metadata.test"}, "http://metadata.test/latest/meta-data/", "ERR_DENIED"},
		{[]string{"http://rebind.test:" + p}, "http://rebind.test:" + p + "/", "ERR_DENIED"},
		{[]string{"http://rebind.test:" + p, "http://127.0.0.1:" + p}, "http://rebind.test:" + p + "/", "ok"},
		{[]string{"http://mixed.test:" + p, "http://127.0.0.1:" + p}, "http://mixed.test:" + p + "/", "ok"}, // 10.0.0.1 skipped
		{[]string{"http://127.0.0.1:" + p}, "http://[::ffff:127.0.0.1]:" + p + "/", "ok"},
		{[]string{"http://nowhere.test"}, "http://nowhere.test/", "ERR_IO"},
		{[]string{"http://127.0.0.1:" + p}, "http://127.0.0.2:" + p + "/", "ERR_DENIED"},
	} {
		if got := code(get(c.allow, c.url)); got != c.want {
			t.Errorf("allow %v, GET %s: %s, want %s", c.allow, c.url, got, c.want)
		}
	}
}

// Redirects inside the allowlist are followed; the first outside it is
// the guest's response.
func TestRedirects(t *testing.T) {
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "outside") }))
	defer outside.Close()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/in":
			http.Redirect(w, r, "/api/final", http.StatusFound)
		case "/api/out":
			http.Redirect(w, r, outside.URL+"/x", http.StatusFound)
		case "/api/up":
			http.Redirect(w, r, "/private", http.StatusFound)
		case "/api/loop":
			http.Redirect(w, r, "/api/loop", http.StatusFound)
		default:
			io.WriteString(w, "final "+r.URL.Path)
		}
	}))
	defer srv.Close()
	b, _ := bind(t, outbound.Options{Allow: []string{srv.URL + "/api"}})
	for path, want := range map[string]string{
		"/api/in":   "200 final /api/final",
		"/api/out":  "302 Location: " + outside.URL + "/x",
		"/api/up":   "302 Location: /private",
		"/api/loop": "302 Location: /api/loop",
	} {
		h, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL + path})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		status, _ := b.Status(h)
		hdr, _ := b.Header(h)
		body, _, _ := readAll(t, b, h, 512)
		got := fmt.Sprint(status, " ", body)
		if status == 302 {
			got = fmt.Sprint(status, " Location: ", hdr.Get("Location"))
		}
		if got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
		b.Close(h)
	}
}

// The response body streams in chunks; past the cap the guest has had the
// bytes up to it and then ERR_TOO_LARGE. The request body is capped too.
func TestLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for i := range 10 {
			fmt.Fprintf(w, "%d", i)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	b, _ := bind(t, outbound.Options{Allow: []string{srv.URL}, MaxResponseBytes: 10, MaxRequestBytes: 4})
	h, err := b.Request(abi.OutboundRequest{Method: "POST", URL: srv.URL, Body: []byte("1234")})
	if err != nil {
		t.Fatal(err)
	}
	if body, reads, err := readAll(t, b, h, 3); body != "0123456789" || reads < 4 || err != nil {
		t.Errorf("at the cap: %q in %d reads, %v", body, reads, err)
	}
	if _, err := b.Request(abi.OutboundRequest{Method: "POST", URL: srv.URL, Body: []byte("12345")}); code(err) != "ERR_TOO_LARGE" {
		t.Errorf("request body over the cap: %v", err)
	}
	b, _ = bind(t, outbound.Options{Allow: []string{srv.URL}, MaxResponseBytes: 7})
	h, _ = b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL})
	body, _, err := readAll(t, b, h, 4)
	if body != "0123456" || code(err) != "ERR_TOO_LARGE" {
		t.Errorf("over the cap: %q, %v", body, err)
	}
	if _, err := b.Read(h, make([]byte, 4)); code(err) != "ERR_TOO_LARGE" {
		t.Errorf("read after: %v", err)
	}
}

// A server that never answers: the call's timeout, then the exchange's
// cancellation.
func TestTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	b, cancel := bind(t, outbound.Options{Allow: []string{srv.URL}})
	if _, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL, Timeout: 50 * time.Millisecond}); code(err) != "ERR_TIMEOUT" {
		t.Errorf("timeout: %v (%s)", err, code(err))
	}
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL}); code(err) != "ERR_CLOSED" {
		t.Errorf("exchange cancelled: %v (%s)", err, code(err))
	}
}

// Eight responses open at once; the ninth is ERR_FULL until one is
// closed. CloseAll ends every response (the server sees each request
// end) and, once the pool is closed, no goroutine is left.
func TestOpenResponsesAndNoLeaks(t *testing.T) {
	var active atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		active.Add(1)
		defer active.Add(-1)
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // streams until the client goes away
	}))
	defer srv.Close()
	before := runtime.NumGoroutine()
	c, err := outbound.New(outbound.Options{Allow: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bind(context.Background())
	var handles []int
	for range abi.MaxOpenResponses {
		h, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	if _, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL}); code(err) != "ERR_FULL" {
		t.Errorf("ninth: %v", err)
	}
	b.Close(handles[0])
	h, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL})
	if err != nil || h != handles[len(handles)-1]+1 {
		t.Errorf("after a close: handle %d, %v", h, err)
	}
	testutil.Eventually(t, "8 requests under way on the server", func() bool { return active.Load() == 8 })
	b.CloseAll()
	testutil.Eventually(t, "every request to end on the server", func() bool { return active.Load() == 0 })
	if _, err := b.Request(abi.OutboundRequest{Method: "GET", URL: srv.URL}); code(err) != "ERR_CLOSED" {
		t.Errorf("after CloseAll: %v", err)
	}
	c.Close()
	srv.CloseClientConnections()
	testutil.Eventually(t, "the client's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// Bad URLs are ERR_INVALID; URLs outside the list ERR_DENIED.
func TestBadURLs(t *testing.T) {
	b, _ := bind(t, outbound.Options{Allow: []string{"http://127.0.0.1:9/api"}})
	for u, want := range map[string]string{
		"":                                  "ERR_INVALID",
		"/relative":                         "ERR_INVALID",
		"http://user:pw@127.0.0.1:9/api":    "ERR_INVALID",
		"http://127.0.0.1:9/api/../admin":   "ERR_INVALID",
		"http://127.0.0.1:9/api/%2e%2e/adm": "ERR_INVALID",
		"http://127.0.0.1:9/admin":          "ERR_DENIED",
		"https://127.0.0.1:9/api":           "ERR_DENIED",
		"ftp://127.0.0.1:9/api":             "ERR_DENIED",
		"http://%zz":                        "ERR_INVALID",
	} {
		if _, err := b.Request(abi.OutboundRequest{Method: "GET", URL: u}); code(err) != want {
			t.Errorf("%q: %v (%s), want %s", u, err, code(err), want)
		}
	}
}
