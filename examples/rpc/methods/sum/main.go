// Command sum is the JSON-RPC method "sum" of examples/rpc: it answers the
// sum of its positional params, an array of numbers ([] sums to 0). Other
// params get status 400: Invalid params.
package main

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

	"github.com/bubblewasm/bubblewasm/examples/rpc/internal/jsonparams"
)

func init() { bubble.Handle(sum) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func sum(req *bubble.Request) *bubble.Response {
	params, err := io.ReadAll(req.Body)
	if err != nil {
		return nil // a failed read fails the exchange: Internal error
	}
	nums, err := jsonparams.Numbers(params)
	if err != nil {
		return invalidParams("sum takes an array of numbers: " + err.Error())
	}
	total := jsonparams.Int(0)
	for _, n := range nums {
		var ok bool
		if total, ok = total.Add(n); !ok {
			return invalidParams("the sum is out of range")
		}
	}
	return &bubble.Response{Body: total.AppendJSON(nil)}
}

// invalidParams answers status 400 (Invalid params) with msg as the error's
// data.
func invalidParams(msg string) *bubble.Response {
	return &bubble.Response{Status: 400, Body: jsonparams.AppendString(nil, msg)}
}
