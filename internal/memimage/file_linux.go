package memimage

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// file is an image's sealed memfd, its read-only mapping, and the
// process's pagemap through which Reset finds written pages.
type file struct {
	fd      int
	pagemap *os.File // the process's (sharedPagemap); nil when it cannot be opened
	// how is the way Reset finds written pages: scanIoctl until the
	// kernel refuses PAGEMAP_SCAN, then scanRead; scanNone drops every
	// page.
	how atomic.Int32
}

const (
	scanIoctl int32 = iota
	scanRead
	scanNone
)

func newFile(contents []byte) (*file, []byte, error) {
	if files.Add(1) > maxFiles() {
		files.Add(-1)
		return nil, nil, errTooManyFiles
	}
	fd, err := unix.MemfdCreate("bubblewasm-memory-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		files.Add(-1)
		return nil, nil, err
	}
	fail := func(err error) (*file, []byte, error) {
		unix.Close(fd)
		files.Add(-1)
		return nil, nil, err
	}
	for off := 0; off < len(contents); {
		n, err := unix.Pwrite(fd, contents[off:], int64(off))
		if err != nil {
			return fail(err)
		}
		off += n
	}
	// Sealed, the image can no longer change: a private mapping of it sees
	// the same bytes forever.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fail(err)
	}
	data, err := unix.Mmap(fd, 0, len(contents), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	f := &file{fd: fd, pagemap: sharedPagemap()}
	if f.pagemap == nil {
		f.how.Store(scanNone)
	}
	return f, data, nil
}

// Every mapped image holds a file descriptor (its memfd) for as long as it
// lives: a server of many snapshot routes would otherwise spend the
// process's descriptors on images and have none left for its connections
// and files. Images are mapped while they hold at most a quarter of the
// process's descriptor limit (which Go raises to the hard limit at start);
// beyond, New copies them (errTooManyFiles).
var (
	files    atomic.Int64 // memfds of live images
	maxFiles = sync.OnceValue(func() int64 {
		var l unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur == unix.RLIM_INFINITY {
			return 4096
		}
		return int64(l.Cur / 4)
	})
	errTooManyFiles = errors.New("memory images hold a quarter of the process's file descriptors already")
)

// sharedPagemap is /proc/self/pagemap, opened once for every image (reads
// at an offset need no lock); nil when it cannot be opened.
var sharedPagemap = sync.OnceValue(func() *os.File {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil
	}
	return f
})

// mapOver maps the image copy-on-write over mem, which has the image's
// length and is page-aligned.
func (f *file) mapOver(mem []byte) error {
	_, err := unix.MmapPtr(f.fd, 0, unsafe.Pointer(unsafe.SliceData(mem)), uintptr(len(mem)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	return err
}

func (f *file) close(data []byte) error {
	err := unix.Munmap(data)
	files.Add(-1)
	return errors.Join(err, unix.Close(f.fd))
}

// restore copies image back over the pages of mem (a private mapping of
// the image) that were written.
func (f *file) restore(mem, image []byte) error {
	switch f.how.Load() {
	case scanIoctl:
		err := f.scan(mem, image)
		if err != unix.ENOTTY && err != unix.EINVAL {
			return err
		}
		f.how.Store(scanRead) // a kernel before 6.7
		fallthrough
	case scanRead:
		if err := f.read(mem, image); err == nil {
			return nil
		}
		f.how.Store(scanNone)
	}
	// Drop every page: reads fault the image's pages back in.
	return unix.Madvise(mem, unix.MADV_DONTNEED)
}

// The PAGEMAP_SCAN ioctl (linux/fs.h).
const (
	pagemapScan   = 0xc0606610 // _IOWR('f', 16, struct pm_scan_arg)
	pageIsFile    = 1 << 2
	pageIsPresent = 1 << 3
	pageIsSwapped = 1 << 4
)

type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

type pageRegion struct{ start, end, categories uint64 }

type scanBuf struct {
	arg     pmScanArg
	regions [32]pageRegion
	entries [512]uint64 // pagemap entries, for read
}

var scanBufs = sync.Pool{New: func() any { return new(scanBuf) }}

// scan asks for the written pages of mem with PAGEMAP_SCAN: pages present
// or swapped, and not pages of the file.
func (f *file) scan(mem, image []byte) error {
	b := scanBufs.Get().(*scanBuf)
	defer scanBufs.Put(b)
	base := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(mem))))
	end := base + uint64(len(mem))
	for start := base; start < end; {
		b.arg = pmScanArg{
			size: uint64(unsafe.Sizeof(b.arg)), start: start, end: end,
			vec: uint64(uintptr(unsafe.Pointer(&b.regions[0]))), vecLen: uint64(len(b.regions)),
			categoryInverted: pageIsFile, categoryMask: pageIsFile,
			categoryAnyofMask: pageIsPresent | pageIsSwapped, returnMask: pageIsFile,
		}
		n, _, errno := unix.Syscall(unix.SYS_IOCTL, f.pagemap.Fd(), pagemapScan, uintptr(unsafe.Pointer(&b.arg)))
		if errno != 0 {
			return errno
		}
		for _, r := range b.regions[:n] {
			lo, hi := r.start-base, r.end-base
			copy(mem[lo:hi], image[lo:hi])
		}
		if b.arg.walkEnd <= start {
			break // no progress: never loop
		}
		start = b.arg.walkEnd
	}
	return nil
}

// Pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwap    = 1 << 62
	pmFile    = 1 << 61
)

// read finds the written pages of mem by reading their pagemap entries.
func (f *file) read(mem, image []byte) error {
	b := scanBufs.Get().(*scanBuf)
	defer scanBufs.Put(b)
	const page = 4096
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&b.entries[0])), len(b.entries)*8)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	pages := len(mem) / page
	for first := 0; first < pages; first += len(b.entries) {
		n := min(pages-first, len(b.entries))
		if _, err := f.pagemap.ReadAt(buf[:n*8], int64(base/page+uintptr(first))*8); err != nil {
			return err
		}
		for i := range n {
			e := binary.LittleEndian.Uint64(buf[i*8:])
			if e&(pmPresent|pmSwap) != 0 && e&pmFile == 0 {
				at := (first + i) * page
				copy(mem[at:at+page], image[at:at+page])
			}
		}
	}
	return nil
}
