package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// The load client runs its rounds against the chat as configured (on a
// free port) and reports every participant getting each message exactly
// once.
func TestPullers(t *testing.T) {
	cfg, err := config.Load("../bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	wasm := testbuild.Path(t, "../module")
	for i := range cfg.Routes {
		cfg.Routes[i].Module = wasm
	}
	cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	var out bytes.Buffer
	if err := run([]string{"-url", "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://"), "-n", "50", "-rounds", "2", "-settle", "10ms"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, round := range []string{"round 1:", "round 2:"} {
		if !strings.Contains(out.String(), round+" push reached 50 subscriptions; 50 of 50 participants got it exactly once") {
			t.Errorf("no %q line for 50 participants:\n%s", round, out.String())
		}
	}
}
