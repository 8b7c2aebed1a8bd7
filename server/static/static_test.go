package static_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/static"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

const secret = "outside-the-root"

// tree writes a root (www) with a few files, a dotfile, a subdirectory
// with and one without index.html, and symlinks out of the root; next to
// it, a file no request may reach.
func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	files := map[string]string{
		"index.html":         "<!doctype html><title>home</title>",
		"app.css":            "body { color: red }",
		"app.js":             "console.log(1)",
		"logo.png":           "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 32),
		"big.txt":            "0123456789abcdefghij",
		".env":               "TOKEN=dot",
		".git/config":        "[core]",
		"docs/index.html":    "<p>docs</p>",
		"empty/readme.txt":   "no index here",
		"inside-link-target": "reached through a link",
	}
	testutil.WriteFiles(t, root, files)
	testutil.WriteFiles(t, dir, map[string]string{"secret.txt": secret})
	for link, target := range map[string]string{
		"out-file": filepath.Join(dir, "secret.txt"), // absolute
		"out-rel":  "../secret.txt",
		"out-dir":  "..",
		"in-link":  "inside-link-target",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// serve serves root under /static/* over the HTTP transport and returns
// the base URL.
func serve(t *testing.T, opts static.Options) string {
	t.Helper()
	h, err := static.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := server.ParsePattern("/static/*")
	if err != nil {
		t.Fatal(err)
	}
	router := server.NewRouter(server.Route{Name: "static", Match: map[string]server.Pattern{abi.EnvPathInfo: prefix}, Handler: h})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", router, transport.Options{})
	return testutil.URL(a) + "/static"
}

// noRedirects lets a test see a redirect itself.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	return testutil.Fetch(t, noRedirects, req)
}

func TestServe(t *testing.T) {
	base := serve(t, static.Options{Root: tree(t)})
	for _, c := range []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/", 200, "text/html; charset=utf-8", "<!doctype html><title>home</title>"},
		{"/index.html", 200, "text/html; charset=utf-8", "<!doctype html><title>home</title>"},
		{"/app.css", 200, "text/css; charset=utf-8", "body { color: red }"},
		{"/app.js", 200, "text/javascript; charset=utf-8", "console.log(1)"},
		{"/logo.png", 200, "image/png", ""},
		{"/docs/", 200, "text/html; charset=utf-8", "<p>docs</p>"},
		{"/in-link", 200, "", "reached through a link"},
		{"/empty/", 404, "", ""},   // no listings
		{"/missing", 404, "", ""},  // nothing there
		{"/app.js/x", 404, "", ""}, // a file is no directory
		{"/.env", 404, "", ""},
		{"/.git/config", 404, "", ""},
		{"/docs/%2e%2e/.env", 404, "", ""},
		// Out of the root: symlinks, and dot segments (the transport
		// resolves them, so these leave /static/* or the server's root).
		{"/out-file", 404, "", ""},
		{"/out-rel", 404, "", ""},
		{"/out-dir/secret.txt", 404, "", ""},
		{"/../secret.txt", 404, "", ""},
		{"/%2e%2e/secret.txt", 404, "", ""},
		{"/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 400, "", ""},
		{"/..%2f..%2f..%2fetc/passwd", 400, "", ""},
	} {
		t.Run(c.path, func(t *testing.T) {
			resp, body := get(t, "GET", base+c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, c.status, body)
			}
			if strings.Contains(body, secret) || strings.Contains(body, "root:") {
				t.Fatalf("served a file outside the root: %q", body)
			}
			if c.contentType != "" && resp.Header.Get("Content-Type") != c.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), c.contentType)
			}
			if c.body != "" && body != c.body {
				t.Errorf("body %q, want %q", body, c.body)
			}
		})
	}
}

