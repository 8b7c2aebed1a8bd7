package app_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestReady: App.Ready waits for every listener, whatever its kind; an AMQP
// listener whose broker is down is not ready, and does not stop the others.
func TestReady(t *testing.T) {
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close() // nobody listens there
	for _, c := range []struct {
		name, listeners string
		ready           bool
	}{
		{"sockets", `
[[listener]]
address = "tcp://127.0.0.1:0"
[[listener]]
address = "tcp://127.0.0.1:0"
transport = "line"
`, true},
		{"broker down", `
[[listener]]
address = "tcp://127.0.0.1:0"
[[listener]]
address = "amqp://guest:guest@` + deadAddr + `/?queue=never"
`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.ParseWith("ready.toml", []byte(c.listeners+`
[[route]]
builtin = "longpoll"
channel = "news"
`), app.ConfigOptions())
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
			if err := a.Serve(ctx); err == nil {
				t.Error("Serve before Listen: no error")
			}
			if _, err := a.Listen(ctx); err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- a.Serve(ctx) }()
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			defer rcancel()
			if err := a.Ready(rctx); (err == nil) != c.ready {
				t.Errorf("Ready = %v, want ready: %v", err, c.ready)
			}
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve = %v", err)
			}
		})
	}
}
