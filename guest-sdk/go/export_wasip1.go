//go:build wasip1

package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// bubbleHandle is the ABI's per-exchange entry point.
//
//go:wasmexport bubble_handle
func bubbleHandle() int32 { return host.Handle() }

// bubbleInit rejects an instance whose module registered no handler. The
// message goes to stderr, which the host logs: the log import belongs to
// exchanges.
//
//go:wasmexport bubble_init
func bubbleInit() int32 {
	if !host.Registered() {
		println(host.NoHandler)
		return 1
	}
	warmAllocator()
	return 0
}
