package wasm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PreparedMaxAge is how long an entry of a PreparedCache stays unused
// before Prune removes it: entries of modules no route serves any more,
// and those of earlier builds of the server (whose key no load of this
// build ever makes), would otherwise stay forever — a Go module's entry is
// about 3.5 MB, and every upgrade makes a new one per module.
const PreparedMaxAge = 7 * 24 * time.Hour

// Pruned is what a Prune removed.
type Pruned struct {
	Entries int   // files removed
	Bytes   int64 // their sizes
}

// Prune removes the entries unused for longer than maxAge: a load that
// finds its entry marks it used, so Prune belongs after the routes have
// loaded. It removes only files it could have written itself (entries and
// temporary files of an interrupted write); directories, links and other
// files in the directory are left alone. Errors do not stop it; the first
// ones are returned joined.
func (c *PreparedCache) Prune(maxAge time.Duration) (Pruned, error) {
	var p Pruned
	if c == nil {
		return p, nil
	}
	dirents, err := os.ReadDir(c.dir)
	if err != nil {
		return p, err
	}
	cutoff := time.Now().Add(-maxAge)
	var errs []error
	for _, d := range dirents {
		if !d.Type().IsRegular() || !isPreparedName(d.Name()) {
			continue
		}
		info, err := d.Info() // the file's own (lstat), never a target's
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, d.Name())); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // another prune (a reload's, another server's) was first
			}
			if len(errs) < 3 {
				errs = append(errs, err)
			}
			continue
		}
		p.Entries++
		p.Bytes += info.Size()
	}
	return p, errors.Join(errs...)
}

// isPreparedName reports whether name is that of an entry (the hex
// SHA-256 of its key, path) or of writePrepared's temporary file.
func isPreparedName(name string) bool {
	if strings.HasPrefix(name, preparedTempPrefix) {
		return true
	}
	if len(name) != 64 {
		return false
	}
	for i := range len(name) {
		if !('0' <= name[i] && name[i] <= '9' || 'a' <= name[i] && name[i] <= 'f') {
			return false
		}
	}
	return true
}

// markUsed records that the entry at path, last modified at modified,
// served a load, so that Prune keeps it (a failure only lets it age). An
// entry marked within the last day is left as it is: a start does not
// write the metadata of every entry it reads.
func markUsed(path string, modified time.Time) {
	if now := time.Now(); now.Sub(modified) > markEvery {
		os.Chtimes(path, now, now)
	}
}

// markEvery is how old an entry's mark may be before a load renews it.
const markEvery = 24 * time.Hour
