package accesslog

import (
	"io"
	"net"
	"net/http"

	"github.com/bubblewasm/bubblewasm/server"
)

// meter counts what an exchange reads and writes and remembers the status
// it set. It forwards everything to the exchange's own reader and writer.
type meter struct {
	r       io.Reader
	w       server.ResponseWriter
	in, out int64
	status  int
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.in += int64(n)
	return n, err
}

func (m *meter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	m.out += int64(n)
	return n, err
}

func (m *meter) Header() http.Header { return m.w.Header() }
func (m *meter) Committed() bool     { return m.w.Committed() }
func (m *meter) Flush() error        { return m.w.Flush() }

// Unwrap returns the exchange's own writer, for server.Hijack.
func (m *meter) Unwrap() server.ResponseWriter { return m.w }

func (m *meter) SetStatus(code int) bool {
	ok := m.w.SetStatus(code)
	if ok {
		m.status = code
	}
	return ok
}

// reader is the meter as the exchange's input: only Read, so that the
// input does not pass for the writer.
type reader struct{ m *meter }

func (r reader) Read(p []byte) (int, error) { return r.m.Read(p) }

// connReader is the meter as the input of an exchange whose input is a
// connection (raw): it stays a net.Conn, for the layers above that use its
// deadlines and see its peer go (a route's jsonrpc transport).
type connReader struct {
	net.Conn
	m *meter
}

func (c connReader) Read(p []byte) (int, error) { return c.m.Read(p) }

// input returns what stands for the exchange's input.
func (m *meter) input() io.Reader {
	if c, ok := m.r.(net.Conn); ok {
		return connReader{c, m}
	}
	return reader{m}
}

// The writers below keep the deadline methods of the exchange's writer,
// and only those it has: a handler looks for them by type.
type (
	meterRW struct {
		meter
		server.ReadDeadliner
		server.WriteDeadliner
	}
	meterR struct {
		meter
		server.ReadDeadliner
	}
	meterW struct {
		meter
		server.WriteDeadliner
	}
	meterNone struct{ meter }
)

// newMeter returns a meter over x's input and output, and the writer that
// stands for x.Writer.
func newMeter(x *server.Exchange) (*meter, server.ResponseWriter) {
	rd, hasR := x.Writer.(server.ReadDeadliner)
	wd, hasW := x.Writer.(server.WriteDeadliner)
	base := meter{r: x.Reader, w: x.Writer}
	switch {
	case hasR && hasW:
		v := &meterRW{base, rd, wd}
		return &v.meter, v
	case hasR:
		v := &meterR{base, rd}
		return &v.meter, v
	case hasW:
		v := &meterW{base, wd}
		return &v.meter, v
	}
	v := &meterNone{base}
	return &v.meter, v
}
