// Command subtract is the JSON-RPC method "subtract" of examples/rpc: it
// answers minuend - subtrahend, given positional params
// [minuend, subtrahend] or named params {"minuend": m, "subtrahend": s}.
// Any other params get status 400, which the jsonrpc transport turns into
// the error -32602 Invalid params, with the output as the error's data.
package main

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

	"github.com/bubblewasm/bubblewasm/examples/rpc/internal/jsonparams"
)

func init() { bubble.Handle(subtract) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

const usage = `subtract takes [minuend, subtrahend] or {"minuend": m, "subtrahend": s}, numbers`

func subtract(req *bubble.Request) *bubble.Response {
	params, err := io.ReadAll(req.Body) // the params, at most the transport's line or body limit
	if err != nil {
		return nil // a failed read fails the exchange: Internal error
	}
	m, s, ok := operands(params)
	if !ok {
		return invalidParams(usage)
	}
	d, ok := m.Sub(s)
	if !ok {
		return invalidParams("the difference is out of range")
	}
	return &bubble.Response{Body: d.AppendJSON(nil)}
}

// operands reads the minuend and subtrahend, positional or named.
func operands(params []byte) (m, s jsonparams.Number, ok bool) {
	if nums, err := jsonparams.Numbers(params); err == nil {
		if len(nums) != 2 {
			return m, s, false
		}
		return nums[0], nums[1], true
	}
	members, err := jsonparams.NamedNumbers(params)
	if err != nil || len(members) != 2 {
		return m, s, false
	}
	var haveM, haveS bool
	for _, x := range members {
		switch x.Name {
		case "minuend":
			m, haveM = x.Value, true
		case "subtrahend":
			s, haveS = x.Value, true
		}
	}
	return m, s, haveM && haveS
}

// invalidParams answers status 400 (Invalid params) with msg as the error's
// data.
func invalidParams(msg string) *bubble.Response {
	return &bubble.Response{Status: 400, Body: jsonparams.AppendString(nil, msg)}
}
