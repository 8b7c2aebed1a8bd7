package memimage

import (
	"bytes"
	"os"
	"testing"
)

// TestMappedImagesBoundedByDescriptors: each mapped image holds one file
// descriptor (its memfd; the pagemap is the process's, opened once), and
// past the bound New copies instead of mapping, with the same contents;
// closing a mapped image makes room again.
func TestMappedImagesBoundedByDescriptors(t *testing.T) {
	saved := maxFiles
	t.Cleanup(func() { maxFiles = saved })
	limit := files.Load() + 2
	maxFiles = func() int64 { return limit }

	contents := pattern(MapThreshold)
	sharedPagemap() // opened once for the process, by the first image
	fds := openFiles(t)
	var mapped []*Image
	for range 2 {
		im, err := New(contents)
		if err != nil || !im.Mapped() {
			t.Fatalf("image under the bound: mapped %v, err %v", im != nil && im.Mapped(), err)
		}
		mapped = append(mapped, im)
	}
	if got := openFiles(t) - fds; got != 2 {
		t.Fatalf("two mapped images opened %d descriptors, want 2 (one memfd each)", got)
	}
	over, err := New(contents)
	if err != nil || over.Mapped() || !bytes.Equal(over.Bytes(), contents) {
		t.Fatalf("image over the bound: mapped %v, err %v; want a copy of the contents", over.Mapped(), err)
	}
	over.Close()
	mapped[0].Close()
	again, err := New(contents)
	if err != nil || !again.Mapped() {
		t.Fatalf("after closing one: mapped %v, err %v; want mapped", again.Mapped(), err)
	}
	again.Close()
	mapped[1].Close()
	if got := openFiles(t) - fds; got != 0 {
		t.Fatalf("%d descriptors left after closing every image", got)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}
