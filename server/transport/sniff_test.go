package transport

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// sniffAll feeds in to a fresh sniffer in pieces cut by split and returns
// the sniffer.
func sniffAll(in string, split func(rest string) int) *framingSniffer {
	s, _ := sniffOut(in, split, 0)
	return s
}

// sniffOut is sniffAll with a header limit; it also returns the bytes the
// sniffer handed on.
func sniffOut(in string, split func(rest string) int, maxHead int) (*framingSniffer, string) {
	s := newFramingSniffer(maxHead)
	var out strings.Builder
	for len(in) > 0 {
		n := min(max(split(in), 1), len(in))
		b := []byte(in[:n])
		out.Write(b[:s.observe(b)])
		in = in[n:]
	}
	return s, out.String()
}

// feedings are the ways a connection can deliver bytes: all at once, one
// byte per read, and random cuts.
func feedings(seed uint64) map[string]func(string) int {
	r := rand.New(rand.NewPCG(seed, 7))
	return map[string]func(string) int{
		"whole":     func(s string) int { return len(s) },
		"bytewise":  func(string) int { return 1 },
		"random":    func(string) int { return 1 + r.IntN(17) },
		"crlfsplit": func(s string) int { i := strings.Index(s, "\r"); return i + 1 },
	}
}

const (
	get1     = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
	smuggle  = "POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"
	smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
)

func TestFramingSniffer(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		requests int64 // header blocks the sniffer must have counted
		first    int64 // 1-based request flagged first; 0 = none
	}{
		{"one GET", get1, 1, 0},
		{"pipelined GETs", get1 + get1 + get1, 3, 0},
		{"bare LF lines", "GET / HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\nHost: x\n\n", 2, 0},
		{"leading empty lines", "\r\n\r\n" + get1, 1, 0},
		{"TE and CL", smuggle + smuggled, 1, 1},
		{"TE and CL on the third", get1 + get1 + smuggle + smuggled, 3, 3},
		{"CL before TE, odd case", get1 + "POST / HTTP/1.1\r\ncontent-LENGTH: 3\r\nHost: x\r\ntransfer-encoding: Chunked\r\n\r\n0\r\n\r\n", 2, 2},
		{"TE other than chunked with CL", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 1, 1},
		// Bodies are skipped, whatever they look like.
		{"CL body that looks like a smuggle", "POST / HTTP/1.1\r\nContent-Length: " + itoa(len(smuggle)) + "\r\n\r\n" + smuggle + get1, 2, 0},
		{"CL zero", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n" + get1, 2, 0},
		{"chunked body that looks like a smuggle",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(len(smuggle)) + "\r\n" + smuggle + "\r\n0\r\n\r\n" + get1, 2, 0},
		{"chunk extensions and trailers",
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"5;name=value\r\nhello\r\n" +
				"A ; quoted=\"a;b\"\r\n0123456789\r\n" +
				"0;last\r\nX-Trailer: 1\r\nContent-Length: 99\r\n\r\n" + get1 + smuggle, 3, 3},
		{"chunk data with CRLF inside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n" + get1, 2, 0},
		{"uppercase hex size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1F\r\n" + strings.Repeat("z", 31) + "\r\n0\r\n\r\n" + smuggle, 2, 2},
		// Where net/http and the sniffer might read the framing differently,
		// the request is flagged so its connection closes after it.
		{"folded Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello" + smuggle + smuggled, 1, 1},
		{"folded Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggle + smuggled, 1, 1},
		{"HTTP/1.0 with Transfer-Encoding", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggle + smuggled, 1, 1},
		{"HTTP/1.0 without Transfer-Encoding", "POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi" + get1, 2, 0},
		{"folded ordinary header", "GET / HTTP/1.1\r\nX-Long: a\r\n b\r\n\r\n" + get1, 1, 1},
	}
	for _, c := range cases {
		for name, split := range feedings(uint64(len(c.in))) {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				s := sniffAll(c.in, split)
				if got := s.first.Load(); got != c.first {
					t.Fatalf("first smuggling request = %d, want %d", got, c.first)
				}
				if s.index != c.requests {
					t.Fatalf("counted %d requests, want %d", s.index, c.requests)
				}
				for n := int64(1); n <= c.requests+1; n++ {
					want := c.first != 0 && n >= c.first
					if s.smuggled(n) != want {
						t.Fatalf("smuggled(%d) = %v, want %v", n, !want, want)
					}
				}
			})
		}
	}
}

