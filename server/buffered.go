package server

import (
	"bytes"
	"net/http"
)

// BufferedWriter is a ResponseWriter that keeps the whole output in memory,
// for transports that send it in one piece once the exchange is over (a
// JSON-RPC result, an AMQP reply). The zero value is ready to use and
// unbounded.
type BufferedWriter struct {
	// Max, when above 0, bounds the output: a Write that would pass it
	// writes nothing and returns TooLarge.
	Max int64
	// TooLarge is the error of a Write past Max; it should wrap
	// ErrTooLarge.
	TooLarge error

	buf       bytes.Buffer
	header    http.Header
	sent      http.Header // header as committed
	status    int
	committed bool
	err       error
}

func (w *BufferedWriter) commit() {
	if !w.committed {
		w.committed = true
		w.sent = w.header.Clone()
	}
}

// Write appends p to the output, committing the metadata.
func (w *BufferedWriter) Write(p []byte) (int, error) {
	w.commit()
	if w.Max > 0 && int64(w.buf.Len()+len(p)) > w.Max {
		w.err = w.TooLarge
		return 0, w.err
	}
	return w.buf.Write(p)
}

// Header returns the header map that the first Write or Flush commits.
func (w *BufferedWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

// SetStatus sets the status until the metadata is committed.
func (w *BufferedWriter) SetStatus(code int) bool {
	if w.committed {
		return false
	}
	w.status = code
	return true
}

// Committed reports whether Write or Flush was called.
func (w *BufferedWriter) Committed() bool { return w.committed }

// Flush commits the metadata; the output stays in memory.
func (w *BufferedWriter) Flush() error { w.commit(); return nil }

// Bytes returns the output.
func (w *BufferedWriter) Bytes() []byte { return w.buf.Bytes() }

// Status returns the status set, 200 if none was.
func (w *BufferedWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Sent returns the header as it was committed (nil before that), which the
// handler can no longer change.
func (w *BufferedWriter) Sent() http.Header { return w.sent }

// Err returns the error of a Write past Max, if there was one.
func (w *BufferedWriter) Err() error { return w.err }

var _ ResponseWriter = (*BufferedWriter)(nil)
