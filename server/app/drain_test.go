package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// Shutdown must not wait out its deadline because a long poll is parked:
// draining ends every wait at once, and the poll gets an empty answer.
func TestShutdownEndsLongPolls(t *testing.T) {
	cfg, err := config.Parse("drain.toml", []byte(`
shutdown_timeout = "60s"
[[listener]]
address = "tcp://127.0.0.1:0"
[[route]]
builtin = "longpoll"
channel = "news"
timeout = "60s"
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	addrs, err := a.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()

	polled := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + strings.TrimPrefix(addrs[0].String(), "tcp://") + "/?timeout=60")
		if err != nil {
			polled <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		polled <- string(b)
	}()
	// Wait (bounded) until the poll is parked: a publish reaches one subscriber.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post("http://"+strings.TrimPrefix(addrs[0].String(), "tcp://")+"/", "text/plain", strings.NewReader(`"probe"`))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"delivered":1`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the long poll never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The probe was delivered to the parked poll, which returned; park a
	// second one and stop the server under it.
	if got := <-polled; !strings.Contains(got, `"probe"`) {
		t.Fatalf("first poll got %q", got)
	}
	go func() {
		resp, err := http.Get("http://" + strings.TrimPrefix(addrs[0].String(), "tcp://") + "/?timeout=60")
		if err != nil {
			polled <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		polled <- string(b)
	}()
	for !parked() { // bounded: the poll parks in the broker's Fetch
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatal("the second long poll never parked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v (a parked long poll held the shutdown)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown still waiting after 30s with a 60s shutdown_timeout: the long poll was not drained")
	}
	if got := <-polled; !strings.Contains(got, `"messages":[]`) {
		t.Fatalf("the drained poll answered %q, want an empty poll", got)
	}
}

// parked reports whether some goroutine waits in the broker's Fetch.
func parked() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*MemoryBroker).Fetch")
}
