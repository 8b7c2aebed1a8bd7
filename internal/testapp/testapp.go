// Package testapp runs a configured bubblewasm host for the length of a
// test: the same path `bubblewasm run` takes (app.New, Listen, Serve),
// stopped and checked for a clean shutdown when the test ends.
package testapp

import (
	"context"
	"errors"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// Start loads cfg, binds its listeners and serves until the test ends. It
// returns the listeners' real addresses, in configuration order.
func Start(t testing.TB, cfg *config.Config, opts app.Options) []server.Address {
	t.Helper()
	_, addrs := StartApp(t, cfg, opts)
	return addrs
}

// StartApp is Start that also returns the app, for what only it knows
// (its admin listener's address) or does (Reload).
func StartApp(t testing.TB, cfg *config.Config, opts app.Options) (*app.App, []server.Address) {
	t.Helper()
	a, addrs, err := TryStart(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, addrs
}

// TryStart is StartApp that returns the error of a configuration that
// does not load (a module the host refuses) or bind, instead of failing t.
func TryStart(t testing.TB, cfg *config.Config, opts app.Options) (*app.App, []server.Address, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, opts)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	addrs, err := a.Listen(ctx)
	if err != nil {
		cancel()
		a.Close(context.Background())
		return nil, nil, err
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
	return a, addrs, nil
}

// Engines lists the engine names of this build among those the schema
// accepts (config.Engines; wasmtime needs cgo), so a test can run a
// configuration on each. An engine the build lacks is
// logged, not tested.
func Engines(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range config.Engines() {
		e, err := app.NewEngine(name, "")
		if errors.Is(err, app.ErrEngineUnavailable) {
			t.Logf("not testing on %s: %v", name, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		e.Close(context.Background())
		out = append(out, name)
	}
	return out
}
