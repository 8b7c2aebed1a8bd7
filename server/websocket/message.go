package websocket

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// messageReader is a message exchange's input.
type messageReader struct {
	data []byte
	off  int
}

func (r *messageReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

// messageWriter collects a message exchange's output, which is sent as one
// message when the exchange ends. Its status is ignored; its headers may
// say which channels to follow.
type messageWriter struct {
	buf       bytes.Buffer
	header    http.Header
	max       int64
	committed bool
	err       error // the output exceeded max
}

func (w *messageWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *messageWriter) SetStatus(int) bool { return !w.committed }

func (w *messageWriter) Committed() bool { return w.committed }

func (w *messageWriter) Flush() error {
	w.committed = true
	return nil
}

func (w *messageWriter) Write(p []byte) (int, error) {
	w.committed = true
	if int64(w.buf.Len())+int64(len(p)) > w.max {
		w.err = fmt.Errorf("the output exceeds the largest message, %d bytes", w.max)
		return 0, w.err
	}
	return w.buf.Write(p)
}
