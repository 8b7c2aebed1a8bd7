package app_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

const staticRoutes = `
[[route]]
name = "assets"
builtin = "static"
root = "www"
match = { PATH_INFO = "/assets/*" }

[[route]]
name = "site"
builtin = "static"
root = "site"
dotfiles = true
`

// Two static routes from a config file: one under a prefix, one for the
// rest with dotfiles on; roots relative to the file's directory.
func TestStaticBuiltin(t *testing.T) {
	path := writeConfig(t, config.EngineWazero, staticRoutes)
	dir := filepath.Dir(path)
	testutil.WriteFiles(t, dir, map[string]string{
		"www/app.js":                    "console.log('hi')",
		"www/style.css":                 "p {}",
		"www/.env":                      "SECRET=1",
		"site/index.html":               "<h1>site</h1>",
		"site/.well-known/security.txt": "Contact: me",
		"outside.txt":                   "not served",
	})
	logger, _ := testutil.CaptureLogger(t)
	addrs := testapp.Start(t, loadConfig(t, path), app.Options{Logger: logger})
	base := testutil.URL(addrs[0])

	for _, c := range []struct {
		method, path string
		headers      []string
		status       int
		body         string
	}{
		{"GET", "/assets/app.js", nil, 200, "console.log('hi')"},
		{"GET", "/assets/style.css", nil, 200, "p {}"},
		{"GET", "/assets/.env", nil, 404, ""},
		{"GET", "/assets/app.js", []string{"Range: bytes=0-6"}, 206, "console"},
		{"HEAD", "/assets/app.js", nil, 200, ""},
		{"POST", "/assets/app.js", nil, 405, ""},
		{"GET", "/", nil, 200, "<h1>site</h1>"},
		{"GET", "/.well-known/security.txt", nil, 200, "Contact: me"},
		{"GET", "/assets/../outside.txt", nil, 404, ""}, // the site route: /outside.txt
		{"GET", "/%2e%2e/outside.txt", nil, 400, ""},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			status, body := do(t, c.method, base+c.path, "", c.headers...)
			if status != c.status || c.body != "" && body != c.body || strings.Contains(body, "not served") || strings.Contains(body, "SECRET") {
				t.Fatalf("%d %q, want %d %q", status, body, c.status, c.body)
			}
		})
	}

	resp := send(t, client, "GET", base+"/assets/app.js", "")
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	resp = send(t, client, "GET", base+"/assets/app.js", "", "If-None-Match: "+resp.Header.Get("Etag"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
}
