// Command notify_sum is the JSON-RPC method "notify_sum" of examples/rpc, a
// notification in the specification's all-notification batch: it accepts
// any params, logs the call and answers null. The transport drops a
// notification's answer; a call with an id gets {"result": null}.
package main

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.Handle(notifySum) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

// maxLogged bounds the params quoted in the log.
const maxLogged = 256

func notifySum(req *bubble.Request) *bubble.Response {
	params, err := io.ReadAll(io.LimitReader(req.Body, maxLogged+1))
	if err != nil {
		return nil // a failed read fails the exchange: Internal error
	}
	if len(params) > maxLogged {
		params = append(params[:maxLogged], "..."...)
	}
	what := "call"
	if req.Env["jsonrpc.notification"] == "1" {
		what = "notification"
	}
	bubble.Log(bubble.LevelInfo, "notify_sum: "+what+" with params "+string(params))
	return &bubble.Response{Body: []byte("null")}
}
