package transport

import (
	"strings"
	"testing"
)

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
