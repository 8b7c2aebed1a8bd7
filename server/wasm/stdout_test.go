package wasm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
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
			var logs lockedBuffer
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
			recs := logs.records(t)
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
