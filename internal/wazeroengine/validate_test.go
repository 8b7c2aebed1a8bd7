package wazeroengine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/internal/wazeroengine"
)

// callsIndex1 is a module with one function whose body calls function 1,
// which does not exist: invalid ("unknown function").
var callsIndex1 = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
	"\x03\x02\x01\x00" + // one function of type 0
	"\x0a\x06\x01\x04\x00\x10\x01\x0b") // body: call 1; end

func newEngine(t testing.TB, dir string) *wazeroengine.Engine {
	t.Helper()
	e, err := wazeroengine.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func marker(t testing.TB, dir string, bin []byte) string {
	t.Helper()
	sum := sha256.Sum256(bin)
	found, _ := filepath.Glob(filepath.Join(dir, "validated", "wazero-*", hex.EncodeToString(sum[:])))
	if len(found) > 1 {
		t.Fatalf("markers: %v", found)
	}
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// TestValidateRemembers checks that a module that passed validation is
// remembered in the cache directory and one that failed is not, and that a
// new engine on the same directory takes the marker (a warm start).
func TestValidateRemembers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	valid := testutil.WAT(t, `(module (func (export "f")))`)
	e := newEngine(t, dir)
	if err := e.Validate(ctx, valid); err != nil {
		t.Fatalf("valid module: %v", err)
	}
	if marker(t, dir, valid) == "" {
		t.Fatal("no marker for the validated module")
	}
	err := e.Validate(ctx, callsIndex1)
	if err == nil || !strings.Contains(err.Error(), "invalid function index") {
		t.Fatalf("invalid module: err = %v, want an invalid function index", err)
	}
	if m := marker(t, dir, callsIndex1); m != "" {
		t.Fatalf("an invalid module was remembered: %s", m)
	}
	// A marker is what lets a warm start skip validation: plant one for the
	// invalid module and a new engine takes it.
	if err := os.WriteFile(filepath.Join(filepath.Dir(marker(t, dir, valid)), func() string {
		sum := sha256.Sum256(callsIndex1)
		return hex.EncodeToString(sum[:])
	}()), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newEngine(t, dir).Validate(ctx, callsIndex1); err != nil {
		t.Fatalf("a new engine on the same cache directory ignored the marker: %v", err)
	}
	if err := newEngine(t, "").Validate(ctx, callsIndex1); err == nil {
		t.Fatal("an engine without a cache directory took another's marker")
	}
}

// BenchmarkValidate measures validation at load on a Go module: cold (no
// marker: wazero's interpreter decodes and validates it) and warm (a marker
// in the cache directory: only the hash).
func BenchmarkValidate(b *testing.B) {
	bin, err := os.ReadFile(testbuild.Module(b, "hello"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Logf("module: %d bytes", len(bin))
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			e, _ := wazeroengine.New("")
			if err := e.Validate(ctx, bin); err != nil {
				b.Fatal(err)
			}
			e.Close(ctx)
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		if err := newEngine(b, dir).Validate(ctx, bin); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			e, _ := wazeroengine.New(dir)
			if err := e.Validate(ctx, bin); err != nil {
				b.Fatal(err)
			}
			e.Close(ctx)
		}
	})
}
