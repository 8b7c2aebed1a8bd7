// Command get_data is the JSON-RPC method "get_data" of examples/rpc: it
// takes no params (absent, [] or {}) and answers ["hello", 5]. Other params
// get status 400: Invalid params.
package main

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

	"github.com/bubblewasm/bubblewasm/examples/rpc/internal/jsonparams"
)

func init() { bubble.Handle(getData) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func getData(req *bubble.Request) *bubble.Response {
	params, err := io.ReadAll(req.Body)
	if err != nil {
		return nil // a failed read fails the exchange: Internal error
	}
	if err := jsonparams.Empty(params); err != nil {
		return &bubble.Response{Status: 400, Body: jsonparams.AppendString(nil, "get_data takes no params")}
	}
	return &bubble.Response{Body: []byte(`["hello", 5]`)}
}
