package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Buffer sizes of a socket: what an idle socket costs besides its
// goroutine and the library's state.
const (
	readBufferSize  = 4 << 10
	writeBufferSize = 4 << 10
)

// upgradeWriter is the http.ResponseWriter and http.Hijacker the library's
// Accept needs, over the exchange of the upgrade request: a refusal goes
// out as the exchange's response; the 101 is written on the connection
// once it is taken over.
type upgradeWriter struct {
	x        *server.Exchange
	header   http.Header
	status   int
	answered bool // a refusal went out through the exchange
	hijacked bool
}

func (w *upgradeWriter) Header() http.Header { return w.header }

func (w *upgradeWriter) WriteHeader(status int) {
	w.status = status
	if status == http.StatusSwitchingProtocols {
		return // written by Hijack, on the connection
	}
	w.answered = true
	h := w.x.Writer.Header()
	for k, v := range w.header {
		if k != "Connection" && k != "Upgrade" { // the HTTP transport's own
			h[k] = v
		}
	}
	w.x.Writer.SetStatus(status)
}

func (w *upgradeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status == http.StatusSwitchingProtocols {
		return 0, fmt.Errorf("write before the connection is taken over")
	}
	return w.x.Writer.Write(p)
}

// Hijack takes the connection over from the HTTP transport and writes the
// 101 response the library prepared.
func (w *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status != http.StatusSwitchingProtocols {
		return nil, nil, fmt.Errorf("hijack before 101")
	}
	conn, buffered, err := server.Hijack(w.x.Writer)
	if err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	head := []byte("HTTP/1.1 101 Switching Protocols\r\n")
	for k, vs := range w.header {
		for _, v := range vs {
			head = append(append(append(append(head, k...), ": "...), v...), "\r\n"...)
		}
	}
	head = append(head, "\r\n"...)
	if _, err := conn.Write(head); err != nil {
		return nil, nil, err
	}
	// The bytes read past the request come first: load them into the
	// reader's buffer, which the library keeps.
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(buffered), conn), max(readBufferSize, len(buffered)))
	if len(buffered) > 0 {
		if _, err := r.Peek(len(buffered)); err != nil {
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(r, bufio.NewWriterSize(conn, writeBufferSize)), nil
}

// upgradeRequest rebuilds the parts of the upgrade request the library
// reads: method, protocol and headers.
func upgradeRequest(env server.Env) *http.Request {
	r := &http.Request{Method: env[abi.EnvRequestMethod], Header: http.Header{}, Host: env["HTTP_HOST"],
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, URL: &url.URL{Path: env[abi.EnvPathInfo]}}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, abi.EnvHTTPPrefix); ok {
			r.Header.Set(strings.ReplaceAll(name, "_", "-"), v)
		}
	}
	return r
}

// originAllowed applies the route's origin rules: no Origin (not a
// browser) is allowed, "*" allows any; otherwise the Origin's host (with
// its port) must equal the request's Host or match one of the patterns (a
// pattern without a port matches the host on any port).
func originAllowed(patterns []string, origin, host string) bool {
	if origin == "" {
		return true
	}
	for _, p := range patterns {
		if p == "*" {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	o := strings.ToLower(u.Host)
	if o == strings.ToLower(host) {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, o); ok {
			return true
		}
		if ok, _ := path.Match(p, u.Hostname()); ok && !strings.Contains(p, ":") {
			return true
		}
	}
	return false
}
