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
	s := newFramingSniffer()
	for len(in) > 0 {
		n := min(max(split(in), 1), len(in))
		s.observe([]byte(in[:n]))
		in = in[n:]
	}
	return s
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
	// Input net/http rejects (and closes the connection on) may stop the
	// sniffer; it must neither panic nor flag later requests by mistake.
	for _, in := range []string{
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + get1,
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n" + get1,
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n" + get1,
		"GET / HTTP/1.1\r\n" + strings.Repeat("a", maxSniffLine+10),
	} {
		s := sniffAll(in, func(string) int { return 4096 })
		if s.state != sniffDone {
			t.Errorf("%.40q...: state %v, want sniffDone", in, s.state)
		}
		if s.smuggled(100) {
			t.Errorf("%.40q...: flagged a request", in)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
func hex(n int) string  { return strconv.FormatInt(int64(n), 16) }
