// Command wordcount is the module of examples/worker: a pure function from
// {"text": "..."} to {"words": N, "chars": M, "upper": "..."}. It knows
// nothing of sockets or queues: the same build answers a line on the json
// listener's unix socket (unix.toml) and a message on an AMQP queue
// (amqp.toml). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o wordcount.wasm ./examples/worker/wordcount
//
// Invalid input gets status 400 and {"error": "...", "status": 400}. The
// status is repeated in the body because the json transport sends bodies
// only; an AMQP reply also carries it in its x-bubble-status header.
package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

// Result is the answer to a valid input.
type Result struct {
	Words int    `json:"words"`
	Chars int    `json:"chars"` // Unicode code points, not bytes
	Upper string `json:"upper"`
}

// Failure is the answer to an invalid one.
type Failure struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func init() { bubble.Handle(handle) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func handle(req *bubble.Request) *bubble.Response {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil // the host's read failed: fail the exchange
	}
	text, problem := parse(body)
	if problem != "" {
		return reply(400, Failure{Error: problem, Status: 400})
	}
	return reply(200, Count(text))
}

// Count is the worker's function.
func Count(text string) Result {
	return Result{Words: len(strings.Fields(text)), Chars: utf8.RuneCountInString(text), Upper: strings.ToUpper(text)}
}

// parse returns the input's text, or why the input is not
// {"text": "..."}.
func parse(body []byte) (string, string) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return "", `input must be a JSON object like {"text": "..."}`
	}
	raw, ok := in["text"]
	if !ok {
		return "", `missing "text"`
	}
	if len(in) != 1 {
		return "", `only "text" is accepted`
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil || bytes.Equal(raw, []byte("null")) {
		return "", `"text" must be a string`
	}
	return text, ""
}

// reply encodes v as one line of JSON.
func reply(status int, v any) *bubble.Response {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // cannot fail on these types; ends with "\n"
	h := bubble.Header{}
	h.Set("Content-Type", "application/json")
	return &bubble.Response{Status: status, Header: h, Body: out.Bytes()}
}
