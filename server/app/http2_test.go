package app_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// TestHTTP2Listeners serves envdump on a tls:// listener (h2 by ALPN), one
// with http2 = false (http/1.1 by ALPN), and a cleartext one with h2c; a
// reload turning http2 off changes what new handshakes negotiate.
func TestHTTP2Listeners(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key, _ := ca.Issue(t, "a", "a.test", "a.test")
	envdump := testbuild.Module(t, "envdump")
	dir := t.TempDir()
	body := func(http2 bool) string {
		return fmt.Sprintf(`
[[listener]]
name = "h2"
address = "tls://127.0.0.1:0"
tls_cert = %[1]q
tls_key = %[2]q
http2 = %[4]v
max_concurrent_streams = 8

[[listener]]
name = "h1"
address = "tls://127.0.0.1:0"
tls_cert = %[1]q
tls_key = %[2]q
http2 = false

[[listener]]
name = "h2c"
address = "tcp://127.0.0.1:0"
h2c = true

[[route]]
module = %[3]q
`, cert, key, envdump, http2)
	}
	a, addrs := testapp.StartApp(t, reloadConfig(t, dir, body(true)), app.Options{Logger: testutil.Logger(t)})
	h2Addr, h1Addr, h2cAddr := hostPort(addrs[1].String()), hostPort(addrs[2].String()), hostPort(addrs[3].String())
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "a.test"}}}
	get := func(c *http.Client, url string) (map[string]string, *http.Response) {
		t.Helper()
		resp, body := testutil.Fetch(t, c, mustRequest(t, url))
		var env map[string]string
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("GET %s: %d %v: %s", url, resp.StatusCode, err, body)
		}
		return env, resp
	}

	env, resp := get(client, "https://"+h2Addr+"/x?y=1")
	if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("tls:// listener: %s (ALPN %q), want HTTP/2", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	for k, v := range map[string]string{"SERVER_PROTOCOL": "HTTP/2.0", "HTTPS": "on", "bubble.url_scheme": "https", "QUERY_STRING": "y=1",
		"PATH_INFO": "/x", "bubble.listener": "h2", "tls.server_name": "a.test"} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	env, resp = get(client, "https://"+h1Addr+"/x")
	if resp.ProtoMajor != 1 || resp.TLS.NegotiatedProtocol != "http/1.1" || env["SERVER_PROTOCOL"] != "HTTP/1.1" {
		t.Errorf("http2 = false: %s (ALPN %q), %s", resp.Proto, resp.TLS.NegotiatedProtocol, env["SERVER_PROTOCOL"])
	}
	h2c := &http.Client{Timeout: time.Minute, Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
	env, resp = get(h2c, "http://"+h2cAddr+"/x")
	if resp.ProtoMajor != 2 || env["SERVER_PROTOCOL"] != "HTTP/2.0" || env["bubble.url_scheme"] != "http" {
		t.Errorf("h2c: %s, %v", resp.Proto, env)
	}

	// A reload turning http2 off: new handshakes get http/1.1.
	if err := a.Reload(context.Background(), reloadConfig(t, dir, body(false))); err != nil {
		t.Fatal(err)
	}
	fresh := &http.Client{Timeout: time.Minute, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "a.test"}}}
	if _, resp = get(fresh, "https://"+h2Addr+"/x"); resp.ProtoMajor != 1 {
		t.Errorf("after the reload turning http2 off: %s", resp.Proto)
	}
}

func hostPort(addr string) string { return addr[strings.Index(addr, "://")+3:] }
