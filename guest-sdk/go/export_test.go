package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// Unregister lets the tests register a handler per test.
func Unregister() { host.Unregister() }