func TestDotfilesEnabled(t *testing.T) {
	base := serve(t, static.Options{Root: tree(t), Dotfiles: true})
	if resp, body := get(t, "GET", base+"/.env"); resp.StatusCode != 200 || body != "TOKEN=dot" {
		t.Fatalf("/.env: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, "GET", base+"/.git/config"); resp.StatusCode != 200 || body != "[core]" {
		t.Fatalf("/.git/config: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, "GET", base+"/out-rel"); resp.StatusCode != 404 || strings.Contains(body, secret) {
		t.Fatalf("/out-rel with dotfiles: %d %q", resp.StatusCode, body)
	}
}

func TestRangesAndConditionals(t *testing.T) {
	base := serve(t, static.Options{Root: tree(t)})
	resp, body := get(t, "GET", base+"/big.txt")
	etag := resp.Header.Get("Etag")
	if resp.StatusCode != 200 || body != "0123456789abcdefghij" || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Last-Modified") == "" {
		t.Fatalf("GET: %d %q ETag %q Last-Modified %q", resp.StatusCode, body, etag, resp.Header.Get("Last-Modified"))
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
	}

	resp, body = get(t, "GET", base+"/big.txt", "Range: bytes=2-5")
	if resp.StatusCode != 206 || body != "2345" || resp.Header.Get("Content-Range") != "bytes 2-5/20" {
		t.Fatalf("range: %d %q Content-Range %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
	}
	resp, body = get(t, "GET", base+"/big.txt", "Range: bytes=-3", "If-Range: "+etag)
	if resp.StatusCode != 206 || body != "hij" {
		t.Fatalf("suffix range with a matching If-Range: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, "GET", base+"/big.txt", "Range: bytes=2-5", `If-Range: "stale"`)
	if resp.StatusCode != 200 || body != "0123456789abcdefghij" {
		t.Fatalf("range with a stale If-Range: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, "GET", base+"/big.txt", "Range: bytes=50-60")
	if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != "bytes */20" {
		t.Fatalf("unsatisfiable range: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}

	resp, body = get(t, "GET", base+"/big.txt", "If-None-Match: "+etag)
	if resp.StatusCode != 304 || body != "" || resp.Header.Get("Etag") != etag {
		t.Fatalf("If-None-Match: %d %q ETag %q", resp.StatusCode, body, resp.Header.Get("Etag"))
	}
	resp, _ = get(t, "GET", base+"/big.txt", `If-None-Match: "other"`)
	if resp.StatusCode != 200 {
		t.Fatalf("If-None-Match another tag: %d", resp.StatusCode)
	}
	resp, _ = get(t, "GET", base+"/big.txt", "If-Modified-Since: "+resp.Header.Get("Last-Modified"))
	if resp.StatusCode != 304 {
		t.Fatalf("If-Modified-Since: %d", resp.StatusCode)
	}
	resp, _ = get(t, "GET", base+"/big.txt", `If-Match: "other"`)
	if resp.StatusCode != 412 {
		t.Fatalf("If-Match another tag: %d", resp.StatusCode)
	}
}

func TestMethods(t *testing.T) {
	base := serve(t, static.Options{Root: tree(t)})
	resp, body := get(t, "HEAD", base+"/big.txt")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != 20 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("HEAD: %d %q length %d type %q", resp.StatusCode, body, resp.ContentLength, resp.Header.Get("Content-Type"))
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		resp, _ := get(t, m, base+"/big.txt")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestDirectoryRedirect(t *testing.T) {
	base := serve(t, static.Options{Root: tree(t)})
	for path, want := range map[string]string{
		"/docs":     "./docs/",
		"/docs?a=1": "./docs/?a=1",
		"":          "./static/", // the route's base itself
	} {
		resp, _ := get(t, "GET", base+path)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("%q: %d Location %q, want %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// Followed, the redirect lands on the index.
	req, err := http.NewRequest("GET", base+"/docs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := testutil.Fetch(t, http.DefaultClient, req); body != "<p>docs</p>" {
		t.Fatalf("followed: %q", body)
	}
}

// Transports other than HTTP do not clean PATH_INFO: the handler refuses
// ".." itself.
func TestUncleanPathInfo(t *testing.T) {
	root := tree(t)
	h, err := static.New(static.Options{Root: root, Dotfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/../secret.txt", "../secret.txt", "/docs/../../secret.txt", "/a\x00b", `\..\secret.txt`} {
		var out bytes.Buffer
		x := &server.Exchange{Env: server.Env{abi.EnvRequestMethod: "GET", abi.EnvPathInfo: p}, Reader: strings.NewReader(""), Writer: server.NewStreamWriter(&out)}
		if err := h.Serve(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "404") {
			t.Errorf("%q: %q", p, out.String())
		}
	}
}

func TestNewBadRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{filepath.Join(dir, "missing"), file, ""} {
		if _, err := static.New(static.Options{Root: root}); err == nil {
			t.Errorf("root %q: no error", root)
		}
	}
}
