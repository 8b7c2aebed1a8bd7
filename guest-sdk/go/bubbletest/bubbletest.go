// Package bubbletest runs a module's registered handler in plain go test,
// against an in-memory host that enforces the bubblewasm_v1 ABI rules:
// status and headers commit on the first write or flush (later changes fail
// with bubble.ErrCommitted), header names must be tokens and values free of
// CR, LF and NUL (else bubble.ErrInvalid), and a status must be 100–999.
//
//	func TestHello(t *testing.T) {
//		rec := bubbletest.Serve(map[string]string{"QUERY_STRING": "name=Ann"}, nil)
//		if rec.Code != 0 || rec.Body.String() != "Hello, Ann!\n" { ... }
//	}
//
// Serve calls are serialized: the SDK keeps its host in a global.
//
// A [Host] adds the extensions (pub/sub, signals, key-value, and with them
// sessions) and keeps their state from one exchange to the next:
//
//	h := &bubbletest.Host{KV: "app"}
//	rec := h.Serve(nil, nil) // a new session: rec sets its cookie
//	id, _ := rec.Cookie("bubble_session")
//	rec = h.Serve(map[string]string{"HTTP_COOKIE": "bubble_session=" + id}, nil)
//
// A handler that parks its exchange (bubble.ParkMessage, ParkSignal,
// ParkTimeout) leaves the wait in [Recorder].Parked; [Recorder.Resume] runs
// it again as the host would once the wait ends:
//
//	rec := h.Serve(env, nil) // parks on a subscription
//	h.Publish("chat", []byte("hi"))
//	rec.Resume(bubble.WakeMessage, nil)
package bubbletest

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strconv"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/fakehost"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Record is one message the handler logged.
type Record struct {
	Level bubble.Level
	Msg   string
}

// Recorder is the outcome of one exchange.
type Recorder struct {
	// Code is what bubble_handle returned; non-zero means the handler failed.
	Code int32
	// Status is the response status, 200 unless the handler set one.
	Status int
	// Header holds the response headers under canonical names.
	Header bubble.Header
	// Body holds the output, unless Exchange.Output received it.
	Body bytes.Buffer
	// Committed reports whether a write or flush committed the metadata.
	Committed bool
	// Flushes counts flush calls.
	Flushes int
	// Logs holds the log records, in order (of every run, after Resume).
	Logs []Record
	// Parked is the wait the handler registered (bubble.ParkMessage,
	// ParkSignal, ParkTimeout) when it returned 0, or nil when the
	// exchange ended. Resume runs the next run.
	Parked *Park

	h       *fakehost.Host // the exchange, for Resume
	resumes int
}

// Park is a wait a handler registered: On is "message", "signal" or
// "timeout", Name the subscription id or the signal name.
type Park = fakehost.Park

// Resume runs the handler again as the host would after the park the
// exchange ended in: the same env plus bubble.resume and bubble.wake
// (wake), the rest of the input, the output so far (status, headers, body
// written), the stash; payload is the waking signal's (wake
// bubble.WakeSignal). It updates and returns r. It panics when the
// exchange is not parked (Parked is nil).
//
// Time does not pass: whether the message came or the timeout passed is
// the test's to say, as wake.
func (r *Recorder) Resume(wake bubble.Wake, payload []byte) *Recorder {
	if r.Parked == nil {
		panic("bubbletest: Resume of an exchange that is not parked")
	}
	h := r.h
	r.resumes++
	env := maps.Clone(h.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["bubble.resume"] = strconv.Itoa(r.resumes)
	env["bubble.wake"] = string(wake)
	h.Env = env
	h.Park.Pending = nil
	h.Park.Payload, h.Park.Woken = slices.Clone(payload), wake == bubble.WakeSignal
	r.run()
	return r
}

// run runs the handler once on r's exchange and records the outcome.
func (r *Recorder) run() {
	h := r.h
	r.Code = host.Serve(h)
	r.Status = h.Status
	r.Header = bubble.Header(h.Header)
	r.Committed = h.Committed
	r.Flushes = h.Flushes
	r.Logs = r.Logs[:0]
	for _, l := range h.Logs {
		r.Logs = append(r.Logs, Record{bubble.Level(l.Level), l.Msg})
	}
	r.Parked = nil
	if r.Code == 0 && h.Park.Pending != nil {
		p := *h.Park.Pending
		r.Parked = &p
	}
}

// Exchange describes one simulated exchange.
type Exchange struct {
	// Env is the environment the handler sees.
	Env map[string]string
	// Body is the input; nil is empty. A read error reaches the handler as
	// the ABI code the real host would give: a bubble.Errno as itself,
	// deadline errors as ERR_TIMEOUT, io.ErrUnexpectedEOF and
	// io.ErrClosedPipe as ERR_CLOSED, anything else as ERR_IO.
	Body io.Reader
	// Output, if not nil, receives the output instead of Recorder.Body, for
	// large outputs or to fail writes (errors map as for Body).
	Output io.Writer
	// Host, if not nil, grants the extensions and keeps their state between
	// exchanges; nil denies every extension call (bubble.ErrDenied).
	Host *Host
}

// Serve runs the registered handler for one exchange with env and body.
func Serve(env map[string]string, body io.Reader) *Recorder {
	return Exchange{Env: env, Body: body}.Serve()
}

// Serve runs the registered handler for the exchange e.
func (e Exchange) Serve() *Recorder {
	rec := &Recorder{}
	out := e.Output
	if out == nil {
		out = &rec.Body
	}
	h := fakehost.New(e.Env, e.Body, out)
	if e.Host != nil {
		h.Ext = e.Host.state()
	}
	rec.h = h
	rec.run()
	return rec
}
