// Command update is the JSON-RPC method "update" of examples/rpc, a
// notification in the specification's examples: it accepts any params, logs
// the call and answers null (package notify).
package main

import (
	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

	"github.com/bubblewasm/bubblewasm/examples/rpc/internal/notify"
)

func init() { bubble.Handle(notify.Handler("update")) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}
