package bubble

import (
	"io"
	"slices"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/session"
)

// HandleStream registers fn as the module's handler; call it from an init
// function. fn reads the input and writes the output through x. A non-nil
// error is logged at LevelError and fails the exchange: an HTTP 500 if
// nothing was written yet, otherwise a cut-short response.
//
// HandleStream panics if a handler is registered already.
func HandleStream(fn func(x *Exchange) error) {
	host.Register(func() int32 {
		parked = false
		if err := fn(new(Exchange)); err != nil {
			Log(LevelError, err.Error())
			return 1
		}
		return 0
	})
}

// Request is the input of a [Handle] handler.
type Request struct {
	// Env is the exchange's whole environment (see ENV.md).
	Env map[string]string
	// Body streams the input; it returns io.EOF at the end.
	Body io.Reader

	session *Session // loaded by RequestSession
}

// Response is the output of a [Handle] handler.
type Response struct {
	// Status is the status code; 0 means 200.
	Status int
	// Header holds the response headers.
	Header Header
	// Body is the whole response body.
	Body []byte
}

// Handle registers fn as the module's handler in the WSGI-Lite shape: fn
// gets the env and the input and returns the whole response. Call it from
// an init function. Returning nil fails the exchange (an HTTP 500), since
// fn has no error result. A header the host rejects also fails it.
//
// Request and Response are pointers: a Response literal is returned without
// copying, nil is a clear failure value, and both types can grow fields
// without changing fn's signature.
//
// Handle panics if a handler is registered already.
func Handle(fn func(req *Request) *Response) {
	HandleStream(func(x *Exchange) error {
		req := &Request{Env: x.Environ(), Body: x}
		resp := fn(req)
		switch {
		case resp == nil && parked:
			return nil // the host runs the handler again later
		case resp == nil:
			return errNilResponse
		}
		return resp.writeTo(x, req.session)
	})
}

type stringError string

func (e stringError) Error() string { return string(e) }

const errNilResponse = stringError("bubble: the handler returned a nil *Response")

// writeTo sends r, with the cookie of s if s is a new session.
func (r *Response) writeTo(x *Exchange, s *Session) error {
	if r.Status != 0 && r.Status != 200 {
		if err := x.SetStatus(r.Status); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order makes responses reproducible
	for _, name := range names {
		for i, v := range r.Header[name] {
			set := x.AddHeader
			if i == 0 {
				set = x.SetHeader
			}
			if err := set(name, v); err != nil {
				return err
			}
		}
	}
	if s != nil && s.isNew {
		if err := x.AddHeader("Set-Cookie", session.SetCookie(s.id)); err != nil {
			return err
		}
	}
	_, err := x.Write(r.Body)
	return err
}

// Header is a set of response headers, keyed by canonical name as
// net/http's Header is ("Content-Type"). Its methods canonicalize the name;
// it avoids importing net/http, which would add megabytes to a module.
type Header map[string][]string

// Set replaces the values of name with value.
func (h Header) Set(name, value string) { h[host.CanonicalHeaderKey(name)] = []string{value} }

// Add appends value to name.
func (h Header) Add(name, value string) {
	k := host.CanonicalHeaderKey(name)
	h[k] = append(h[k], value)
}

// Get returns the first value of name, or "".
func (h Header) Get(name string) string {
	if v := h[host.CanonicalHeaderKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of name.
func (h Header) Values(name string) []string { return h[host.CanonicalHeaderKey(name)] }

// Del removes name.
func (h Header) Del(name string) { delete(h, host.CanonicalHeaderKey(name)) }
