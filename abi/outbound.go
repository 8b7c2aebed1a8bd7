package abi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// The outbound HTTP extension (HTTPModule): a guest sends HTTP requests to
// the origins its route allows (route key outbound) and streams the
// responses. The host functions here check and decode the guest's
// arguments; an Outbound service does the requests.

// Limits of the outbound extension (package spec).
const (
	// MaxOpenResponses is how many responses an exchange holds open at
	// once (ERR_FULL beyond).
	MaxOpenResponses = spec.MaxOpenResponses
	// MaxRequestHeaderBytes is the longest request header block
	// (ERR_TOO_LARGE beyond) and the most response header bytes read.
	MaxRequestHeaderBytes = spec.MaxRequestHeaderBytes
	// MaxURLBytes is the longest URL (ERR_INVALID beyond).
	MaxURLBytes = spec.MaxURLBytes
	// MaxMethodBytes is the longest method (ERR_INVALID beyond).
	MaxMethodBytes = spec.MaxMethodBytes
)

// ErrInvalidRequest: a method, URL or header the outbound extension does
// not send (ERR_INVALID).
var ErrInvalidRequest = errors.New("invalid request")

// OutboundRequest is a guest's HTTP request, decoded and checked: the
// method is a token, the header names are tokens and no header is one the
// host controls (RequestHeaderOK).
type OutboundRequest struct {
	Method string
	URL    string
	Header http.Header
	// Body aliases guest memory: the service checks its size against its
	// limit before it copies it.
	Body []byte
	// Timeout bounds the whole call, the response body included; 0 means
	// the route's outbound timeout. The exchange's deadline bounds it too.
	Timeout time.Duration
}

// Outbound is a route's outbound HTTP grant (route key outbound), bound to
// one exchange. It owns the responses the exchange opened, by handle
// (positive, never reused within the exchange); the host closes them all
// when the exchange ends.
type Outbound interface {
	// Request sends req and waits for the response's status and headers.
	// Errors: ErrNotGranted (URL or address outside the allowlist),
	// ErrInvalidRequest, ErrInputTooLarge (body over the route's cap),
	// ErrCapacity (MaxOpenResponses open), context errors, others (ERR_IO).
	Request(req OutboundRequest) (handle int, err error)
	// Status returns the response's status code; ErrGone for an unknown
	// or closed handle.
	Status(handle int) (int, error)
	// Header returns the response's headers; ErrGone as for Status.
	Header(handle int) (http.Header, error)
	// Read reads the response body: io.EOF at its end, ErrInputTooLarge
	// once it passes the route's cap.
	Read(handle int, p []byte) (int, error)
	// Close closes the response; ErrGone as for Status.
	Close(handle int) error
}

func httpFuncs() []Func {
	return []Func{
		{"request", []string{"method_ptr", "method_len", "url_ptr", "url_len", "headers_ptr", "headers_len", "body_ptr", "body_len", "timeout_ms"}, 1, httpRequest},
		{"status", []string{"handle"}, 1, httpStatus},
		{"headers", []string{"handle", "buf_ptr", "buf_len"}, 1, httpHeaders},
		{"read", []string{"handle", "buf_ptr", "buf_len"}, 1, httpRead},
		{"close", []string{"handle"}, 1, httpClose},
	}
}

// RequestHeaderOK reports whether a guest may send the request header
// name: value. The name must be a token, the value hold no control byte
// but HTAB, and the header must not be one the host controls: Host,
// Content-Length and the hop-by-hop headers (spec.HostOwnedHeader).
func RequestHeaderOK(name, value []byte) bool {
	if !spec.ValidHeaderName(name) || !spec.ValidHeaderValue(value) || spec.HostOwnedHeader(name) {
		return false
	}
	n := string(name)
	return !strings.EqualFold(n, "host") && !strings.EqualFold(n, "content-length") && !strings.EqualFold(n, "proxy-authorization")
}

