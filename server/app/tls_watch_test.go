package app_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// TestTLSFilesWatched serves a tls:// listener and changes its certificate
// files on disk: written in place, renamed over, corrupted, mismatched.
// New handshakes get each good pair without a reload; a bad one keeps the
// previous certificate and logs an error naming the file; an open
// connection keeps being served throughout.
func TestTLSFilesWatched(t *testing.T) {
	ca := testutil.NewCA(t)
	envdump := testbuild.Module(t, "envdump")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(name string) {
		t.Helper()
		c, k, _ := ca.Issue(t, name, name+".test", "a.test")
		copyFile(t, c, certFile)
		copyFile(t, k, keyFile)
	}
	install("one")
	logger, logs := testutil.CaptureLogger(t)
	cfg := reloadConfig(t, dir, fmt.Sprintf("[[listener]]\naddress = \"tls://127.0.0.1:0\"\ntls_cert = %q\ntls_key = %q\n\n[[route]]\nmodule = %q\n",
		certFile, keyFile, envdump))
	_, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
	addr := strings.TrimPrefix(addrs[1].String(), "tcp://")

	served := func() string {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "a.test"})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	waitServed := func(cn string) {
		t.Helper()
		testutil.Eventually(t, "new handshakes to get "+cn, func() bool { return served() == cn })
	}
	kept := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "a.test"}}}
	get := func() {
		t.Helper()
		resp, _ := testutil.Fetch(t, kept, mustRequest(t, "https://"+addr+"/x"))
		if resp.StatusCode != 200 || resp.TLS.PeerCertificates[0].Subject.CommonName != "one.test" {
			t.Fatalf("the kept connection: %d, certificate %s", resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
		}
	}
	if got := served(); got != "one.test" {
		t.Fatalf("served %s, want one.test", got)
	}
	get()

	install("two") // in place: the certificate, then the key
	waitServed("two.test")
	get()

	c, k, _ := ca.Issue(t, "three", "three.test", "a.test") // renamed over the old files
	copyFile(t, c, certFile+".tmp")
	copyFile(t, k, keyFile+".tmp")
	for _, f := range []string{certFile, keyFile} {
		if err := os.Rename(f+".tmp", f); err != nil {
			t.Fatal(err)
		}
	}
	waitServed("three.test")

	failures := func() int { return strings.Count(logs.String(), "TLS files changed and do not load") }
	before := failures()
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nhalf a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the corrupt certificate to be logged", func() bool { return failures() > before })
	if !strings.Contains(logs.String(), certFile) {
		t.Errorf("the error does not name %s:\n%s", certFile, logs.String())
	}
	if got := served(); got != "three.test" {
		t.Errorf("after a corrupt write: served %s, want the previous three.test", got)
	}

	before = failures()
	_, otherKey, _ := ca.Issue(t, "other", "other.test")
	copyFile(t, c, certFile) // three's certificate with another key
	copyFile(t, otherKey, keyFile)
	testutil.Eventually(t, "the mismatched key to be logged", func() bool {
		return failures() > before && strings.Contains(logs.String(), "private key does not match public key")
	})
	if got := served(); got != "three.test" {
		t.Errorf("after a mismatched key: served %s, want the previous three.test", got)
	}

	install("four") // the next good write is picked up
	waitServed("four.test")
	get()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
