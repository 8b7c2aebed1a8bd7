package wasm

import (
	"os"

	"golang.org/x/sys/unix"
)

// punchHole frees the blocks of f from off for n bytes, keeping its size.
// A file system that cannot (errors are ignored) keeps the space until the
// file is closed.
func punchHole(f *os.File, off, n int64) {
	_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
