package transport

import (
	"bytes"
	"strconv"
	"sync/atomic"
)

// framingSniffer follows the HTTP/1 message framing of the bytes a
// connection delivers to net/http, to spot a request that carries both
// Transfer-Encoding and Content-Length. net/http drops Content-Length from
// such a request (Transfer-Encoding wins) and then keeps the connection
// open, which lets a front proxy that framed by Content-Length smuggle a
// second request. The sniffer only observes; net/http stays the parser, and
// where the two could disagree (malformed input) net/http rejects the
// request and closes the connection anyway. Requests whose framing the two
// might read differently while net/http accepts them (folded header lines,
// HTTP/1.0 with Transfer-Encoding) are flagged the same way.
type framingSniffer struct {
	state   sniffState
	line    []byte
	left    int64 // body or chunk bytes still to skip
	index   int64 // requests whose header block was seen
	te, cl  bool
	chunked bool
	http10  bool         // the request is HTTP/1.0: net/http ignores its Transfer-Encoding
	unsure  bool         // a header the sniffer may read differently from net/http
	first   atomic.Int64 // 1-based index of the first smuggling request, 0 = none
}

type sniffState int

const (
	sniffStart   sniffState = iota // before a request line
	sniffHeaders                   // in the header block
	sniffBody                      // skipping a Content-Length body
	sniffChunkSize
	sniffChunkData
	sniffChunkEnd // the CRLF after chunk data
	sniffTrailers
	sniffDone // stopped following
)

const maxSniffLine = 1 << 20

func newFramingSniffer() *framingSniffer { return &framingSniffer{} }

// smuggled reports whether the n-th request (1-based) on the connection, or
// one before it, had both Transfer-Encoding and Content-Length.
func (s *framingSniffer) smuggled(n int64) bool {
	f := s.first.Load()
	return f != 0 && f <= n
}

func (s *framingSniffer) observe(p []byte) {
	for len(p) > 0 && s.state != sniffDone {
		switch s.state {
		case sniffBody, sniffChunkData:
			n := min(int64(len(p)), s.left)
			s.left -= n
			p = p[n:]
			if s.left == 0 {
				if s.state == sniffBody {
					s.state = sniffStart
				} else {
					s.state = sniffChunkEnd
				}
			}
		default:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				s.line = append(s.line, p...)
				if len(s.line) > maxSniffLine {
					s.state = sniffDone
				}
				return
			}
			s.line = append(s.line, p[:i]...)
			p = p[i+1:]
			s.endLine(bytes.TrimSuffix(s.line, []byte("\r")))
			s.line = s.line[:0]
		}
	}
}

func (s *framingSniffer) endLine(l []byte) {
	switch s.state {
	case sniffStart:
		if len(l) > 0 { // empty lines before a request are allowed
			s.state, s.te, s.cl, s.chunked, s.left, s.unsure = sniffHeaders, false, false, false, 0, false
			_, rest, _ := bytes.Cut(l, []byte(" "))
			_, proto, _ := bytes.Cut(rest, []byte(" "))
			s.http10 = string(proto) == "HTTP/1.0"
		}
	case sniffHeaders:
		if len(l) > 0 {
			if l[0] == ' ' || l[0] == '\t' {
				// obs-fold: net/http appends the line to the previous
				// field's value, which the sniffer does not.
				s.unsure = true
				return
			}
			s.header(l)
			return
		}
		s.index++
		switch {
		case s.te && (s.cl || s.http10), s.unsure:
			// Framing the sniffer cannot vouch for (RFC 9112 §6.1 asks to
			// close after an HTTP/1.0 request with Transfer-Encoding too).
			s.first.CompareAndSwap(0, s.index)
			s.state = sniffDone // the connection closes after this request
		case s.chunked:
			s.state = sniffChunkSize
		case s.left > 0:
			s.state = sniffBody
		default:
			s.state = sniffStart
		}
	case sniffChunkSize:
		size, _, _ := bytes.Cut(l, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		switch {
		case err != nil || n < 0:
			s.state = sniffDone
		case n == 0:
			s.state = sniffTrailers
		default:
			s.state, s.left = sniffChunkData, n
		}
	case sniffChunkEnd:
		s.state = sniffChunkSize
		if len(l) != 0 {
			s.state = sniffDone
		}
	case sniffTrailers:
		if len(l) == 0 {
			s.state = sniffStart
		}
	}
}

func (s *framingSniffer) header(l []byte) {
	name, value, ok := bytes.Cut(l, []byte(":"))
	if !ok {
		return
	}
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		s.te = true
		s.chunked = bytes.EqualFold(value, []byte("chunked"))
	case bytes.EqualFold(name, []byte("Content-Length")):
		s.cl = true
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 {
			// net/http answers 400 and closes, unless a folded line
			// completes the value.
			s.unsure = true
			return
		}
		s.left = n
	}
}
