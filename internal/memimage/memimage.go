package memimage

import "fmt"

// MapThreshold is the size from which an image is mapped copy-on-write
// (where the platform can) instead of copied: below it, copying the whole
// image costs less than asking the kernel which pages changed.
const MapThreshold = 128 << 10

// Image is the contents a linear memory starts from and is reset to. It is
// safe for concurrent use; Close it once no memory maps it any more.
type Image struct {
	data []byte // the contents, read-only
	file *file  // the sealed memfd holding data; nil when it is copied
}

// New returns an image holding a copy of contents, whose length must be a
// multiple of the 64 KiB WebAssembly page.
func New(contents []byte) (*Image, error) {
	if len(contents)%(64<<10) != 0 {
		return nil, fmt.Errorf("memory image of %d bytes: not a whole number of 64 KiB pages", len(contents))
	}
	im := &Image{}
	if len(contents) >= MapThreshold {
		f, data, err := newFile(contents)
		if err == nil {
			im.file, im.data = f, data
			return im, nil
		}
		// No memfd here (seccomp, an old kernel): copy instead.
	}
	im.data = append([]byte(nil), contents...)
	return im, nil
}

// Len is the image's size in bytes.
func (im *Image) Len() int { return len(im.data) }

// Bytes returns the image's contents. The caller must not modify them (on
// Linux they are a read-only mapping: a write faults).
func (im *Image) Bytes() []byte { return im.data }

// Mapped reports whether memories map the image (Fd, Map) rather than
// copy it.
func (im *Image) Mapped() bool { return im.file != nil }

// Fd returns the file descriptor of the sealed memfd that holds the image,
// for an adapter that maps it itself (MAP_PRIVATE, offset 0, Len bytes),
// or -1 when the image is not Mapped.
func (im *Image) Fd() int {
	if im.file == nil {
		return -1
	}
	return im.file.fd
}

// Init makes mem (at least Len bytes, page-aligned, readable and writable
// or a reservation the caller owns) start as the image: mapped
// copy-on-write over its first Len bytes when the image is Mapped, else
// copied. It reports whether it mapped, which Reset must be told.
func (im *Image) Init(mem []byte) (mapped bool, err error) {
	if len(mem) < len(im.data) {
		return false, fmt.Errorf("memory of %d bytes is smaller than its image of %d", len(mem), len(im.data))
	}
	if im.file != nil {
		if err := im.file.mapOver(mem[:len(im.data)]); err != nil {
			return false, err
		}
		return true, nil
	}
	copy(mem, im.data)
	return false, nil
}

// Reset makes mem, a memory that started as the image, equal to it again.
// mapped says the memory maps the image (Init reported true, or the
// adapter mapped Fd): then only the pages written since are copied back.
// len(mem) must equal Len: a memory that grew cannot be reset.
func (im *Image) Reset(mem []byte, mapped bool) error {
	if len(mem) != len(im.data) {
		return fmt.Errorf("memory of %d bytes cannot be reset to an image of %d", len(mem), len(im.data))
	}
	if mapped && im.file != nil {
		return im.file.restore(mem, im.data)
	}
	copy(mem, im.data)
	return nil
}

// Close releases the image's file and mapping. No memory may still map it
// for Reset (an existing private mapping stays valid).
func (im *Image) Close() error {
	if im.file == nil {
		return nil
	}
	f := im.file
	im.file = nil
	return f.close(im.data)
}
