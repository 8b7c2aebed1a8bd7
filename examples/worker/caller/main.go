// Command caller is the HTTP front of examples/worker: it passes a
// request's body to the worker target its route names (dial.worker in
// caller.toml) and answers with the worker's reply. It does not know
// whether the worker sits on a unix socket or behind an AMQP queue: only
// the route's dial address says, and the answers are the same.
package main

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.Handle(handle) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func handle(req *bubble.Request) *bubble.Response {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil
	}
	reply, err := bubble.Call("worker", body, 0) // until the exchange's deadline
	if err != nil {
		status := 502
		if errors.Is(err, bubble.ErrTimeout) {
			status = 504
		}
		return answer(status, []byte(`{"error":"worker unavailable","status":`+strconv.Itoa(status)+"}\n"))
	}
	// An AMQP worker's reply carries its status; a socket's does not, but
	// this worker repeats it in the body.
	status := bubble.CallStatus()
	if status <= 0 {
		var stated struct{ Status int }
		json.Unmarshal(reply, &stated)
		status = stated.Status
	}
	return answer(status, reply)
}

func answer(status int, body []byte) *bubble.Response {
	h := bubble.Header{}
	h.Set("Content-Type", "application/json")
	return &bubble.Response{Status: status, Header: h, Body: body}
}
