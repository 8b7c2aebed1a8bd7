package bubble

import (
	"errors"
	"testing"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/session"
)

func TestUnknownCodeIsIO(t *testing.T) {
	for code, want := range map[int32]Errno{-1: ErrNotFound, -7: ErrTooLarge, -8: ErrDenied, -9: ErrFull, -10: ErrIO, -1000: ErrIO} {
		if err := callError("x", code); !errors.Is(err, want) {
			t.Errorf("code %d: %v, want %v", code, err, want)
		}
	}
}

func TestMillis(t *testing.T) {
	for ms, want := range map[int]int32{-5: -1, -1: -1, 0: 0, 1: 1, 1<<31 - 1: 1<<31 - 1, 1 << 31: 1<<31 - 1, 1 << 50: 1<<31 - 1} {
		if got := millis(ms); got != want {
			t.Errorf("millis(%d) = %d, want %d", ms, got, want)
		}
	}
}

func TestConstantsMatchInternal(t *testing.T) {
	if SessionCookie != session.Cookie {
		t.Error("SessionCookie differs from the internal package's")
	}
}
