package dial

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/internal/lineio"
)

// lineDialer calls a worker on a unix or tcp line/json listener: a
// connection per call, one line out, one line back.
type lineDialer struct {
	addr server.Address
	max  int
}

func (d *lineDialer) Close() error { return nil }

func (d *lineDialer) Call(ctx context.Context, req []byte) (Reply, error) {
	msg := req
	if !bytes.HasSuffix(msg, []byte("\n")) {
		msg = append(msg[:len(msg):len(msg)], '\n')
	}
	if bytes.IndexByte(msg[:len(msg)-1], '\n') >= 0 {
		return Reply{}, fmt.Errorf("%w: a request to a line target (%s) must be one line", abi.ErrInvalidName, d.addr)
	}
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	conn, err := d.addr.Dial(ctx)
	if err != nil {
		return Reply{}, ctxError(ctx, fmt.Errorf("cannot reach the worker: %w", err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// A cancelled exchange wakes the blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		return Reply{}, ctxError(ctx, fmt.Errorf("send to %s: %w", d.addr, err))
	}
	line, err := lineio.Read(bufio.NewReader(conn), d.max)
	if errors.Is(err, lineio.ErrTooLong) {
		err = fmt.Errorf("%w: reply over %d bytes", abi.ErrInputTooLarge, d.max)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the worker at %s closed the connection before replying", io.ErrUnexpectedEOF, d.addr)
		}
		return Reply{}, ctxError(ctx, err)
	}
	return Reply{Body: line}, nil
}
