// Package memimage keeps the image of a linear memory that instances of a
// module start from and are reset to after every exchange (the snapshot
// lifecycle of server/wasm): the memory as the module's initialization
// left it.
//
// An image is used two ways. A new instance's memory starts as the image
// (Map, or a copy); after an exchange, Reset makes the memory the image
// again. Both engine adapters share it: the wazero adapter maps the image
// in Go, the wasmtime adapter's memory creator in C with the image's file
// descriptor.
//
// # Copy-on-write on Linux
//
// An image of at least MapThreshold bytes lives in a sealed memfd (its
// contents can never change once made). An instance's memory maps it
// MAP_PRIVATE: the instance reads the image's pages (one copy in the page
// cache for every instance of the route) and its first write to a page
// gives it a private copy. Reset asks the kernel which pages of the
// mapping are private — written since the mapping was made — with the
// PAGEMAP_SCAN ioctl of /proc/self/pagemap (Linux 6.7) or, on older
// kernels, by reading the pagemap entries, and copies the image's bytes
// back over those pages only. It does not give them back to the file
// (madvise(MADV_DONTNEED)): measured on a 2-core VM, faulting a page in
// again costs 2-8 µs, copying 4 KiB well under one, and the pages an
// exchange writes are the same every time (the memory and the request
// are). A page is counted as written when its entry is present or swapped
// out and not a page of the file, so a written page that went to swap is
// restored too. When neither way of asking works (no /proc), Reset drops
// every page of the mapping with MADV_DONTNEED, which is correct and slow.
//
// Smaller images, and every image elsewhere than on Linux, are copied: a
// new memory gets a copy, and Reset copies the whole image back (64 KiB
// take about 1.3 µs, less than asking the kernel about the pages).
package memimage
