package main

import (
	"crypto/sha256"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

func TestEcho(t *testing.T) {
	in := strings.Repeat("echo ", 20000)
	rec := bubbletest.Serve(map[string]string{"CONTENT_TYPE": "text/x-test"}, iotest.OneByteReader(strings.NewReader(in[:1000])))
	if rec.Code != 0 || rec.Body.String() != in[:1000] || rec.Header.Get("Content-Type") != "text/x-test" {
		t.Errorf("code %d body %d bytes headers %v", rec.Code, rec.Body.Len(), rec.Header)
	}
	rec = bubbletest.Serve(nil, strings.NewReader(in))
	if rec.Code != 0 || rec.Body.String() != in || len(rec.Header) != 0 {
		t.Errorf("code %d body %d bytes headers %v", rec.Code, rec.Body.Len(), rec.Header)
	}
}

func TestEmpty(t *testing.T) {
	rec := bubbletest.Serve(nil, nil)
	if rec.Code != 0 || rec.Body.Len() != 0 {
		t.Errorf("code %d body %q", rec.Code, rec.Body.String())
	}
}

func TestInvalidContentType(t *testing.T) {
	rec := bubbletest.Serve(map[string]string{"CONTENT_TYPE": "a\nb"}, strings.NewReader("x"))
	if rec.Code == 0 || rec.Committed || len(rec.Logs) != 1 {
		t.Errorf("code %d committed %v logs %v", rec.Code, rec.Committed, rec.Logs)
	}
}

func TestErrors(t *testing.T) {
	rec := bubbletest.Serve(nil, io.MultiReader(strings.NewReader("part"), iotest.ErrReader(bubble.ErrTimeout)))
	if rec.Code == 0 || rec.Body.String() != "part" || rec.Logs[0].Msg != "bubble: read: ERR_TIMEOUT" {
		t.Errorf("read error: code %d body %q logs %v", rec.Code, rec.Body.String(), rec.Logs)
	}
	rec = bubbletest.Exchange{Body: strings.NewReader("x"), Output: errWriter{}}.Serve()
	if rec.Code == 0 || rec.Logs[0].Msg != "bubble: write: ERR_CLOSED" {
		t.Errorf("write error: code %d logs %v", rec.Code, rec.Logs)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// zeros is an endless source of zero bytes that never allocates.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A 100 MB body streams through in constant memory.
func TestLargeBodyConstantMemory(t *testing.T) {
	const size = 100 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sum := sha256.New()
	rec := bubbletest.Exchange{Body: io.LimitReader(zeros{}, size), Output: sum}.Serve()
	runtime.ReadMemStats(&after)
	if rec.Code != 0 {
		t.Fatalf("code %d logs %v", rec.Code, rec.Logs)
	}
	want := sha256.New()
	io.CopyN(want, zeros{}, size)
	if string(sum.Sum(nil)) != string(want.Sum(nil)) {
		t.Error("output differs from input")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("echoing %d bytes allocated %d bytes", size, alloc)
	}
}
