package transport

import (
	"bytes"
	"strconv"
	"sync/atomic"
)

// framingSniffer follows the HTTP/1 message framing of the bytes a
// connection delivers to net/http. net/http stays the parser; the sniffer
// only observes, and sees to three things net/http does not:
//
//   - A request that carries both Transfer-Encoding and Content-Length.
//     net/http drops Content-Length (Transfer-Encoding wins) and keeps the
//     connection open, which lets a front proxy that framed by
//     Content-Length smuggle a second request. Such a request, and any
//     whose framing the sniffer cannot vouch for (folded header lines,
//     HTTP/1.0 with Transfer-Encoding, a chunk line it cannot parse), closes
//     the connection after its response.
//   - The exact size of each header block: net/http lets MaxHeaderBytes +
//     4096 bytes through; the transport holds requests to the configured
//     number.
//   - Empty lines before a request line, which RFC 9112 §2.2 asks a server
//     to ignore and net/http answers with 400: observe removes up to
//     maxLeadingBlank of their bytes before net/http sees them.
type framingSniffer struct {
	state    sniffState
	line     []byte
	left     int64 // body or chunk bytes still to skip
	index    int64 // requests whose header block was seen
	head     int64 // bytes of the current header block so far
	maxHead  int64 // header blocks longer than this are oversized
	blank    int   // leading blank-line bytes removed before this request
	te, cl   bool
	chunked  bool
	http10   bool         // the request is HTTP/1.0: net/http ignores its Transfer-Encoding
	unsure   bool         // a header the sniffer may read differently from net/http
	first    atomic.Int64 // 1-based index of the first request that must close the connection, 0 = none
	oversize atomic.Int64 // 1-based index of the first oversized header block, 0 = none
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

const (
	maxSniffLine = 1 << 20
	// maxLeadingBlank is how many bytes of CR and LF before a request line
	// are ignored: four empty lines.
	maxLeadingBlank = 8
)

// newFramingSniffer returns a sniffer for one connection whose header
// blocks may hold maxHeaderBytes bytes (request line and final CRLF
// included).
func newFramingSniffer(maxHeaderBytes int) *framingSniffer {
	return &framingSniffer{maxHead: int64(maxHeaderBytes)}
}

// smuggled reports whether the n-th request (1-based) on the connection, or
// one before it, must close the connection: both Transfer-Encoding and
// Content-Length, or framing the sniffer could not follow.
func (s *framingSniffer) smuggled(n int64) bool {
	f := s.first.Load()
	return f != 0 && f <= n
}

// oversized reports whether the n-th request's header block, or an earlier
// one's, was longer than the limit.
func (s *framingSniffer) oversized(n int64) bool {
	f := s.oversize.Load()
	return f != 0 && f <= n
}

// observe follows buf, the bytes just read, and returns how many of them
// to hand on: leading empty lines of a request are removed from buf in
// place, the bytes after them moved down.
func (s *framingSniffer) observe(buf []byte) int {
	w, i := 0, 0 // buf[:w] is handed on; buf[i:] is still to follow
	keep := func(n int) {
		if w != i {
			copy(buf[w:], buf[i:i+n])
		}
		w, i = w+n, i+n
	}
	for i < len(buf) && s.state != sniffDone {
		switch s.state {
		case sniffBody, sniffChunkData:
			n := int(min(int64(len(buf)-i), s.left))
			keep(n)
			s.left -= int64(n)
			if s.left == 0 {
				if s.state == sniffBody {
					s.state = sniffStart
				} else {
					s.state = sniffChunkEnd
				}
			}
			continue
		case sniffStart:
			if len(s.line) == 0 && s.blank < maxLeadingBlank && (buf[i] == '\r' || buf[i] == '\n') {
				s.blank++
				i++
				continue
			}
		}
		inHead := s.state == sniffStart || s.state == sniffHeaders
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			s.line = append(s.line, buf[i:]...)
			if inHead {
				s.head += int64(len(buf) - i)
			}
			keep(len(buf) - i)
			if len(s.line) > maxSniffLine {
				s.lost()
			}
			break
		}
		s.line = append(s.line, buf[i:i+j]...)
		if inHead {
			s.head += int64(j + 1)
		}
		keep(j + 1)
		if len(s.line) > maxSniffLine { // the same however the bytes were cut
			s.lost()
			break
		}
		s.endLine(bytes.TrimSuffix(s.line, []byte("\r")))
		s.line = s.line[:0]
	}
	keep(len(buf) - i) // not followed any more: the rest goes through as is
	return w
}

// lost stops following the connection: its framing is something the sniffer
// cannot vouch for, so the request being read is the last one.
func (s *framingSniffer) lost() {
	current := s.index // in a body: its header block was counted
	if s.state == sniffStart || s.state == sniffHeaders {
		current++
	}
	s.first.CompareAndSwap(0, current)
	s.state = sniffDone
}

func (s *framingSniffer) endLine(l []byte) {
	switch s.state {
	case sniffStart:
		if len(l) == 0 { // an empty line past the ones removed: net/http answers 400
			s.head = 0
			return
		}
		s.state, s.te, s.cl, s.chunked, s.left, s.unsure = sniffHeaders, false, false, false, 0, false
		_, rest, _ := bytes.Cut(l, []byte(" "))
		_, proto, _ := bytes.Cut(rest, []byte(" "))
		s.http10 = string(proto) == "HTTP/1.0"
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
		if s.head > s.maxHead && s.maxHead > 0 {
			s.oversize.CompareAndSwap(0, s.index)
		}
		s.head, s.blank = 0, 0
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
			s.lost()
		case n == 0:
			s.state = sniffTrailers
		default:
			s.state, s.left = sniffChunkData, n
		}
	case sniffChunkEnd:
		s.state = sniffChunkSize
		if len(l) != 0 {
			s.lost()
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
