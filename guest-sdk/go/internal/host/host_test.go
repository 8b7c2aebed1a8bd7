package host

import (
	"net/textproto"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
)

func TestCodesMatchABI(t *testing.T) {
	for _, c := range [][2]int32{{ErrNotFound, abi.ErrNotFound}, {ErrInvalid, abi.ErrInvalid},
		{ErrCommitted, abi.ErrCommitted}, {ErrClosed, abi.ErrClosed}, {ErrIO, abi.ErrIO},
		{ErrTimeout, abi.ErrTimeout}, {ErrTooLarge, abi.ErrTooLarge}, {ErrDenied, abi.ErrDenied},
		{MaxSubscriptionID, abi.MaxSubscriptionID}} {
		if c[0] != c[1] {
			t.Errorf("code %d, abi says %d", c[0], c[1])
		}
	}
}

func TestHeaderRulesMatchHost(t *testing.T) {
	for c := range 256 {
		s := string([]byte{byte(c)})
		if ValidHeaderName(s) != abi.ValidHeaderName([]byte(s)) {
			t.Errorf("name byte %#x: %v", c, ValidHeaderName(s))
		}
		if ValidHeaderValue(s) != abi.ValidHeaderValue([]byte(s)) {
			t.Errorf("value byte %#x: %v", c, ValidHeaderValue(s))
		}
	}
	if ValidHeaderName("") {
		t.Error("empty name is valid")
	}
	names := []string{"X-A", "Content-Length", "content-length", "Connection", "KEEP-ALIVE", "Proxy-Connection",
		"Transfer-Encoding", "upgrade", "Trailer", "TE", "te", "Set-Cookie", "bad name", ""}
	values := []string{"", "0", "12", "012", "-1", "1 2", "9999999999999999999", "close", "a\tb", "a\x01", "\x7f", "\x80"}
	for _, n := range names {
		for _, v := range values {
			want := abi.CheckResponseHeader([]byte(n), []byte(v)) == 0
			if got := ResponseHeaderOK(n, v); got != want {
				t.Errorf("ResponseHeaderOK(%q, %q) = %v, the host says %v", n, v, got, want)
			}
		}
	}
}

func TestCanonicalHeaderKey(t *testing.T) {
	for _, s := range []string{"content-type", "Content-Type", "CONTENT-TYPE", "x-b", "a--b",
		"-x", "x_y-z", "WWW-Authenticate", "bad name", "", "ünïcode", "1-a"} {
		if got, want := CanonicalHeaderKey(s), textproto.CanonicalMIMEHeaderKey(s); got != want {
			t.Errorf("CanonicalHeaderKey(%q) = %q, textproto says %q", s, got, want)
		}
	}
}
