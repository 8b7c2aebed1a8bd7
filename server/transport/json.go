package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// jsonTransport serves each newline-delimited JSON message of a connection
// as one exchange.
type jsonTransport struct {
	next server.Handler
	opts Options
	lineLoop
}

// NewJSON returns the json transport: newline-delimited JSON (JSON Lines)
// over any stream connection. It frames like the line transport, with JSON
// on top:
//
//   - Each line holding a JSON value is one message and one exchange. The
//     exchange's input is the value without surrounding whitespace; env has
//     bubble.transport=json, json.index (1-based message number on the
//     connection), CONTENT_LENGTH and CONTENT_TYPE=application/json.
//   - Empty (or whitespace-only) lines are skipped and not counted.
//   - The output is sent back in order, followed by "\n" unless it already
//     ends with one; an exchange that writes nothing sends nothing. The
//     output is not checked: the handler is trusted to write JSON lines.
//   - A line that is not one valid JSON value is answered with
//     {"error":"malformed JSON: REASON","index":N}, a line over MaxLineBytes
//     with {"error":"message too long (limit L bytes)","index":N} and a failed
//     exchange with {"error":"MESSAGE","index":N}, where MESSAGE is the
//     generic message of the line transport's error lines. The connection
//     goes on in every case.
func NewJSON(next server.Handler, opts Options) server.Handler {
	opts = opts.streamDefaults()
	return &jsonTransport{next: next, opts: opts, lineLoop: newLineLoop(opts)}
}

func (t *jsonTransport) Serve(ctx context.Context, x *server.Exchange) error {
	index := 0
	return t.serveLines(ctx, x, func(ctx context.Context, in *inLine) {
		msg := trimJSONSpace(in.text)
		if !in.tooLong && len(msg) == 0 {
			return
		}
		index++
		if in.tooLong {
			writeJSONError(in.out, fmt.Sprintf("message too long (limit %d bytes)", t.opts.MaxLineBytes), index)
			return
		}
		if !json.Valid(msg) {
			writeJSONError(in.out, "malformed JSON: "+jsonSyntaxError(msg), index)
			return
		}
		env := x.Env.Clone()
		env[abi.EnvTransport] = "json"
		env[abi.EnvJSONIndex] = strconv.Itoa(index)
		env[abi.EnvContentLength] = strconv.Itoa(len(msg))
		env[abi.EnvContentType] = "application/json"
		if err := serveFramed(ctx, t.next, env, msg, in); err != nil {
			t.opts.Logger.Log(withRequestID(ctx, env), server.FailureLevel(ctx, err), "json exchange failed", "listener", env[abi.EnvListener], "index", index, "err", err)
			writeJSONError(in.out, server.ErrorMessage(err), index)
		}
	})
}

// writeJSONError writes the json transport's error object for message
// index, as one line.
func writeJSONError(w *bufio.Writer, msg string, index int) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Error string `json:"error"`
		Index int    `json:"index"`
	}{msg, index})
}

// jsonSyntaxError says why b, which json.Valid rejected, is not JSON.
func jsonSyntaxError(b []byte) string {
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return err.Error()
	}
	return "not a single JSON value"
}

// trimJSONSpace removes JSON whitespace around b.
func trimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

var _ server.Shutdowner = (*jsonTransport)(nil)
