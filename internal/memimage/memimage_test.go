package memimage

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

const wasmPage = 64 << 10

// pattern returns n bytes no two pages of which are alike.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4096)
	}
	return b
}

// scribble writes a secret into some pages of mem: the first, one in the
// middle, the last byte.
func scribble(mem []byte) {
	copy(mem, "SECRET-token-of-user-A")
	copy(mem[len(mem)/2+100:], "SECRET-token-of-user-A")
	mem[len(mem)-1] ^= 0xff
}

// TestReset checks that a memory made from an image is the image again
// after Reset, whatever was written, by every way Reset has of finding
// what changed, and for an image that is copied.
func TestReset(t *testing.T) {
	cases := []struct {
		name string
		size int
		how  int32 // for a mapped image
	}{
		{"copied", wasmPage, -1},
		{"mapped, PAGEMAP_SCAN", 16 * wasmPage, scanIoctl},
		{"mapped, pagemap read", 16 * wasmPage, scanRead},
		{"mapped, dropped", 16 * wasmPage, scanNone},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := pattern(c.size)
			im, err := New(want)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if c.how >= 0 && !im.Mapped() {
				t.Skipf("images are not mapped on %s", runtime.GOOS)
			}
			if c.how >= 0 {
				im.file.how.Store(c.how)
			}
			mem, free := reservation(t, c.size+wasmPage)
			defer free()
			mapped, err := im.Init(mem)
			if err != nil {
				t.Fatal(err)
			}
			if mapped != im.Mapped() {
				t.Fatalf("Init mapped = %v, image Mapped = %v", mapped, im.Mapped())
			}
			mem = mem[:c.size]
			if !bytes.Equal(mem, want) {
				t.Fatal("a new memory is not the image")
			}
			for round := range 3 {
				scribble(mem)
				if err := im.Reset(mem, mapped); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mem, want) {
					t.Fatalf("round %d: after Reset the memory differs from the image at byte %d", round, firstDiff(mem, want))
				}
			}
			if c.how == scanIoctl && im.file.how.Load() != scanIoctl {
				t.Logf("this kernel has no PAGEMAP_SCAN: Reset read the pagemap instead")
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestResetRefusesGrownMemory checks that a memory that is not the image's
// size is not reset (a memory that grew is discarded instead).
func TestResetRefusesGrownMemory(t *testing.T) {
	im, err := New(pattern(wasmPage))
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if err := im.Reset(make([]byte, 2*wasmPage), false); err == nil {
		t.Fatal("Reset accepted a memory twice the image's size")
	}
	if _, err := im.Init(make([]byte, wasmPage/2)); err == nil {
		t.Fatal("Init accepted a memory smaller than the image")
	}
}

// TestNewRefusesPartialPages checks that an image is whole wasm pages.
func TestNewRefusesPartialPages(t *testing.T) {
	for _, n := range []int{1, wasmPage - 1, wasmPage + 4096} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New accepted %d bytes", n)
		}
	}
}

// TestImageIsSealed checks that the bytes instances map cannot change:
// the memfd refuses writes, so no one holding its descriptor can alter
// what every instance of the route starts from.
func TestImageIsSealed(t *testing.T) {
	im, err := New(pattern(MapThreshold))
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if !im.Mapped() {
		t.Skipf("images are not mapped on %s", runtime.GOOS)
	}
	if err := writeFile(im.Fd(), []byte("x")); err == nil {
		t.Fatal("wrote into a sealed image")
	}
}

// BenchmarkReset measures Reset after an exchange that wrote three pages,
// for images of the sizes of the hello modules (WAT and AssemblyScript 64
// KiB, C and Rust 128 KiB, Go 2.4 MiB) and every way of finding written
// pages.
func BenchmarkReset(b *testing.B) {
	for _, size := range []int{wasmPage, 2 * wasmPage, 38 * wasmPage} {
		for _, how := range []struct {
			name string
			how  int32
		}{{"copy", -1}, {"scan", scanIoctl}, {"read", scanRead}} {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, how.name), func(b *testing.B) {
				want := pattern(size)
				im := &Image{data: want}
				if how.how >= 0 {
					f, data, err := newFile(want)
					if err != nil {
						b.Skip(err)
					}
					im = &Image{data: data, file: f}
					f.how.Store(how.how)
				}
				defer im.Close()
				mem, free := reservation(b, size)
				defer free()
				mapped, err := im.Init(mem)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					mem[0], mem[size/2], mem[size-1] = 1, 2, 3
					if err := im.Reset(mem, mapped); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
