package bubble

import (
	"io"
	"slices"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// MaxOpenResponses is how many [HTTPResponse] bodies an exchange may hold
// open at once: [FetchHTTP] fails with [ErrFull] beyond, until one is
// closed.
const MaxOpenResponses = spec.MaxOpenResponses

// HTTPRequest is an outbound HTTP request ([FetchHTTP]).
type HTTPRequest struct {
	// Method is the request method; "" means GET.
	Method string
	// URL is the absolute http:// or https:// URL. It must be covered by
	// the route's outbound list (scheme, host and port of an entry, the
	// path under the entry's path).
	URL string
	// Header holds the request headers. Host, Content-Length and the
	// hop-by-hop headers (Connection, Transfer-Encoding, Upgrade, ...)
	// belong to the host: setting one fails with ErrInvalid.
	Header Header
	// Body is sent as is; at most the route's outbound_max_request_bytes
	// (1 MiB by default, ErrTooLarge beyond).
	Body []byte
	// TimeoutMs bounds the whole call, the response body included; ≤ 0
	// means the route's outbound_timeout (10 s by default). The exchange's
	// deadline bounds it too.
	TimeoutMs int
}

// HTTPResponse is the answer to a [FetchHTTP] call: its status and
// headers, and its body, streamed from the host as it is read.
type HTTPResponse struct {
	// Status is the HTTP status code. A redirect outside the route's
	// outbound list is not followed: its 3xx is the response.
	Status int
	// Header holds the response headers by canonical name.
	Header Header
	// Body streams the response body; close it when done, as the exchange
	// holds at most MaxOpenResponses open. Reading past the route's
	// outbound_max_response_bytes (10 MiB by default) fails with
	// ErrTooLarge. Bodies still open are closed when the exchange ends.
	Body io.ReadCloser
}

// FetchHTTP sends req through the host and waits for the response's
// status and headers:
//
//	resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1/items"})
//	if err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//	items, err := io.ReadAll(resp.Body)
//
// The route grants outbound HTTP with its outbound key (outbound =
// ["https://api.example.com"]); the host, not the module, resolves names
// and refuses private, loopback and link-local addresses unless an entry
// names that address. Errors (match with errors.Is): ErrDenied (the URL,
// or the address its name resolves to, is outside the route's list),
// ErrInvalid (a bad method, URL or header), ErrTooLarge (the body over
// the route's cap), ErrTimeout, ErrClosed (the exchange was cancelled),
// ErrIO (no such host, connection refused, TLS failure, a malformed
// response), ErrFull (MaxOpenResponses responses open).
func FetchHTTP(req *HTTPRequest) (*HTTPResponse, error) {
	method := req.Method
	if method == "" {
		method = "GET"
	}
	headers, ok := encodeHeaders(req.Header)
	if !ok {
		return nil, callError("http.request", spec.ErrInvalid)
	}
	h := host.HTTPHost()
	handle := h.HTTPRequest(method, req.URL, headers, req.Body, millis(req.TimeoutMs))
	if handle < 0 {
		return nil, callError("http.request", handle)
	}
	resp := &HTTPResponse{Status: int(h.HTTPStatus(handle)), Body: &httpBody{h: h, handle: handle}}
	block, n := negotiate(func(buf []byte) int32 { return h.HTTPHeaders(handle, buf) })
	if n < 0 {
		h.HTTPClose(handle)
		return nil, callError("http.headers", n)
	}
	resp.Header = parseHeaders(string(block))
	return resp, nil
}

// encodeHeaders encodes h as the ABI's "Name: value\n" lines, names in
// ascending order; false when a name or value would not survive it.
func encodeHeaders(h Header) ([]byte, bool) {
	names := make([]string, 0, len(h))
	for k := range h {
		if !spec.ValidHeaderName(k) {
			return nil, false
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var out []byte
	for _, k := range names {
		for _, v := range h[k] {
			if !spec.ValidHeaderValue(v) {
				return nil, false
			}
			out = append(append(append(append(out, k...), ": "...), v...), '\n')
		}
	}
	return out, true
}

// parseHeaders decodes the host's "Name: value\n" lines.
func parseHeaders(block string) Header {
	h := Header{}
	for len(block) > 0 {
		var line string
		line, block, _ = strings.Cut(block, "\n")
		if name, v, ok := strings.Cut(line, ":"); ok && name != "" {
			h.Add(name, strings.TrimLeft(v, " \t"))
		}
	}
	return h
}

// httpBody streams a response body through the host's read.
type httpBody struct {
	h      host.HTTP
	handle int32
	err    error // sticky: io.EOF, the failure, or closed
}

var errBodyClosed = &Error{Op: "http.read", Errno: ErrNotFound}

// Read reads the next bytes of the body; io.EOF at its end.
func (b *httpBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := b.h.HTTPRead(b.handle, p)
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		b.err = io.EOF
	default:
		b.err = callError("http.read", n)
	}
	return 0, b.err
}

// Close releases the response on the host; later reads fail. Closing
// twice is not an error.
func (b *httpBody) Close() error {
	if b.err == errBodyClosed {
		return nil
	}
	b.err = errBodyClosed
	if n := b.h.HTTPClose(b.handle); n < 0 {
		return callError("http.close", n)
	}
	return nil
}
