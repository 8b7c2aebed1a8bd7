package host

import (
	"net/textproto"
	"testing"
)

func TestCanonicalHeaderKey(t *testing.T) {
	for _, s := range []string{"content-type", "Content-Type", "CONTENT-TYPE", "x-b", "a--b",
		"-x", "x_y-z", "WWW-Authenticate", "bad name", "", "ünïcode", "1-a"} {
		if got, want := CanonicalHeaderKey(s), textproto.CanonicalMIMEHeaderKey(s); got != want {
			t.Errorf("CanonicalHeaderKey(%q) = %q, textproto says %q", s, got, want)
		}
	}
}
