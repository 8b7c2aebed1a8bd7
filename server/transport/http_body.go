package transport

import (
	"errors"
	"fmt"
	"io"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Errors of a request body's framing. Each ends the connection: what
// follows a body that broke cannot be told from a request.
var (
	errChunkSize        = errors.New("malformed chunk size")
	errChunkLineTooLong = errors.New("chunk line too long")
	errChunkEnd         = errors.New("chunk data not followed by CRLF")
	errBareLF           = errors.New("chunked encoding line not ended by CRLF")
	errChunkOverhead    = errors.New("chunked encoding holds too much framing for its data")
	errBadTrailer       = errors.New("malformed trailer field")
	errTrailerTooLarge  = errors.New("trailer section too large")
)

// Body framings.
const (
	bodyNone = iota
	bodyLength
	bodyChunked
)

// Chunked decoding states (RFC 9112 §7.1).
const (
	chunkSize    = iota // at a chunk-size line
	chunkData           // inside chunk data: left bytes to go
	chunkDataEnd        // at the CRLF after chunk data
	chunkTrailer        // in the trailer section
)

// rawBody reads a request body off its connection by its framing.
type rawBody struct {
	c       *httpConn
	framing int
	left    int64 // Content-Length bytes, or chunk data bytes, still to read
	state   int   // chunked only
	excess  int64 // chunked framing bytes not yet paid for by data
	trailer int   // trailer bytes read
	done    bool  // the framing says the body has ended
}

func (b *rawBody) reset(c *httpConn, r *request) {
	*b = rawBody{c: c}
	switch {
	case r.chunked:
		b.framing = bodyChunked
	case r.length > 0:
		b.framing, b.left = bodyLength, r.length
	default:
		b.done = true
	}
}

func (b *rawBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.framing == bodyLength {
		n, err := b.c.readBody(p[:min(int64(len(p)), b.left)])
		b.left -= int64(n)
		if b.left == 0 {
			b.done = true
			return n, nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	return b.readChunked(p)
}

// readChunked decodes chunked framing strictly: chunk-size is hex digits,
// optionally followed by whitespace and extensions (discarded), and every
// line ends in CRLF. Extensions and trailers are bounded: a chunk line
// must fit in maxChunkLine, trailers in MaxHeaderBytes, and framing bytes
// beyond 16 per chunk plus twice the data may not add up to more than
// 16 KiB (a sender drowning one byte of data in extensions).
func (b *rawBody) readChunked(p []byte) (int, error) {
	for {
		switch b.state {
		case chunkSize:
			line, err := b.c.readLine()
			if err != nil {
				return 0, err
			}
			n, err := parseChunkSize(line)
			if err != nil {
				return 0, err
			}
			b.excess += int64(len(line)) + 4 - 16 - 2*min(n, 1<<20)
			b.excess = max(b.excess, 0)
			if b.excess > 16<<10 {
				return 0, errChunkOverhead
			}
			if n == 0 {
				b.state = chunkTrailer
				continue
			}
			b.state, b.left = chunkData, n
		case chunkData:
			n, err := b.c.readBody(p[:min(int64(len(p)), b.left)])
			b.left -= int64(n)
			if b.left == 0 {
				b.state = chunkDataEnd
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		case chunkDataEnd:
			for b.c.w-b.c.r < 2 {
				if err := b.c.fill(); err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return 0, err
				}
			}
			if b.c.rbuf[b.c.r] != '\r' || b.c.rbuf[b.c.r+1] != '\n' {
				return 0, errChunkEnd
			}
			b.c.r += 2
			b.state = chunkSize
		case chunkTrailer:
			line, err := b.c.readLine()
			if err != nil {
				return 0, err
			}
			if len(line) == 0 {
				b.done = true
				return 0, io.EOF
			}
			if b.trailer += len(line) + 2; b.trailer > b.c.t.opts.MaxHeaderBytes {
				return 0, errTrailerTooLarge
			}
			if !validTrailer(line) {
				return 0, errBadTrailer
			}
		}
	}
}

// parseChunkSize reads a chunk-size line: 1 to 15 hex digits (so the size
// fits in 60 bits), then either chunk extensions right after the digits,
// which may hold no control byte other than HTAB, or trailing whitespace.
// (Whitespace before ";" is valid (BWS) but net/http refuses it: so does
// the transport, so the two never frame a body differently.)
func parseChunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line) && isHex(line[i]); i++ {
		if i == 15 {
			return 0, errChunkSize
		}
		n = n<<4 | int64(unhex(line[i]))
	}
	if i == 0 {
		return 0, errChunkSize
	}
	rest := line[i:]
	if len(rest) > 0 && rest[0] == ';' {
		if !validFieldValue(string(rest)) {
			return 0, errChunkSize
		}
		return n, nil
	}
	for _, c := range rest {
		if c != ' ' && c != '\t' {
			return 0, errChunkSize
		}
	}
	return n, nil
}

// validTrailer reports whether line is a well-formed field line.
func validTrailer(line []byte) bool {
	for i, c := range line {
		if c == ':' {
			return i > 0 && isToken(string(line[:i])) && validFieldValue(string(line[i+1:]))
		}
	}
	return false
}

// requestBody is a request body as its handler reads it: it remembers
// whether the body ended cleanly and its first error, which decide whether
// the connection may carry another request; it sends 100 Continue at the
// first read when the client waits for one.
type requestBody struct {
	c       *httpConn
	r       io.Reader // the rawBody, or a limitReader over it
	eof     bool
	err     error
	touched bool // the handler read from it
	expect  bool // 100 Continue is owed at the first read
	done    bool // the connection was told the body's bytes are all read
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.touched = true
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expect {
		b.expect = false
		if !b.c.resp.sent {
			// RFC 9110 §10.1.1: the client holds the body back until
			// it hears the server wants it.
			if err := b.c.write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
				b.err = err
				return 0, err
			}
		}
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.err = err
	}
	if b.c.raw.done && !b.done {
		// The framing is done: the connection can be watched for the
		// client going away from now on.
		b.done = true
		b.c.watchBodyDone()
	}
	return n, err
}

// limitReader fails reads past a body limit with abi.ErrInputTooLarge.
type limitReader struct {
	r    io.Reader
	left int64
	max  int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte: a body of exactly the limit is fine.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%w: the request body exceeds %d bytes: %w", server.ErrTooLarge, l.max, abi.ErrInputTooLarge)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
