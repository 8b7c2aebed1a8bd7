package wasm_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// records parses a log of JSON records.
func records(t *testing.T, logs *testutil.LogBuffer) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestGuestStdoutGoesToLog(t *testing.T) {
	src, err := os.ReadFile("testdata/stdout.wat")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			var logs testutil.LogBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			h, err := wasm.New(context.Background(), e.New(t), testutil.WAT(t, string(src)), wasm.Options{Name: "printer", Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			w := &nullWriter{header: http.Header{}}
			if err := h.Serve(context.Background(), &server.Exchange{Env: server.Env{}, Reader: http.NoBody, Writer: w}); err != nil {
				t.Fatal(err)
			}
			h.Close(context.Background())
			want := []struct{ msg, stream, level string }{
				{"first line", "stdout", "INFO"},
				{"second line", "stdout", "INFO"},
				{"to stderr", "stderr", "WARN"}, // unterminated: flushed when the exchange ends
			}
			recs := records(t, &logs)
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want at least %d: %v", len(recs), len(want), recs)
			}
			for i, w := range want {
				r := recs[i]
				if r["msg"] != w.msg || r["stream"] != w.stream || r["level"] != w.level || r["route"] != "printer" {
					t.Errorf("record %d = %v, want msg %q stream %q level %q route printer", i, r, w.msg, w.stream, w.level)
				}
			}
		})
	}
}
