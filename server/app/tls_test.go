package app_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// TestTLSListeners serves envdump over TLS on an HTTP listener with two
// certificates (SNI chooses), a line listener, and an HTTP listener that
// requires client certificates and TLS 1.3; a reload swaps a certificate
// without dropping an open connection.
func TestTLSListeners(t *testing.T) {
	ca := testutil.NewCA(t)
	certA, keyA, _ := ca.Issue(t, "a", "a.test", "a.test")
	certB, keyB, _ := ca.Issue(t, "b", "b.test", "b.test")
	_, _, alice := ca.Issue(t, "alice", "alice", "")
	envdump := testbuild.Module(t, "envdump")
	dir := t.TempDir()
	body := func(certA, keyA string) string {
		return fmt.Sprintf(`
[[listener]]
name = "https"
address = "tcp://127.0.0.1:0"
tls_cert = [%[1]q, %[2]q]
tls_key = [%[3]q, %[4]q]

[[listener]]
name = "lines"
address = "tcp://127.0.0.1:0"
transport = "line"
tls_cert = %[1]q
tls_key = %[3]q

[[listener]]
name = "mtls"
address = "tcp://127.0.0.1:0"
tls_cert = %[1]q
tls_key = %[3]q
tls_min_version = "1.3"
tls_client_ca = %[5]q

[[route]]
name = "env"
module = %[6]q
`, certA, certB, keyA, keyB, ca.File, envdump)
	}
	a, addrs := testapp.StartApp(t, reloadConfig(t, dir, body(certA, keyA)), app.Options{Logger: testutil.Logger(t)})
	httpsAddr, linesAddr, mtlsAddr := addrs[1].String(), addrs[2].String(), addrs[3].String()
	httpsAddr = strings.TrimPrefix(httpsAddr, "tcp://")
	linesAddr = strings.TrimPrefix(linesAddr, "tcp://")
	mtlsAddr = strings.TrimPrefix(mtlsAddr, "tcp://")

	clientFor := func(serverName string, certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: serverName, Certificates: certs},
		}}
	}
	getEnv := func(c *http.Client, addr string) (map[string]string, *http.Response, error) {
		resp, err := c.Get("https://" + addr + "/x")
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, nil, err
		}
		var env map[string]string
		if err := json.Unmarshal(b, &env); err != nil {
			return nil, nil, fmt.Errorf("%v: %s", err, b)
		}
		return env, resp, nil
	}
	want := func(t *testing.T, env map[string]string, kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if env[kv[i]] != kv[i+1] {
				t.Errorf("%s = %q, want %q (env %v)", kv[i], env[kv[i]], kv[i+1], env)
			}
		}
	}

	t.Run("https env and SNI", func(t *testing.T) {
		for _, name := range []string{"a.test", "b.test"} {
			env, resp, err := getEnv(clientFor(name), httpsAddr)
			if err != nil {
				t.Fatal(err)
			}
			if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != name {
				t.Errorf("SNI %s: served the certificate of %s", name, cn)
			}
			want(t, env, "HTTPS", "on", "bubble.url_scheme", "https", "tls.version", "1.3",
				"tls.cipher", tls.CipherSuiteName(resp.TLS.CipherSuite), "tls.server_name", name, "tls.client_subject", "")
		}
	})
	t.Run("plain listener stays plain", func(t *testing.T) {
		env := envOf(t, testutil.URL(addrs[0])+"/x")
		want(t, env, "HTTPS", "", "bubble.url_scheme", "http", "tls.version", "")
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		c := clientFor("a.test")
		c.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
		env, _, err := getEnv(c, httpsAddr)
		if err != nil {
			t.Fatal(err)
		}
		want(t, env, "tls.version", "1.2")
	})
	t.Run("line over TLS", func(t *testing.T) {
		conn, err := tls.Dial("tcp", linesAddr, &tls.Config{RootCAs: ca.Pool(), ServerName: "a.test"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "hello\n"); err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		if err := json.Unmarshal([]byte(readLine(t, bufio.NewReader(conn))), &env); err != nil {
			t.Fatal(err)
		}
		want(t, env, "bubble.transport", "line", "tls.version", "1.3", "tls.server_name", "a.test")
	})
	t.Run("client certificates", func(t *testing.T) {
		if _, _, err := getEnv(clientFor("a.test"), mtlsAddr); err == nil {
			t.Error("a client without a certificate was served")
		}
		env, _, err := getEnv(clientFor("a.test", alice), mtlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		want(t, env, "tls.client_subject", "CN=alice,O=bubblewasm tests")
		old := clientFor("a.test", alice)
		old.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
		if _, _, err := getEnv(old, mtlsAddr); err == nil {
			t.Error("TLS 1.2 was served with tls_min_version = 1.3")
		}
	})
	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		port := httpsAddr[strings.LastIndex(httpsAddr, ":")+1:]
		out, err := exec.Command("curl", "-sS", "--max-time", "60", "--cacert", ca.File, "--resolve", "b.test:"+port+":127.0.0.1",
			"https://b.test:"+port+"/x").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		var env map[string]string
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		want(t, env, "HTTPS", "on", "tls.server_name", "b.test")
	})
	t.Run("reload swaps certificates, keeps connections", func(t *testing.T) {
		kept := clientFor("a.test")
		if _, _, err := getEnv(kept, httpsAddr); err != nil {
			t.Fatal(err)
		}
		certA2, keyA2, _ := ca.Issue(t, "a2", "a2.test", "a.test")
		if err := a.Reload(context.Background(), reloadConfig(t, dir, body(certA2, keyA2))); err != nil {
			t.Fatal(err)
		}
		_, resp, err := getEnv(kept, httpsAddr) // the same keep-alive connection
		if err != nil {
			t.Fatalf("the open connection after the reload: %v", err)
		}
		if !resp.TLS.DidResume && resp.TLS.PeerCertificates[0].Subject.CommonName != "a.test" {
			t.Errorf("the open connection changed certificate")
		}
		_, resp, err = getEnv(clientFor("a.test"), httpsAddr)
		if err != nil {
			t.Fatal(err)
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "a2.test" {
			t.Errorf("a new connection got %s, want the reloaded a2.test", cn)
		}
		// The same file names with new contents (a renewal): a reload reads them again.
		certA3, keyA3, _ := ca.Issue(t, "a3", "a3.test", "a.test")
		for _, p := range [][2]string{{certA3, certA2}, {keyA3, keyA2}} {
			b, err := os.ReadFile(p[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p[1], b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Reload(context.Background(), reloadConfig(t, dir, body(certA2, keyA2))); err != nil {
			t.Fatal(err)
		}
		_, resp, err = getEnv(clientFor("a.test"), httpsAddr)
		if err != nil {
			t.Fatal(err)
		}
		if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "a3.test" {
			t.Errorf("after renewing the files: %s, want a3.test", cn)
		}
		// Turning TLS off needs a restart.
		if err := a.Reload(context.Background(), reloadConfig(t, dir, "[[listener]]\nname = \"https\"\naddress = \"tcp://127.0.0.1:0\"\n"+fmt.Sprintf("[[route]]\nmodule = %q\n", envdump))); err == nil || !strings.Contains(err.Error(), "restart") {
			t.Errorf("turning TLS off: %v", err)
		}
	})
}
