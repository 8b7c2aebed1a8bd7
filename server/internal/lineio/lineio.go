// Package lineio reads newline-terminated lines of bounded length from a
// bufio.Reader: the framing that the line-based transports (server/transport)
// and the outbound line calls (server/dial) share.
package lineio

import (
	"bufio"
	"errors"
	"io"
)

// ErrTooLong reports a line over the limit.
var ErrTooLong = errors.New("line too long")

// Read reads one line, its "\n" included, of at most max bytes. When the
// input ends or fails first, it returns what it read with the error (io.EOF
// at the end). A longer line is ErrTooLong, and r is left inside it: for
// callers that give up on the connection.
func Read(r *bufio.Reader, max int) ([]byte, error) {
	line, over, err := read(r, max)
	if over {
		return nil, ErrTooLong
	}
	return line, err
}

// ReadOrSkip is Read for callers that carry on after a line over max bytes:
// the rest of that line is read and dropped before ErrTooLong is returned,
// so the next read starts at the next line. When reading fails other than at
// the end of the input, that error is returned instead.
func ReadOrSkip(r *bufio.Reader, max int) ([]byte, error) {
	line, over, err := read(r, max)
	if !over {
		return line, err
	}
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = r.ReadSlice('\n')
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return nil, ErrTooLong
}

// read reads up to the end of a line. When the line is over max bytes it
// stops and reports over, with the error of the read that went past the
// limit: bufio.ErrBufferFull when the line goes on.
func read(r *bufio.Reader, max int) (line []byte, over bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, true, err
		}
		line = append(line, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, false, err
		}
	}
}
