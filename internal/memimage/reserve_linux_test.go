package memimage

import (
	"testing"

	"golang.org/x/sys/unix"
)

// reservation returns n bytes of inaccessible address space, as the
// engines' memories reserve it, made accessible for a copied image.
func reservation(t testing.TB, n int) ([]byte, func()) {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	return b, func() { unix.Munmap(b) }
}

func writeFile(fd int, p []byte) error {
	_, err := unix.Pwrite(fd, p, 0)
	return err
}
