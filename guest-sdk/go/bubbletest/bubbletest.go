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
package bubbletest

import (
	"bytes"
	"io"

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
	// Logs holds the log records, in order.
	Logs []Record
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
	rec.Code = host.Serve(h)
	rec.Status = h.Status
	rec.Header = bubble.Header(h.Header)
	rec.Committed = h.Committed
	rec.Flushes = h.Flushes
	for _, r := range h.Logs {
		rec.Logs = append(rec.Logs, Record{bubble.Level(r.Level), r.Msg})
	}
	return rec
}
