// Command publish is the publishing side of examples/push_service: each
// JSON message it is given (one line on the json listener's unix socket is
// one exchange, already checked to be one JSON value) is published as it is
// to the channel "push", and the answer is {"delivered":N}, the number of
// subscriptions (long-polling clients) it was queued for. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o publish.wasm ./examples/push_service/publish
package main

import (
	"io"
	"strconv"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

const channel = "push"

func init() { bubble.HandleStream(publish) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func publish(x *bubble.Exchange) error {
	msg, err := io.ReadAll(x)
	if err != nil {
		return err
	}
	n, err := bubble.Publish(channel, msg)
	if err != nil {
		// Over the message size limit, say: the transport answers
		// {"error":...,"index":N} and the connection goes on.
		return err
	}
	_, err = io.WriteString(x, `{"delivered":`+strconv.Itoa(n)+"}\n")
	return err
}
