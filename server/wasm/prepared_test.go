package wasm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestPreparedCache: a module prepared once is found prepared by the next
// load with the same options, on every engine, and serves the same; other
// options are other entries; a damaged entry is a miss that is prepared
// and written again.
func TestPreparedCache(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			dir := t.TempDir()
			c, err := wasm.NewPreparedCache(dir)
			if err != nil {
				t.Fatal(err)
			}
			bin := watModule(t, "initstate")
			load := func(opts wasm.Options) {
				t.Helper()
				opts.Prepared = c
				h := mustHandler(t, engine, bin, opts)
				if body, err := serveBody(context.Background(), h); err != nil || body != "started=42 data=initial" {
					t.Fatalf("%+v: %q, %v", opts, body, err)
				}
			}
			stats := func(wantHits, wantMisses uint64, wantEntries int) {
				t.Helper()
				hits, misses := c.Stats()
				entries, _ := filepath.Glob(filepath.Join(dir, "*"))
				if hits != wantHits || misses != wantMisses || len(entries) != wantEntries {
					t.Fatalf("hits %d, misses %d, entries %d; want %d, %d, %d", hits, misses, len(entries), wantHits, wantMisses, wantEntries)
				}
			}
			load(wasm.Options{Name: "a"})
			stats(0, 1, 1)
			load(wasm.Options{Name: "b"}) // another route, same module and options
			stats(1, 1, 1)
			load(wasm.Options{Name: "c", Limits: wasm.Limits{StackBytes: 1 << 20}})
			stats(1, 2, 2)
			load(wasm.Options{Name: "d", Lifecycle: wasm.Fresh})
			stats(1, 3, 3)

			entries, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, path := range entries {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				data[len(data)/2] ^= 0xff
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			load(wasm.Options{Name: "e"})
			stats(1, 4, 3)
			load(wasm.Options{Name: "f"}) // written again whole
			stats(2, 4, 3)
		})
	}
}

// TestPreparedCacheKeepsTheFallbackWarning: a module served fresh because
// it cannot be snapshotted says so on every load, the cached ones too; a
// route that asks for snapshot is refused as without the cache.
func TestPreparedCacheKeepsTheFallbackWarning(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	c, err := wasm.NewPreparedCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bin := watModule(t, "tableset")
	for i := range 2 {
		logger, logs := testutil.CaptureLogger(t)
		h := mustHandler(t, engine, bin, wasm.Options{Name: "default", Logger: logger, Prepared: c})
		if h.Lifecycle() != wasm.Fresh {
			t.Fatalf("load %d: lifecycle %q, want fresh", i, h.Lifecycle())
		}
		waitLog(t, logs, "cannot be snapshotted", "changes table 0")
		_, err := wasm.New(context.Background(), engine, bin, wasm.Options{Name: "asked", Lifecycle: wasm.Snapshot, Prepared: c})
		if err == nil || !strings.Contains(err.Error(), `instances = "snapshot"`) {
			t.Fatalf("load %d, asked for snapshot: err = %v", i, err)
		}
	}
	if hits, _ := c.Stats(); hits != 1 {
		t.Fatalf("hits = %d, want 1 (the second default load)", hits)
	}
}

// TestNewPreparedCacheRefuses: a directory that cannot be made.
func TestNewPreparedCacheRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wasm.NewPreparedCache(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "prepared-module cache") {
		t.Fatalf("err = %v", err)
	}
}

// TestPreparedCachePrune: Prune removes the entries and temporary files
// unused for longer than its age — an entry a load found is used again,
// and stays — and leaves alone what the cache never writes: other files,
// directories, links (and their targets) with an entry's name.
func TestPreparedCachePrune(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	dir := t.TempDir()
	c, err := wasm.NewPreparedCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	bin := watModule(t, "initstate")
	mustHandler(t, engine, bin, wasm.Options{Name: "a", Prepared: c})
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(entries) != 1 {
		t.Fatalf("entries %v, want 1", entries)
	}
	used := entries[0]

	old := time.Now().Add(-wasm.PreparedMaxAge - time.Hour)
	write := func(name string, size int) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		return path
	}
	hexName := func(b byte) string { return strings.Repeat(string("0123456789abcdef"[b]), 64) }
	stale := write(hexName(1), 1000)                        // an entry no load uses
	temp := write(".prepared-123456", 10)                   // an interrupted write
	fresh := filepath.Join(dir, hexName(2))                 // an entry written just now
	foreign := write("notes.txt", 5)                        // not the cache's
	upper := write(strings.ToUpper(hexName(10)), 5)         // not a name the cache makes
	short := write(hexName(3)[:63], 5)                      // nor this
	if err := os.WriteFile(fresh, nil, 0o644); err != nil { // new: stays
		t.Fatal(err)
	}
	sub := filepath.Join(dir, hexName(4))
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(sub, old, old)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(target, old, old)
	link := filepath.Join(dir, hexName(5))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	// The entry in use is old too, until a load finds it.
	if err := os.Chtimes(used, old, old); err != nil {
		t.Fatal(err)
	}
	mustHandler(t, engine, bin, wasm.Options{Name: "b", Prepared: c})
	if hits, _ := c.Stats(); hits != 1 {
		t.Fatalf("hits = %d, want 1", hits)
	}

	p, err := c.Prune(wasm.PreparedMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	if p.Entries != 2 || p.Bytes != 1010 {
		t.Errorf("pruned %+v, want 2 entries of 1010 bytes", p)
	}
	for _, path := range []string{stale, temp} {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", filepath.Base(path), err)
		}
	}
	for _, path := range []string{used, fresh, foreign, upper, short, sub, link, target} {
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s: removed (%v)", filepath.Base(path), err)
		}
	}
	if p, err := c.Prune(wasm.PreparedMaxAge); err != nil || p.Entries != 0 {
		t.Errorf("second prune: %+v, %v; want nothing", p, err)
	}
	var none *wasm.PreparedCache
	if p, err := none.Prune(0); err != nil || p.Entries != 0 {
		t.Errorf("nil cache: %+v, %v", p, err)
	}
}

// TestPreparedCachePruneTenThousand: 10,000 stale entries go in one
// Prune, beside 10,000 fresh ones that stay; two prunes at once (a reload's
// beside a start's) remove each entry once and report no error.
func TestPreparedCachePruneTenThousand(t *testing.T) {
	dir := t.TempDir()
	c, err := wasm.NewPreparedCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-wasm.PreparedMaxAge - time.Hour)
	const n = 10_000
	for i := range 2 * n {
		path := filepath.Join(dir, fmt.Sprintf("%064x", i))
		if err := os.WriteFile(path, []byte{1}, 0o644); err != nil {
			t.Fatal(err)
		}
		if i < n {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	var pruned [2]wasm.Pruned
	for k := range pruned {
		wg.Go(func() {
			p, err := c.Prune(wasm.PreparedMaxAge)
			if err != nil {
				t.Error(err)
			}
			pruned[k] = p
		})
	}
	wg.Wait()
	if got := pruned[0].Entries + pruned[1].Entries; got != n {
		t.Errorf("pruned %d + %d entries, want %d in all", pruned[0].Entries, pruned[1].Entries, n)
	}
	if left, _ := os.ReadDir(dir); len(left) != n {
		t.Errorf("%d entries left, want the %d fresh ones", len(left), n)
	}
}
