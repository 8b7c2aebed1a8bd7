package testutil

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// LogBuffer collects log records for assertions. It is safe for concurrent
// use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CaptureLogger returns a debug-level text logger and the buffer it writes
// to. The buffer's last 64 KiB go into the test log if the test fails.
func CaptureLogger(t testing.TB) (*slog.Logger, *LogBuffer) {
	b := &LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			s := b.String()
			if len(s) > 64<<10 {
				s = "...\n" + s[len(s)-64<<10:]
			}
			t.Logf("captured log:\n%s", s)
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}
