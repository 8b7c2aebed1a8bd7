// Package testapp runs a configured bubblewasm host for the length of a
// test: the same path `bubblewasm run` takes (app.New, Listen, Serve),
// stopped and checked for a clean shutdown when the test ends.
package testapp

import (
	"context"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// Start loads cfg, binds its listeners and serves until the test ends. It
// returns the listeners' real addresses, in configuration order.
func Start(t testing.TB, cfg *config.Config, opts app.Options) []server.Address {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addrs, err := a.Listen(ctx)
	if err != nil {
		cancel()
		a.Close(context.Background())
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close(context.Background())
	})
	return addrs
}
