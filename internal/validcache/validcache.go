// Package validcache remembers which module binaries an engine validated,
// by SHA-256: in memory, and as empty marker files under the compilation
// cache directory, so that a warm start does not validate a module again.
//
// A marker adds no trust: whoever can write the cache directory can already
// replace the compiled machine code next to it.
package validcache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Cache is the set of binaries one engine configuration validated.
type Cache struct {
	dir  string // "" keeps markers in memory only
	mu   sync.Mutex
	seen map[[sha256.Size]byte]bool

	hits, misses atomic.Uint64 // for Stats
}

// Stats returns how many Validate calls found their binary validated
// already (hits) and how many ran the validation (misses).
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// New returns the cache of the engine configuration named name (its
// version and feature set, so that an upgrade validates again), with
// markers under cacheDir/validated/name, or in memory only when cacheDir
// is "".
func New(cacheDir, name string) *Cache {
	c := &Cache{seen: map[[sha256.Size]byte]bool{}}
	if cacheDir != "" {
		c.dir = filepath.Join(cacheDir, "validated", name)
	}
	return c
}

// Validate returns nil if bin was validated before, and otherwise runs
// validate, remembering bin when it succeeds. A marker that cannot be
// written only costs a validation at the next start.
func (c *Cache) Validate(bin []byte, validate func([]byte) error) error {
	sum := sha256.Sum256(bin)
	name := hex.EncodeToString(sum[:])
	c.mu.Lock()
	seen := c.seen[sum]
	c.mu.Unlock()
	if !seen && c.dir != "" {
		_, err := os.Stat(filepath.Join(c.dir, name))
		seen = err == nil
	}
	if seen {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
		if err := validate(bin); err != nil {
			return err
		}
		if c.dir != "" && os.MkdirAll(c.dir, 0o755) == nil {
			if f, err := os.Create(filepath.Join(c.dir, name)); err == nil {
				f.Close()
			}
		}
	}
	c.mu.Lock()
	c.seen[sum] = true
	c.mu.Unlock()
	return nil
}

// ModuleVersion is the version of the Go module path this binary was
// built with, or "unknown".
func ModuleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}
