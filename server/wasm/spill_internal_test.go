package wasm

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestSpillFile: binaries read back as put, whatever was put around them;
// a changed byte is an error; the file has no name; a closed file refuses.
func TestSpillFile(t *testing.T) {
	dir := t.TempDir()
	s, err := newSpillFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	bins := [][]byte{bytes.Repeat([]byte{1}, 3<<20), {}, []byte("\x00asm"), bytes.Repeat([]byte{7}, 5000)}
	var refs []spillRef
	for _, b := range bins {
		ref, err := s.put(b)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	for i, ref := range refs {
		got, err := s.get(ref)
		if err != nil || !bytes.Equal(got, bins[i]) {
			t.Fatalf("binary %d: %d bytes, %v; want %d bytes back", i, len(got), err, len(bins[i]))
		}
	}
	if names, _ := readDirNames(dir); len(names) != 0 {
		t.Fatalf("spill directory holds %v, want nothing (the file is unlinked)", names)
	}
	if _, err := s.f.WriteAt([]byte{9}, refs[3].off+10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.get(refs[3]); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("changed binary: err = %v, want a mismatch", err)
	}
	if runtime.GOOS == "linux" {
		before := blocks(t, s)
		s.free(refs[0])
		if after := blocks(t, s); after >= before {
			t.Logf("freeing 3 MiB left %d blocks of %d: the file system keeps the space (no hole punching)", after, before)
		} else if _, err := s.get(refs[2]); err != nil {
			t.Fatalf("after freeing another binary: %v", err)
		}
	}
	s.close()
	if _, err := s.put([]byte("x")); err != errSpillClosed {
		t.Fatalf("put after close: %v", err)
	}
	if _, err := s.get(refs[2]); err != errSpillClosed {
		t.Fatalf("get after close: %v", err)
	}
	s.free(refs[2]) // no panic
}

func blocks(t *testing.T, s *spillFile) int64 {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(s.f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
