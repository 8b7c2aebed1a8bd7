package abi_test

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
)

func TestResponseHeaderBudget(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		h := map[string][]string{"Connection": {"close"}} // the host's own: not counted
		r := abi.ResponseHeader{Limits: abi.HeaderLimits{MaxCount: 3}}
		for i := range 3 {
			if code := r.Apply(h, "X-A", "v", true); code != 0 {
				t.Fatalf("add %d: %d", i+1, code)
			}
		}
		if code := r.Apply(h, "X-B", "v", true); code != abi.ErrTooLarge {
			t.Fatalf("fourth value: %d, want ERR_TOO_LARGE", code)
		}
		if len(h["X-B"]) != 0 {
			t.Fatal("a refused header reached the map")
		}
		// Replacing three values with one frees two.
		if code := r.Apply(h, "x-a", "w", false); code != 0 {
			t.Fatalf("set: %d", code)
		}
		for i := range 2 {
			if code := r.Apply(h, "X-C", "v", true); code != 0 {
				t.Fatalf("add after set %d: %d", i+1, code)
			}
		}
		if code := r.Apply(h, "X-C", "v", true); code != abi.ErrTooLarge {
			t.Fatalf("over the cap after set: %d", code)
		}
		if got := strings.Join(h["X-A"], ","); got != "w" {
			t.Fatalf("X-A = %q", got)
		}
		if h["Connection"][0] != "close" {
			t.Fatal("host header changed")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		h := map[string][]string{}
		r := abi.ResponseHeader{Limits: abi.HeaderLimits{MaxBytes: 100}}
		big := strings.Repeat("v", 100)
		if code := r.Apply(h, "X-Big", big, true); code != abi.ErrTooLarge {
			t.Fatalf("a value bigger than the budget: %d", code)
		}
		v := strings.Repeat("v", 100-len("X-A")-4)
		if code := r.Apply(h, "X-A", v, true); code != 0 {
			t.Fatalf("a value that fills the budget exactly: %d", code)
		}
		if code := r.Apply(h, "X-B", "", true); code != abi.ErrTooLarge {
			t.Fatalf("one more empty value: %d", code)
		}
		if code := r.Apply(h, "X-A", "short", false); code != 0 {
			t.Fatalf("replacing with a shorter value: %d", code)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		h := map[string][]string{}
		var r abi.ResponseHeader
		n := 0
		for r.Apply(h, "Set-Cookie", "a=b", true) == 0 {
			n++
			if n > 10*abi.DefaultMaxResponseHeaders {
				t.Fatal("no default count limit")
			}
		}
		if n != abi.DefaultMaxResponseHeaders {
			t.Fatalf("default count limit %d, want %d", n, abi.DefaultMaxResponseHeaders)
		}
		var r2 abi.ResponseHeader
		h = map[string][]string{}
		kib := strings.Repeat("v", 1024)
		n = 0
		for r2.Apply(h, "X", kib, true) == 0 {
			n++
		}
		if n*(1024+5) > abi.DefaultMaxResponseHeaderBytes || (n+1)*(1024+5) <= abi.DefaultMaxResponseHeaderBytes {
			t.Fatalf("%d KiB values fit the default byte budget", n)
		}
	})
	t.Run("one Content-Length", func(t *testing.T) {
		h := map[string][]string{}
		var r abi.ResponseHeader
		if code := r.Apply(h, "content-length", "5", true); code != 0 {
			t.Fatal(code)
		}
		if code := r.Apply(h, "Content-Length", "6", true); code != abi.ErrInvalid {
			t.Fatalf("a second Content-Length: %d, want ERR_INVALID", code)
		}
		if code := r.Apply(h, "Content-Length", "5", true); code != abi.ErrInvalid {
			t.Fatalf("the same Content-Length twice: %d, want ERR_INVALID", code)
		}
		if code := r.Apply(h, "Content-Length", "6", false); code != 0 {
			t.Fatalf("replacing Content-Length: %d", code)
		}
		if got := strings.Join(h["Content-Length"], ","); got != "6" {
			t.Fatalf("Content-Length = %q", got)
		}
	})
}

func TestCheckResponseHeader(t *testing.T) {
	ok := [][2]string{{"X-A", "v"}, {"Content-Length", "0"}, {"Set-Cookie", "a=b; Path=/"}, {"X-Tab", "a\tb"}, {"X-Obs", "\x80\xff"}}
	bad := [][2]string{
		{"Connection", "close"}, {"Transfer-Encoding", "chunked"}, {"tE", "trailers"}, {"Upgrade", "h2c"},
		{"Trailer", "X"}, {"Keep-Alive", "timeout=5"}, {"Proxy-Connection", "keep-alive"},
		{"Content-Length", "5, 6"}, {"Content-Length", "-0"}, {"Content-Length", "00"},
		{"X-Esc", "\x1b"}, {"X-Del", "\x7f"}, {"X-Nul", "\x00"}, {"", "v"}, {"Bad Name", "v"},
	}
	for _, c := range ok {
		if code := abi.CheckResponseHeader([]byte(c[0]), []byte(c[1])); code != 0 {
			t.Errorf("%q: %q refused (%d)", c[0], c[1], code)
		}
	}
	for _, c := range bad {
		if code := abi.CheckResponseHeader([]byte(c[0]), []byte(c[1])); code != abi.ErrInvalid {
			t.Errorf("%q: %q accepted (%d)", c[0], c[1], code)
		}
	}
}