// ParseRequestHeaders decodes a header block of "Name: value\n" lines
// (ABI.md): every line ends with "\n"; the value is trimmed of spaces and
// tabs; names may repeat.
func ParseRequestHeaders(b []byte) (http.Header, error) {
	h := http.Header{}
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			return nil, fmt.Errorf("%w: the last header line does not end with a newline", ErrInvalidRequest)
		}
		b = rest
		name, value, ok := bytes.Cut(line, []byte(":"))
		value = bytes.Trim(value, " \t")
		if !ok || !RequestHeaderOK(name, value) {
			return nil, fmt.Errorf("%w: a header line is not a valid Name: value, or names a header the host controls", ErrInvalidRequest)
		}
		key := http.CanonicalHeaderKey(string(name))
		h[key] = append(h[key], string(value))
	}
	return h, nil
}

// EncodeHeaders encodes h as "Name: value\n" lines, names in ascending
// order, each name's values in their order.
func EncodeHeaders(h http.Header) []byte {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []byte
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, k...)
			out = append(out, ": "...)
			out = append(out, v...)
			out = append(out, '\n')
		}
	}
	return out
}

// handleCall returns the route's grant and the handle in stack[0], or
// sets the call's result (ERR_DENIED without a grant, ERR_NOT_FOUND for a
// non-positive handle, which names no response) and returns false.
func handleCall(x Exchange, stack []uint64) (Outbound, int, bool) {
	o, ok := service(x, outboundOf)
	if !ok {
		finish(stack, 0, ErrNotGranted)
		return nil, 0, false
	}
	h := int32(uint32(stack[0]))
	if h <= 0 {
		finish(stack, 0, ErrGone)
		return nil, 0, false
	}
	return o, int(h), true
}

func httpRequest(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(HTTPModule+".request", mem, stack, 0, 2, 4, 6)
	if err != nil {
		return err
	}
	o, ok := service(x, outboundOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case len(b[0]) > MaxMethodBytes || !spec.ValidHeaderName(b[0]):
		return finish(stack, 0, fmt.Errorf("%w: the method is not a token", ErrInvalidRequest))
	case len(b[1]) > MaxURLBytes:
		return finish(stack, 0, fmt.Errorf("%w: the URL is too long", ErrInvalidRequest))
	case len(b[2]) > MaxRequestHeaderBytes:
		return finish(stack, 0, fmt.Errorf("%w: the request headers are too long", ErrInputTooLarge))
	}
	h, err := ParseRequestHeaders(b[2])
	if err != nil {
		return finish(stack, 0, err)
	}
	timeout := time.Duration(0) // zero or negative: the route's outbound timeout
	if ms := int32(uint32(stack[8])); ms > 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	handle, err := o.Request(OutboundRequest{Method: string(b[0]), URL: string(b[1]), Header: h, Body: b[3], Timeout: timeout})
	return finish(stack, handle, err)
}

func httpStatus(x Exchange, _ Memory, stack []uint64) error {
	o, h, ok := handleCall(x, stack)
	if !ok {
		return nil
	}
	code, err := o.Status(h)
	return finish(stack, code, err)
}

func httpHeaders(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(HTTPModule+".headers", mem, stack, 1)
	if err != nil {
		return err
	}
	o, h, ok := handleCall(x, stack)
	if !ok {
		return nil
	}
	hdr, err := o.Header(h)
	if err != nil {
		return finish(stack, 0, err)
	}
	fill(stack, b[0], EncodeHeaders(hdr))
	return nil
}

func httpRead(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(HTTPModule+".read", mem, stack, 1)
	if err != nil {
		return err
	}
	o, h, ok := handleCall(x, stack)
	if !ok {
		return nil
	}
	if len(b[0]) == 0 {
		result(stack, ErrInvalid)
		return nil
	}
	buf := b[0][:min(len(b[0]), maxRead)]
	for {
		n, err := o.Read(h, buf)
		switch {
		case n > 0:
			return finish(stack, n, nil)
		case err == io.EOF:
			return finish(stack, 0, nil)
		case err != nil:
			return finish(stack, 0, err)
		}
		// (0, nil): nothing happened; the ABI's 0 means the end, so ask again.
	}
}

func httpClose(x Exchange, _ Memory, stack []uint64) error {
	o, h, ok := handleCall(x, stack)
	if !ok {
		return nil
	}
	return finish(stack, 0, o.Close(h))
}
