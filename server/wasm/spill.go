package wasm

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
)

// spillFile keeps the binaries of the modules a Residency may unload, so
// that a handler can compile its module again without keeping its bytes
// in memory (a Go module is megabytes) and without reading its file again
// (which may have been replaced since the load: the route must go on
// serving what was loaded until a reload says otherwise).
//
// It is one file, removed from its directory as soon as it is made: no
// name points to it, so nothing else can open it and nothing of it
// outlives the process, however the process ends. Binaries are appended;
// freeing one punches a hole where the platform can (Linux), so that the
// disk space of routes removed by reloads comes back.
type spillFile struct {
	mu  sync.Mutex
	f   *os.File
	end int64 // where the next binary goes
}

// spillRef is where one binary is in a spillFile, and its SHA-256, which
// get checks: what comes back is what was put, or an error.
type spillRef struct {
	off int64
	n   int
	sum [sha256.Size]byte
}

// newSpillFile makes the file in dir (the system's temporary directory
// when empty) and removes its name.
func newSpillFile(dir string) (*spillFile, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, ".bubblewasm-modules-*")
	if err != nil {
		return nil, fmt.Errorf("module spill file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("module spill file: %w", err)
	}
	return &spillFile{f: f}, nil
}

// put appends bin and returns where it is.
func (s *spillFile) put(bin []byte) (spillRef, error) {
	ref := spillRef{n: len(bin), sum: sha256.Sum256(bin)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return spillRef{}, errSpillClosed
	}
	ref.off = s.end
	if _, err := s.f.WriteAt(bin, ref.off); err != nil {
		return spillRef{}, fmt.Errorf("module spill file: %w", err)
	}
	s.end += int64(len(bin))
	return ref, nil
}

// get reads the binary at ref back and checks that it is the one put.
func (s *spillFile) get(ref spillRef) ([]byte, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f == nil {
		return nil, errSpillClosed
	}
	bin := make([]byte, ref.n)
	if _, err := f.ReadAt(bin, ref.off); err != nil {
		return nil, fmt.Errorf("module spill file: %w", err)
	}
	if sha256.Sum256(bin) != ref.sum {
		return nil, errors.New("module spill file: the module's bytes read back differ from those loaded (the file was changed or the disk is failing)")
	}
	return bin, nil
}

// free gives the space of ref back where the platform can.
func (s *spillFile) free(ref spillRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil && ref.n > 0 {
		punchHole(s.f, ref.off, int64(ref.n))
	}
}

// close closes the file, which frees all of it.
func (s *spillFile) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

var errSpillClosed = errors.New("module spill file: closed")
