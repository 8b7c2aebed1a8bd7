package abi_test

import (
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bubblewasm/bubblewasm/abi"
)

func TestLogLevel(t *testing.T) {
	for v, want := range map[int32]slog.Level{
		-2147483648: slog.LevelDebug, -5: slog.LevelDebug, -4: slog.LevelDebug, -1: slog.LevelDebug,
		0: slog.LevelInfo, 3: slog.LevelInfo,
		4: slog.LevelWarn, 7: slog.LevelWarn,
		8: slog.LevelError, 9: slog.LevelError, 2147483647: slog.LevelError,
	} {
		if got := abi.LogLevel(v); got != want {
			t.Errorf("LogLevel(%d) = %v, want %v", v, got, want)
		}
	}
}

func TestCutLog(t *testing.T) {
	for _, c := range []struct {
		msg  string
		max  int
		want string
	}{
		{"", 10, ""},
		{"short", 5, "short"},
		// the mark is 30 bytes ('…' is 3): 10 bytes are kept
		{strings.Repeat("a", 100), 40, strings.Repeat("a", 10) + " …[truncated from 100 bytes]"},
		{"a" + strings.Repeat("é", 50), 40, "a" + strings.Repeat("é", 4) + " …[truncated from 101 bytes]"}, // a character the cut would split is dropped whole
		{strings.Repeat("é", 50), 40, strings.Repeat("é", 5) + " …[truncated from 100 bytes]"},
		// invalid UTF-8 is cut where it is, after at most 3 steps back
		{strings.Repeat("\x80", 100), 40, strings.Repeat("\x80", 7) + " …[truncated from 100 bytes]"},
		// a max smaller than the mark: the mark alone
		{strings.Repeat("a", 100), 5, "…[truncated from 100 bytes]"},
		{strings.Repeat("a", 100), 0, "…[truncated from 100 bytes]"},
	} {
		got := abi.CutLog(c.msg, c.max)
		if got != c.want {
			t.Errorf("CutLog(%d bytes, %d) = %q, want %q", len(c.msg), c.max, got, c.want)
		}
		if gb := abi.CutLog([]byte(c.msg), c.max); gb != got {
			t.Errorf("CutLog([]byte) = %q, string gives %q", gb, got)
		}
		if len(got) > max(c.max, 30) {
			t.Errorf("CutLog(%d bytes, %d) is %d bytes long", len(c.msg), c.max, len(got))
		}
	}
	if got := abi.CutLogPrefix([]byte("abc"), 3, 10); got != "abc" {
		t.Errorf("CutLogPrefix of a whole short line: %q", got)
	}
	if got := abi.CutLogPrefix([]byte(strings.Repeat("a", 50)), 1<<20, 40); got != strings.Repeat("a", 6)+" …[truncated from 1048576 bytes]" {
		t.Errorf("CutLogPrefix of a long line: %q", got)
	}
}

// The 1 MiB records: the host copies at most MaxLogBytes out of
// guest memory per record, and marks the cut.
func TestLogRecordCapped(t *testing.T) {
	m := mem(1<<20+16, strings.Repeat("é", 1<<19))
	x := &fakeExchange{}
	if _, err := call(t, abi.FuncLog, x, m, 0x7FFFFFFF, 0, 1<<20); err != nil {
		t.Fatal(err)
	}
	r := x.logs[0]
	if len(r.msg) > abi.MaxLogBytes || !strings.HasSuffix(r.msg, " …[truncated from 1048576 bytes]") || !utf8.ValidString(r.msg) {
		t.Fatalf("a 1 MiB record logged as %d bytes: %.80q…", len(r.msg), r.msg)
	}
	if r.level != slog.LevelError {
		t.Fatalf("level 2147483647 logged as %v", r.level)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		call(t, abi.FuncLog, &fakeExchange{}, m, 0, 0, 1<<20)
	}
	runtime.ReadMemStats(&after)
	if n := (after.TotalAlloc - before.TotalAlloc) / 100; n > 4*abi.MaxLogBytes {
		t.Errorf("%d bytes allocated per 1 MiB record", n)
	}
}
