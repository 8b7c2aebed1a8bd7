// Package notify is the body shared by the example's notification methods
// (update, notify_hello, notify_sum): accept any params, log the call, and
// answer null. The transport drops a notification's answer; a call with an
// id gets {"result": null}.
package notify

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

// maxLogged bounds the params quoted in the log.
const maxLogged = 256

// Handler returns the handler of the method name.
func Handler(name string) func(req *bubble.Request) *bubble.Response {
	return func(req *bubble.Request) *bubble.Response {
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
		bubble.Log(bubble.LevelInfo, name+": "+what+" with params "+string(params))
		return &bubble.Response{Body: []byte("null")}
	}
}
