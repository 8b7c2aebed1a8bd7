// Command tlsbench compares bubblewasm's TLS and HTTP/2 serving with a
// native Go net/http server (which serves HTTP/2 through the same x/net
// code, bundled) in one run, with the same certificate and a hello-world
// response:
//
//   - TLS handshakes/s: HTTPS requests on a new connection each (Go client);
//   - HTTPS req/s over HTTP/1.1 keep-alive connections (h2load --h1);
//   - HTTP/2 req/s (h2load -m streams per connection).
//
// It is a measurement, not a test: numbers depend on the machine. Run it
// with `make bench-tls` (bin/bubblewasm and bin/modules/hello.wasm).
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/bubblewasm", "the bubblewasm binary")
	module := flag.String("module", "bin/modules/hello.wasm", "the hello-world module")
	duration := flag.Duration("duration", 5*time.Second, "how long the handshake measurement runs per server")
	requests := flag.Int("n", 20000, "requests per h2load run")
	clients := flag.Int("c", 10, "connections per h2load run, and handshake workers")
	streams := flag.Int("m", 10, "concurrent streams per HTTP/2 connection (h2load -m)")
	native := flag.String("native", "", "internal: serve the native server on this address")
	cert := flag.String("cert", "", "internal: the native server's certificate")
	key := flag.String("key", "", "internal: the native server's key")
	flag.Parse()
	if *native != "" {
		serveNative(*native, *cert, *key)
		return
	}
	if _, err := exec.LookPath("h2load"); err != nil {
		log.Fatal("h2load is needed (scripts/deps.d/nghttp2.sh installs nghttp2-client)")
	}
	dir, err := os.MkdirTemp("", "tlsbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	certFile, keyFile, pool := makeCert(dir)
	modulePath, _ := filepath.Abs(*module)

	bubbleAddr, nativeAddr := freeAddr(), freeAddr()
	cfg := filepath.Join(dir, "bubble.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("log_level = \"warn\"\n[access_log]\noutput = \"off\"\n\n[[listener]]\naddress = \"tls://%s\"\ntls_cert = %q\ntls_key = %q\n"+
		"max_concurrent_streams = 250\n\n[[route]]\nmodule = %q\n", bubbleAddr, certFile, keyFile, modulePath)), 0o600)
	servers := []struct{ name, addr string }{{"bubblewasm", bubbleAddr}, {"native Go net/http", nativeAddr}}
	self, _ := os.Executable()
	for _, cmd := range []*exec.Cmd{
		exec.Command(*bin, "run", "-c", cfg),
		exec.Command(self, "-native", nativeAddr, "-cert", certFile, "-key", keyFile),
	} {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	}
	for _, s := range servers {
		waitListening(s.addr)
	}

	fmt.Printf("| server | TLS handshakes/s (new connection per request, %d workers) | HTTPS HTTP/1.1 req/s (h2load --h1 -n %d -c %d) | HTTP/2 req/s (h2load -n %d -c %d -m %d) |\n",
		*clients, *requests, *clients, *requests, *clients, *streams)
	fmt.Println("|---|---|---|---|")
	for _, s := range servers {
		hs := handshakes(s.addr, pool, *clients, *duration)
		h1 := h2load(s.addr, "--h1", "-n", strconv.Itoa(*requests), "-c", strconv.Itoa(*clients))
		h2 := h2load(s.addr, "-n", strconv.Itoa(*requests), "-c", strconv.Itoa(*clients), "-m", strconv.Itoa(*streams))
		fmt.Printf("| %s | %.0f | %s | %s |\n", s.name, hs, h1, h2)
	}
}

// serveNative serves "Hello, world!" over TLS with net/http (HTTP/2 on by
// default) until interrupted.
func serveNative(addr, cert, key string) {
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Hello, world!\n")
	})}
	log.Fatal(srv.ListenAndServeTLS(cert, key))
}

// handshakes runs workers that each make HTTPS requests on new
// connections for d, and returns the completed requests per second.
func handshakes(addr string, pool *x509.CertPool, workers int, d time.Duration) float64 {
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
				ClientSessionCache: nil}}
			c := &http.Client{Transport: tr}
			for ctx.Err() == nil {
				resp, err := c.Get("https://" + addr + "/")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

var reqPerSec = regexp.MustCompile(`finished in [^,]+, ([0-9.]+) req/s`)
var succeeded = regexp.MustCompile(`(\d+) succeeded, (\d+) failed`)

// h2load runs h2load against addr and returns its req/s (and failures).
func h2load(addr string, args ...string) string {
	out, err := exec.Command("h2load", append(args, "https://"+addr+"/")...).CombinedOutput()
	m := reqPerSec.FindSubmatch(out)
	if err != nil || m == nil {
		return fmt.Sprintf("h2load failed: %v", err)
	}
	s := string(m[1])
	if f := succeeded.FindSubmatch(out); f != nil && string(f[2]) != "0" {
		s += fmt.Sprintf(" (%s failed)", f[2])
	}
	return s
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(addr string) {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	log.Fatalf("nothing listens on %s after 60s", addr)
}

// makeCert writes a self-signed ECDSA P-256 certificate for 127.0.0.1.
func makeCert(dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsbench"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}