// TestFramingSnifferFollowsAcrossManyRequests checks that long pipelines of
// mixed framings stay in step byte for byte.
func TestFramingSnifferFollowsAcrossManyRequests(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	const n = 200
	for i := range n {
		body := strings.Repeat("x\r\n", r.IntN(50))
		switch i % 3 {
		case 0:
			b.WriteString(get1)
		case 1:
			b.WriteString("POST / HTTP/1.1\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
		case 2:
			b.WriteString("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
			for len(body) > 0 {
				k := min(len(body), 1+r.IntN(9))
				b.WriteString(hex(k) + ";i=" + itoa(i) + "\r\n" + body[:k] + "\r\n")
				body = body[k:]
			}
			b.WriteString("0\r\nT: v\r\n\r\n")
		}
	}
	b.WriteString(smuggle)
	for name, split := range feedings(3) {
		s := sniffAll(b.String(), split)
		if s.index != n+1 || s.first.Load() != n+1 {
			t.Fatalf("%s: counted %d requests, first smuggle %d; want %d and %d", name, s.index, s.first.Load(), n+1, n+1)
		}
	}
}

func TestFramingSnifferStopsOnGarbage(t *testing.T) {
	// Framing the sniffer cannot follow stops it and makes the request being
	// read the connection's last, whatever net/http makes of it.
	for _, c := range []struct {
		in   string
		last int64
	}{
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + get1, 1},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n" + get1, 1},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n" + get1, 0},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n" + get1, 1},
		{get1 + "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\n" + get1, 2},
		{"GET / HTTP/1.1\r\n" + strings.Repeat("a", maxSniffLine+10), 1},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxSniffLine+10), 1},
	} {
		s := sniffAll(c.in, func(string) int { return 4096 })
		if c.last == 0 {
			continue // " 3" is read as 3 by the sniffer; net/http refuses it, which ends the connection too
		}
		if s.state != sniffDone {
			t.Errorf("%.40q...: state %v, want sniffDone", c.in, s.state)
		}
		if s.smuggled(c.last-1) || !s.smuggled(c.last) {
			t.Errorf("%.40q...: first request that ends the connection %d, want %d", c.in, s.first.Load(), c.last)
		}
	}
}

func TestFramingSnifferLeadingBlankLines(t *testing.T) {
	cases := []struct{ in, out string }{
		{"\r\n" + get1, get1},
		{"\n" + get1, get1},
		{"\r\n\r\n\r\n\r\n" + get1, get1},
		// Past four empty lines the bytes go through: net/http answers 400.
		{"\r\n\r\n\r\n\r\n\r\n" + get1, "\r\n" + get1},
		// Each request of a pipeline gets its own allowance, and body bytes
		// are never touched.
		{get1 + "\r\n" + get1, get1 + get1},
		{"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n\r\n" + get1, "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\r\n" + get1},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\r\n\r\n0\r\n\r\n\r\n" + get1,
			"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\r\n\r\n0\r\n\r\n" + get1},
	}
	for _, c := range cases {
		for name, split := range feedings(uint64(len(c.in))) {
			s, out := sniffOut(c.in, split, 0)
			if out != c.out {
				t.Errorf("%q (%s): handed on %q, want %q", c.in, name, out, c.out)
			}
			if s.smuggled(10) {
				t.Errorf("%q (%s): flagged", c.in, name)
			}
		}
	}
}

func TestFramingSnifferHeaderSize(t *testing.T) {
	req := func(n int) string { // a request whose header block is n bytes
		base := "GET / HTTP/1.1\r\nX: \r\n\r\n"
		return "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", n-len(base)) + "\r\n\r\n"
	}
	for _, c := range []struct {
		in       string
		oversize int64
	}{
		{req(100), 0},
		{req(101), 1},
		{"\r\n\r\n" + req(100), 0}, // removed blank lines do not count
		{req(100) + req(100) + req(101) + req(90), 3},
		{"POST / HTTP/1.1\r\nContent-Length: 200\r\n\r\n" + strings.Repeat("b", 200) + req(100), 0},
	} {
		for name, split := range feedings(5) {
			s, _ := sniffOut(c.in, split, 100)
			if got := s.oversize.Load(); got != c.oversize {
				t.Errorf("%.30q (%s): first oversized request %d, want %d", c.in, name, got, c.oversize)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
func hex(n int) string  { return strconv.FormatInt(int64(n), 16) }
