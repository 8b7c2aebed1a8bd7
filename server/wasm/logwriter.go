package wasm

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/bubblewasm/bubblewasm/abi"
)

// maxLogLine caps one record of guest output, as the ABI's log import is
// capped: a longer line is cut and marked (abi.CutLogPrefix), and the rest
// of it is discarded, never buffered.
const maxLogLine = abi.MaxLogBytes

// lineLogger turns a guest's stdout or stderr into log records, one a line.
// Its records go through the route's logger, whose log budget (see
// server/internal/ratelog) every line counts against.
type lineLogger struct {
	logger *slog.Logger
	ctx    context.Context // the exchange's, while one runs: records carry its request id
	level  slog.Level
	stream string
	buf    []byte // the current line's first maxLogLine bytes
	total  int    // the current line's length so far
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		l.buf = append(l.buf, part[:min(len(part), maxLogLine-len(l.buf))]...)
		l.total += len(part)
		if i < 0 {
			break
		}
		p = p[i+1:]
		l.emit()
	}
	return n, nil
}

// flush emits a last line that had no newline.
func (l *lineLogger) flush() {
	if l.total > 0 {
		l.emit()
	}
}

func (l *lineLogger) emit() {
	line, total := l.buf, l.total
	if total == len(line) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		total = len(line)
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	l.logger.Log(ctx, l.level, abi.CutLogPrefix(line, total, maxLogLine), "stream", l.stream)
	l.buf, l.total = l.buf[:0], 0
}
