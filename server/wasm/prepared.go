package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// preparedModule is what New makes of a module's bytes before the engine
// compiles them: the lifecycle it resolved, whether the module keeps fixed
// standard streams, and the rewritten binary with the snapshot plan.
type preparedModule struct {
	Life       Lifecycle
	Fallback   string // why the default lifecycle fell back to Fresh; "" when it did not
	FixedStdio bool
	Bin        []byte
	Globals    []string   // the snapshot plan's (Snapshot)
	Data       []DataInit // the snapshot plan's (Snapshot)
}

// plan returns the snapshot plan, nil unless Snapshot.
func (p *preparedModule) plan() *snapshotPlan {
	if p.Life != Snapshot {
		return nil
	}
	return &snapshotPlan{globals: p.Globals, data: p.Data}
}

// prepareModule reads, validates and rewrites bin for opts, whose
// Limits.InterruptGuard is the engine's.
func prepareModule(ctx context.Context, engine Engine, bin []byte, opts Options) (*preparedModule, error) {
	parsed, err := prepare(ctx, engine, bin)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	life, fallback, err := resolveLifecycle(parsed, opts)
	if err != nil {
		return nil, err
	}
	p := &preparedModule{Life: life, FixedStdio: opts.ABI != ABICGI && !isCommand(parsed)}
	if fallback != nil {
		p.Fallback = fallback.Error()
	}
	limits := opts.Limits
	limits.FixedStdio = p.FixedStdio
	var plan *snapshotPlan
	if p.Bin, plan, err = rewrite(parsed, limits, life == Snapshot); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	if plan != nil {
		p.Globals, p.Data = plan.globals, plan.data
	}
	return p, nil
}

// PreparedCache keeps on disk what New makes of a module before compiling
// it (preparedModule), so that a warm start skips reading, validating and
// rewriting every module again: for a Go module, about 40% of its load
// once the engine's own cache holds the machine code.
//
// An entry is keyed by the SHA-256 of the module as written, the route
// options the preparation depends on, the engine, and the host's build
// (the SHA-256 of its executable), so that no other build ever uses an
// entry. An entry carries the SHA-256 of its contents: one that does not
// match (a torn write, a failing disk) is a miss, prepared again and
// replaced. A load that finds its entry marks it used; Prune removes
// the entries unused for a while (the server prunes after its routes
// load). The directory is trusted as the engines' compilation caches
// are: whoever can write there can change what the server runs.
type PreparedCache struct {
	dir          string
	build        [sha256.Size]byte
	hits, misses atomic.Uint64
}

// NewPreparedCache returns the cache kept in dir, which it makes.
func NewPreparedCache(dir string) (*PreparedCache, error) {
	build, err := buildSum()
	if err != nil {
		return nil, fmt.Errorf("prepared-module cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("prepared-module cache: %w", err)
	}
	return &PreparedCache{dir: dir, build: build}, nil
}

// buildSum is the SHA-256 of the running executable, read once.
var buildSum = sync.OnceValues(func() ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	exe, err := os.Executable()
	if err != nil {
		return sum, err
	}
	f, err := os.Open(exe)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
})

// Stats returns how many loads found their module prepared (hits) and how
// many prepared it (misses).
func (c *PreparedCache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// prepare returns what prepareModule makes of bin, from the cache when it
// holds it; a module prepared here is written to the cache (a failure to
// write only costs the next start the time).
func (c *PreparedCache) prepare(ctx context.Context, engine Engine, bin []byte, opts Options) (*preparedModule, error) {
	if c == nil {
		return prepareModule(ctx, engine, bin, opts)
	}
	path := c.path(engine, bin, opts)
	if p, modified, ok := readPrepared(path); ok {
		c.hits.Add(1)
		markUsed(path, modified)
		return p, nil
	}
	c.misses.Add(1)
	p, err := prepareModule(ctx, engine, bin, opts)
	if err == nil {
		if werr := writePrepared(path, p); werr != nil {
			opts.Logger.Warn("prepared-module cache not written", "error", werr)
		}
	}
	return p, err
}

// path is where the entry of bin prepared for opts by engine is.
func (c *PreparedCache) path(engine Engine, bin []byte, opts Options) string {
	h := sha256.New()
	sum := sha256.Sum256(bin)
	fmt.Fprintf(h, "bubblewasm prepared module 1\x00%x\x00%x\x00%s\x00%q\x00%q\x00%+v", c.build, sum, engine.Name(), opts.Lifecycle, opts.ABI, opts.Limits)
	return filepath.Join(c.dir, hex.EncodeToString(h.Sum(nil)))
}

// readPrepared reads an entry: the SHA-256 of the rest, then the gob of a
// preparedModule; and when the entry was last modified. A missing, short
// or mismatched entry is not ok.
func readPrepared(path string) (*preparedModule, time.Time, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, false
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(f, data); err != nil || len(data) < sha256.Size {
		return nil, time.Time{}, false
	}
	body := data[sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[:sha256.Size]) {
		return nil, time.Time{}, false
	}
	var p preparedModule
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		return nil, time.Time{}, false
	}
	return &p, info.ModTime(), true
}

// preparedTempPrefix starts the name of an entry being written.
const preparedTempPrefix = ".prepared-"

// writePrepared writes an entry whole or not at all (a temporary file
// renamed into place).
func writePrepared(path string, p *preparedModule) error {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(p); err != nil {
		return err
	}
	sum := sha256.Sum256(body.Bytes())
	f, err := os.CreateTemp(filepath.Dir(path), preparedTempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(sum[:], body.Bytes()...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return errors.Join(errors.New("writing "+path), err)
	}
	return nil
}
