package transport

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzFramingSniffer feeds arbitrary connection bytes to the sniffer whole
// and cut into pieces. Properties: it never panics; what it hands on is the
// input with only CR and LF bytes removed, at most maxLeadingBlank of them
// per request; and how the bytes were cut changes nothing.
func FuzzFramingSniffer(f *testing.F) {
	for _, s := range []string{
		get1, smuggle + smuggled, "\r\n\r\n" + get1,
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n" + get1,
		"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\r\n" + get1,
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + get1,
		"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(1), uint16(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut1, cut2 uint16) {
		whole := newFramingSniffer(64)
		buf := bytes.Clone(in)
		out := buf[:whole.observe(buf)]
		if removed := len(in) - len(out); removed < 0 || removed > maxLeadingBlank*(int(whole.index)+1) {
			t.Fatalf("removed %d bytes over %d requests", removed, whole.index)
		}
		// out must be in with some CR/LF bytes left out.
		j := 0
		for i := 0; i < len(in); i++ {
			if j < len(out) && in[i] == out[j] {
				j++
			} else if in[i] != '\r' && in[i] != '\n' {
				t.Fatalf("byte %d (%q) was removed", i, in[i])
			}
		}
		if j != len(out) {
			t.Fatalf("handed on bytes that were not in the input")
		}
		pieces := newFramingSniffer(64)
		var got []byte
		sizes := []int{int(cut1%64) + 1, int(cut2%64) + 1}
		for k, rest := 0, bytes.Clone(in); len(rest) > 0; k++ {
			n := min(sizes[k%2], len(rest))
			p := rest[:n]
			got = append(got, p[:pieces.observe(p)]...)
			rest = rest[n:]
		}
		if !bytes.Equal(got, out) || pieces.index != whole.index || pieces.first.Load() != whole.first.Load() ||
			pieces.oversize.Load() != whole.oversize.Load() {
			t.Fatalf("cut into pieces: %q, %d requests, first %d, oversize %d; whole: %q, %d, %d, %d",
				got, pieces.index, pieces.first.Load(), pieces.oversize.Load(), out, whole.index, whole.first.Load(), whole.oversize.Load())
		}
	})
}

// FuzzCleanPath: a cleaned path has no dot segment and no NUL, keeps its
// leading slash, and cleaning it again changes nothing.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/a/../b", "/..", "/./a/.", "/a/b/..", "//a//../b", "/.a/..b/...", "*", "", "a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := cleanPath(p)
		if err != nil {
			if !strings.Contains(p, "..") && strings.IndexByte(p, 0) < 0 {
				t.Fatalf("cleanPath(%q) refused a path without .. or NUL: %v", p, err)
			}
			return
		}
		if strings.IndexByte(c, 0) >= 0 {
			t.Fatalf("cleanPath(%q) = %q holds a NUL", p, c)
		}
		if strings.HasPrefix(p, "/") != strings.HasPrefix(c, "/") {
			t.Fatalf("cleanPath(%q) = %q: leading slash changed", p, c)
		}
		if strings.HasPrefix(c, "/") {
			for _, seg := range strings.Split(c[1:], "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("cleanPath(%q) = %q keeps a dot segment", p, c)
				}
			}
		}
		if again, err := cleanPath(c); err != nil || again != c {
			t.Fatalf("cleanPath(%q) = %q, but cleanPath(%q) = %q, %v", p, c, c, again, err)
		}
	})
}
