package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// load runs wasm.New on bin with a generous bound on its time, turning a
// panic into an error, and closes what it made.
func load(e wasm.Engine, bin []byte) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	h, err := wasm.New(ctx, e, bin, wasm.Options{Name: "corpus"})
	if h != nil {
		h.Close(ctx)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("did not finish within its bound: %w", err)
	}
	return err
}

// TestSpecCorpusLoad loads every binary module of the WebAssembly
// specification tests through the normal load path, on every engine: each
// malformed or invalid one is refused as such (the reader's or the
// engine's verdict, before any rewrite), with no panic and within a bound;
// each valid one, none of which is an ABI v1 handler, is refused for what
// it lacks as a handler or for a limit, not because loading broke.
func TestSpecCorpusLoad(t *testing.T) {
	corpus := wasmbintest.SpecCorpus(t)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			verdicts := map[string]int{}
			for _, sm := range corpus {
				bin, err := os.ReadFile(sm.Path)
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Base(filepath.Dir(filepath.Dir(sm.Path))) + "/" + filepath.Base(sm.Path)
				err = load(engine, bin)
				verdict := verdictOf(err)
				verdicts[sm.Kind+" -> "+verdict]++
				switch {
				case err == nil:
					t.Errorf("%s (%s %q) loaded", name, sm.Kind, sm.Text)
				case verdict == "other":
					t.Errorf("%s (%s %q): unexpected error: %v", name, sm.Kind, sm.Text, err)
				case sm.Kind == "module" && (verdict == "malformed" || verdict == "invalid"):
					t.Errorf("%s: valid module refused as %s: %v", name, verdict, err)
				case sm.Kind != "module" && verdict != "malformed" && verdict != "invalid" && !validIn2(name, sm.Text):
					t.Errorf("%s (%s %q) not refused as malformed or invalid: %v", name, sm.Kind, sm.Text, err)
				}
			}
			t.Logf("verdicts: %v", verdicts)
		})
	}
}

// verdictOf classifies a load error.
func verdictOf(err error) string {
	var msg string
	if err != nil {
		msg = err.Error()
	}
	switch {
	case err == nil:
		return "loaded"
	case errors.Is(err, context.DeadlineExceeded), strings.HasPrefix(msg, "panic"):
		return "other"
	case strings.HasPrefix(msg, "compile: malformed module: "):
		return "malformed"
	case strings.HasPrefix(msg, "compile: invalid module: "):
		return "invalid"
	case strings.HasPrefix(msg, "not a bubblewasm ABI v1 handler: "):
		return "abi"
	case strings.Contains(msg, "over the limit of"), strings.Contains(msg, "over limit of"), strings.Contains(msg, "exceeds the limit"):
		return "limit"
	}
	return "other"
}

// validIn2 reports the WebAssembly 1.0 test modules that 2.0 made valid
// (multi-value results, several tables, br_table after unreachable), which
// the host, a 2.0 host, accepts as modules.
func validIn2(name, text string) bool {
	return strings.HasPrefix(name, "v1/") && (text == "invalid result arity" || text == "multiple tables" || name == "v1/unreached-invalid.87.wasm")
}
