package wasm

import (
	"bytes"
	"context"
	"log/slog"
)

// maxLogLine caps one record of guest output; longer lines are split.
const maxLogLine = 8 << 10

// lineLogger turns a guest's stdout or stderr into log records, one a line.
type lineLogger struct {
	logger *slog.Logger
	level  slog.Level
	stream string
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(l.buf)
			if len(p) < room {
				l.buf = append(l.buf, p...)
				return n, nil
			}
			l.buf = append(l.buf, p[:room]...)
			p = p[room:]
			l.emit()
			continue
		}
		l.buf = append(l.buf, p[:i]...)
		p = p[i+1:]
		l.emit()
	}
	return n, nil
}

// flush emits a last line that had no newline.
func (l *lineLogger) flush() {
	if len(l.buf) > 0 {
		l.emit()
	}
}

func (l *lineLogger) emit() {
	l.logger.Log(context.Background(), l.level, string(bytes.TrimSuffix(l.buf, []byte("\r"))), "stream", l.stream)
	l.buf = l.buf[:0]
}
