// Command notify_sum is the JSON-RPC method "notify_sum" of examples/rpc, a
// notification in the specification's examples: it accepts any params, logs
// the call and answers null (package notify).
package main

import (
	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

	"github.com/bubblewasm/bubblewasm/examples/rpc/internal/notify"
)

func init() { bubble.Handle(notify.Handler("notify_sum")) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}
