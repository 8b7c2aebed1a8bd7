//go:build wasip1

package bubble

// warmAllocator makes the Go allocator hold a span of every small size
// class, for objects with and without pointers.
func warmAllocator() {
	for _, size := range sizeClasses {
		warmSink = make([]byte, size)
		warmPtrs = make([]*byte, size/8)
	}
	warmSink, warmPtrs = nil, nil
}

var sizeClasses = []int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024}

var (
	warmSink []byte
	warmPtrs []*byte
)
