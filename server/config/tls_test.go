package config

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
)

// TLS keys on a listener: one pair or several (SNI), the minimum version,
// client CAs; hostile values named by file, line and key.
func TestListenerTLSGood(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key, _ := ca.Issue(t, "a", "a.test", "a.test")
	cert2, key2, _ := ca.Issue(t, "b", "b.test", "b.test")
	head := "[[route]]\nmodule = \"a.wasm\"\n[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n"
	pair := "tls_cert = " + q(cert) + "\ntls_key = " + q(key) + "\n"
	get := func(c *Config) any { return c.Listeners[0].TLS }
	runGood(t, []goodCase{
		{"none", head, get, (*TLS)(nil)},
		{"one pair", head + pair, get, &TLS{Certs: []CertFiles{{cert, key}}, MinVersion: tls.VersionTLS12}},
		{"two pairs, 1.3, client CA", head + "tls_cert = [" + q(cert) + ", " + q(cert2) + "]\ntls_key = [" + q(key) + ", " + q(key2) + "]\n" +
			"tls_min_version = \"1.3\"\ntls_client_ca = " + q(ca.File) + "\n", get,
			&TLS{Certs: []CertFiles{{cert, key}, {cert2, key2}}, MinVersion: tls.VersionTLS13, ClientCA: ca.File}},
		{"line transport", head + "transport = \"line\"\n" + pair, func(c *Config) any { return c.Listeners[0].TLS != nil }, true},
		{"tls:// address", strings.Replace(head, "tcp://", "tls://", 1) + pair, get, &TLS{Certs: []CertFiles{{cert, key}}, MinVersion: tls.VersionTLS12}},
		{"tls:// IPv6", strings.Replace(head, "tcp://127.0.0.1", "tls://[::1]", 1) + pair, func(c *Config) any { return c.Listeners[0].Address }, "tls://[::1]:0"},
	})
}

func TestListenerTLSBad(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key, _ := ca.Issue(t, "a", "a.test", "a.test")
	_, key2, _ := ca.Issue(t, "b", "b.test", "b.test")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	head := "[[route]]\nmodule = \"a.wasm\"\n[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n"
	tlsHead := strings.Replace(head, "tcp://", "tls://", 1)
	pair := "tls_cert = " + q(cert) + "\ntls_key = " + q(key) + "\n"
	for _, tc := range []struct{ name, src, want string }{
		{"cert without key", head + "tls_cert = " + q(cert) + "\n", "bubble.toml:3: listener[1].tls_key: required key is missing"},
		{"key without cert", head + "tls_key = " + q(key) + "\n", "bubble.toml:3: listener[1].tls_cert: required key is missing"},
		{"min version alone", head + "tls_min_version = \"1.3\"\n", "listener[1].tls_cert: required key is missing"},
		{"missing cert file", head + "tls_cert = " + q(missing) + "\ntls_key = " + q(key) + "\n", "bubble.toml:5: listener[1].tls_cert: certificate " + missing},
		{"key of another cert", head + "tls_cert = " + q(cert) + "\ntls_key = " + q(key2) + "\n", "private key does not match public key"},
		{"garbage PEM", head + "tls_cert = " + q(garbage) + "\ntls_key = " + q(key) + "\n", "bubble.toml:5: listener[1].tls_cert: certificate " + garbage},
		{"cert not a string", head + "tls_cert = 7\ntls_key = " + q(key) + "\n", "bubble.toml:5: listener[1].tls_cert: must be a string or an array of strings, not integer"},
		{"empty cert list", head + "tls_cert = []\ntls_key = []\n", "bubble.toml:5: listener[1].tls_cert: must not be empty"},
		{"empty path", head + "tls_cert = \"\"\ntls_key = " + q(key) + "\n", "bubble.toml:5: listener[1].tls_cert: must not be empty"},
		{"uneven lists", head + "tls_cert = [" + q(cert) + ", " + q(cert) + "]\ntls_key = [" + q(key) + "]\n", "bubble.toml:6: listener[1].tls_key: names 1 keys for 2 certificates in tls_cert"},
		{"bad version", head + pair + "tls_min_version = \"1.1\"\n", `bubble.toml:7: listener[1].tls_min_version: unknown tls_min_version "1.1" (allowed: "1.2", "1.3")`},
		{"version number", head + pair + "tls_min_version = 1.3\n", "bubble.toml:7: listener[1].tls_min_version: must be a string, not float"},
		{"missing CA", head + pair + "tls_client_ca = " + q(missing) + "\n", "bubble.toml:7: listener[1].tls_client_ca: open " + missing},
		{"garbage CA", head + pair + "tls_client_ca = " + q(garbage) + "\n", "bubble.toml:7: listener[1].tls_client_ca: " + garbage + " holds no PEM certificate"},
		{"unix listener", "[[route]]\nmodule = \"a.wasm\"\n[[listener]]\naddress = \"unix:///tmp/x.sock\"\n" + pair, "bubble.toml:5: listener[1].tls_cert: only valid with a tcp:// or tls:// address"},
		{"amqp listener", "[[route]]\nmodule = \"a.wasm\"\n[[listener]]\naddress = \"amqp://127.0.0.1/?queue=q\"\n" + pair, "bubble.toml:6: listener[1].tls_key: only valid with a tcp:// or tls:// address"},
		// tls:// must have certificates; hostile addresses
		{"tls:// without certificates", tlsHead, "bubble.toml:4: listener[1].address: a tls:// listener needs tls_cert and tls_key"},
		{"tls:// with a version only", tlsHead + "tls_min_version = \"1.3\"\n", "bubble.toml:3: listener[1].tls_cert: required key is missing"},
		{"tls:// with a bad key", tlsHead + "tls_cert = " + q(cert) + "\ntls_key = " + q(key2) + "\n", "private key does not match public key"},
		{"tls:// empty", strings.Replace(tlsHead, "127.0.0.1:0", "", 1), "bubble.toml:4: listener[1].address: invalid address \"tls://\": nothing after tls://"},
		{"TLS:// upper case", strings.Replace(tlsHead, "tls://", "TLS://", 1) + pair, "bubble.toml:4: listener[1].address: invalid address"},
		{"tls:// path", strings.Replace(tlsHead, ":0", ":0/x", 1) + pair, "bubble.toml:4: listener[1].address: address \"tls://127.0.0.1:0/x\": a tcp or tls address is host:port only"},
		{"tls:// huge port", strings.Replace(tlsHead, ":0", ":99999999999999999999", 1) + pair, "is not a number from 0 to 65535"},
		{"tls:// socket_mode", tlsHead + pair + "socket_mode = \"0600\"\n", "listener[1].socket_mode: only valid with a unix:// address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseWith("bubble.toml", []byte(tc.src), Options{ValidateAddress: checkSocketAddress})
			if got := errText(err); !strings.Contains(got, tc.want) {
				t.Errorf("source:\n%s\ngot error:\n%s\nwant it to contain:\n%s", tc.src, got, tc.want)
			}
			if cfg != nil {
				t.Errorf("got a Config along with the error")
			}
		})
	}
}

// checkSocketAddress is the app's address check for socket addresses
// (the app's own package imports this one).
func checkSocketAddress(s string) error {
	if strings.HasPrefix(s, "amqp") {
		return nil
	}
	_, err := server.ParseAddress(s)
	return err
}

// q quotes a path for TOML.
func q(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
