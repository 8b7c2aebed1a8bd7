package wasm

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// A line is one record whatever the writes it comes in; a line over
// maxLogLine is cut and marked with its length, and the rest of it is not
// kept in memory.
func TestLineLogger(t *testing.T) {
	var out bytes.Buffer
	l := &lineLogger{logger: slog.New(slog.NewJSONHandler(&out, nil)), level: slog.LevelInfo, stream: "stdout"}
	long := strings.Repeat("x", 3*maxLogLine)
	for _, w := range []string{"a\r\nb", "c\n", long[:maxLogLine-1], long[maxLogLine-1:], "\n\n", long, "tail"} {
		l.Write([]byte(w))
		if cap(l.buf) > maxLogLine {
			t.Fatalf("buffer of %d bytes for a line of %d", cap(l.buf), l.total)
		}
	}
	l.flush()
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r["msg"].(string))
	}
	cut := func(total string) string {
		mark := " …[truncated from " + total + " bytes]"
		return long[:maxLogLine-len(mark)] + mark
	}
	want := []string{"a", "bc", cut("24576"), "", cut("24580")} // the last: long + "tail", unterminated
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %.100q", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %d bytes %.60q…, want %d bytes %.60q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
		if len(got[i]) > maxLogLine {
			t.Errorf("record %d: %d bytes", i, len(got[i]))
		}
	}
}
