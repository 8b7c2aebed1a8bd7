package fakehost

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
	"github.com/bubblewasm/bubblewasm/server/outbound"
)

// The outbound HTTP extension (bubblewasm_http_v1): requests within the
// route's outbound list are served by Config.HTTP in memory. Methods,
// URLs and headers are checked as the server checks them; the limits are
// the server's defaults. Redirects are not followed and names not
// resolved: HTTP answers every covered URL.

var _ host.HTTP = (*Host)(nil)

// fakeResponse is an open response of the exchange.
type fakeResponse struct {
	status int
	header http.Header
	body   *bytes.Reader
	read   int64
}

// HTTPRequest implements bubblewasm_http_v1.request.
func (h *Host) HTTPRequest(method, rawURL string, headers, body []byte, _ int32) int32 {
	_, c := h.ext()
	if c.Outbound == nil {
		return spec.ErrDenied
	}
	if len(method) > spec.MaxMethodBytes || !spec.ValidHeaderName(method) || len(rawURL) > spec.MaxURLBytes {
		return spec.ErrInvalid
	}
	if len(headers) > spec.MaxRequestHeaderBytes {
		return spec.ErrTooLarge
	}
	hdr, err := abi.ParseRequestHeaders(headers)
	if err != nil {
		return spec.ErrInvalid
	}
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return spec.ErrInvalid
	}
	allow, err := outbound.NewAllowlist(c.Outbound)
	if err != nil || !allow.Covers(u) {
		return spec.ErrDenied
	}
	if len(body) > outbound.DefaultMaxRequestBytes {
		return spec.ErrTooLarge
	}
	if len(h.responses) >= spec.MaxOpenResponses {
		return spec.ErrFull
	}
	req := httptest.NewRequest(method, rawURL, bytes.NewReader(bytes.Clone(body)))
	req.Header = hdr
	rec := httptest.NewRecorder()
	if c.HTTP != nil {
		c.HTTP.ServeHTTP(rec, req)
	} else {
		rec.WriteHeader(http.StatusBadGateway)
	}
	res := rec.Result()
	if h.responses == nil {
		h.responses = map[int32]*fakeResponse{}
	}
	h.lastResponse++
	b, _ := io.ReadAll(res.Body)
	h.responses[h.lastResponse] = &fakeResponse{status: res.StatusCode, header: res.Header, body: bytes.NewReader(b)}
	return h.lastResponse
}

// HTTPStatus implements bubblewasm_http_v1.status.
func (h *Host) HTTPStatus(handle int32) int32 {
	r, code := h.response(handle)
	if r == nil {
		return code
	}
	return int32(r.status)
}

// HTTPHeaders implements bubblewasm_http_v1.headers.
func (h *Host) HTTPHeaders(handle int32, buf []byte) int32 {
	r, code := h.response(handle)
	if r == nil {
		return code
	}
	return fill(buf, abi.EncodeHeaders(r.header))
}

// HTTPRead implements bubblewasm_http_v1.read, with the server's default
// response cap.
func (h *Host) HTTPRead(handle int32, buf []byte) int32 {
	r, code := h.response(handle)
	switch {
	case r == nil:
		return code
	case len(buf) == 0:
		return spec.ErrInvalid
	case r.read >= outbound.DefaultMaxResponseBytes && r.body.Len() > 0:
		return spec.ErrTooLarge
	}
	n, _ := r.body.Read(buf[:min(int64(len(buf)), outbound.DefaultMaxResponseBytes-r.read)])
	r.read += int64(n)
	return int32(n)
}

// HTTPClose implements bubblewasm_http_v1.close.
func (h *Host) HTTPClose(handle int32) int32 {
	r, code := h.response(handle)
	if r == nil {
		return code
	}
	delete(h.responses, handle)
	return 0
}

func (h *Host) response(handle int32) (*fakeResponse, int32) {
	if _, c := h.ext(); c.Outbound == nil {
		return nil, spec.ErrDenied
	}
	r, ok := h.responses[handle]
	if !ok {
		return nil, spec.ErrNotFound
	}
	return r, 0
}

// OpenResponses returns how many responses the exchange holds open.
func (h *Host) OpenResponses() int { return len(h.responses) }
