package static

import (
	"net/http"
	"net/url"

	"github.com/bubblewasm/bubblewasm/server"
)

// responseWriter lets net/http's ServeContent and Error write to an
// exchange.
type responseWriter struct {
	w server.ResponseWriter
}

func (r responseWriter) Header() http.Header         { return r.w.Header() }
func (r responseWriter) Write(p []byte) (int, error) { return r.w.Write(p) }
func (r responseWriter) WriteHeader(code int)        { r.w.SetStatus(code) }

// conditionalFields are the request header fields ServeContent reads, by
// their env keys.
var conditionalFields = map[string]string{
	"Range":               "HTTP_RANGE",
	"If-Range":            "HTTP_IF_RANGE",
	"If-Match":            "HTTP_IF_MATCH",
	"If-None-Match":       "HTTP_IF_NONE_MATCH",
	"If-Modified-Since":   "HTTP_IF_MODIFIED_SINCE",
	"If-Unmodified-Since": "HTTP_IF_UNMODIFIED_SINCE",
}

// request builds the request ServeContent reads: its method and the
// range and conditional fields of env.
func request(method string, env server.Env) *http.Request {
	h := http.Header{}
	for field, key := range conditionalFields {
		if v, ok := env[key]; ok {
			h.Set(field, v)
		}
	}
	return &http.Request{Method: method, URL: &url.URL{Path: "/"}, Header: h}
}
