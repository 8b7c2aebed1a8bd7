package wazeroengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Validate decodes and validates a module in wazero's interpreter, which
// compiles no machine code (wazero has no validate-only call), and
// remembers the modules it passed by SHA-256, so that a warm start does not
// pay for it again: ~125 ms and 49 MB of garbage for a 2 MB Go module, next
// to ~1 ms for the hash and a stat (BenchmarkValidate).
func (e *Engine) Validate(ctx context.Context, bin []byte) error {
	sum := sha256.Sum256(bin)
	if e.validated.has(sum) {
		return nil
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return err
	}
	compiled.Close(ctx)
	e.validated.add(sum)
	return nil
}

// validated is the set of modules that passed Validate: in memory, and as
// empty files named by their SHA-256 under dir when there is one. The
// directory's name carries wazero's version and the feature set, so an
// upgrade validates again. Whoever can write there can already replace the
// compiled machine code next to it: the markers add no trust.
type validated struct {
	dir  string
	mu   sync.Mutex
	seen map[[sha256.Size]byte]bool
}

func newValidated(cacheDir string) *validated {
	v := &validated{seen: map[[sha256.Size]byte]bool{}}
	if cacheDir != "" {
		v.dir = filepath.Join(cacheDir, "validated", "wazero-"+wazeroVersion()+"-core-v2")
	}
	return v
}

func (v *validated) has(sum [sha256.Size]byte) bool {
	v.mu.Lock()
	seen := v.seen[sum]
	v.mu.Unlock()
	if seen || v.dir == "" {
		return seen
	}
	if _, err := os.Stat(filepath.Join(v.dir, hex.EncodeToString(sum[:]))); err != nil {
		return false
	}
	v.mu.Lock()
	v.seen[sum] = true
	v.mu.Unlock()
	return true
}

// add records a validated module; a marker that cannot be written only
// costs a validation at the next start.
func (v *validated) add(sum [sha256.Size]byte) {
	v.mu.Lock()
	v.seen[sum] = true
	v.mu.Unlock()
	if v.dir == "" {
		return
	}
	if err := os.MkdirAll(v.dir, 0o755); err == nil {
		if f, err := os.Create(filepath.Join(v.dir, hex.EncodeToString(sum[:]))); err == nil {
			f.Close()
		}
	}
}

// wazeroVersion is the version of the wazero module this binary was built
// with, or "unknown".
func wazeroVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				return d.Version
			}
		}
	}
	return "unknown"
}
