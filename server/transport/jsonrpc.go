package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Headers a handler sets, with a status of 400 or more, to answer a JSON-RPC
// call with an error object of its own choosing.
const (
	// JSONRPCErrorCodeHeader holds the error code, a decimal integer.
	JSONRPCErrorCodeHeader = "X-JSONRPC-Error-Code"
	// JSONRPCErrorMessageHeader holds the error message (optional).
	JSONRPCErrorMessageHeader = "X-JSONRPC-Error-Message"
)

// DefaultMaxJSONRPCBodyBytes caps a JSON-RPC request carried by HTTP when
// Options.MaxBodyBytes is 0.
const DefaultMaxJSONRPCBodyBytes = 1 << 20

// JSON-RPC 2.0 error codes.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcMethodNotFound = -32601
	rpcInvalidParams  = -32602
	rpcInternalError  = -32603
	rpcServerError    = -32000 // implementation-defined: other 4xx statuses
)

var rpcMessages = map[int]string{
	rpcParseError:     "Parse error",
	rpcInvalidRequest: "Invalid Request",
	rpcMethodNotFound: "Method not found",
	rpcInvalidParams:  "Invalid params",
	rpcInternalError:  "Internal error",
	rpcServerError:    "Server error",
}

// jsonrpc serves JSON-RPC 2.0 over a stream or an HTTP exchange.
type jsonrpc struct {
	next server.Handler
	opts Options
	lineLoop
}

// NewJSONRPC returns the jsonrpc transport: JSON-RPC 2.0, each call one
// exchange for next (usually the router, matching on jsonrpc.method). It
// stacks two ways:
//
//   - On a stream (a listener's connection, or any exchange whose
//     bubble.transport is not "http"): each line holds one request or batch
//     and gets one response line, unless it needs none (notifications,
//     all-notification batches). Empty lines are skipped. Lines are served
//     one after the other; a line over MaxLineBytes is answered with an
//     Invalid Request error (id null) and the connection goes on. A peer
//     that resets the connection cancels the calls in flight; one that
//     closes its side (EOF) still gets the answers to what it sent, unless
//     writing them fails (it closed the whole connection). A connection
//     idle for IdleTimeout is closed, and so is one whose line does not
//     arrive whole within ReadTimeout of its first byte (the line is not
//     served).
//   - On an HTTP exchange (bubble.transport=http, as a route's handler): the
//     POSTed body is one request or batch, at most MaxBodyBytes (default
//     DefaultMaxJSONRPCBodyBytes; over it: 413 with an Invalid Request
//     error). The answer is 200 with Content-Type application/json, or 204
//     with no body when there is nothing to return. Other methods get 405.
//
// Each call's env is the outer env without the keys that describe the outer
// HTTP request or route (REQUEST_METHOD, REQUEST_URI, SCRIPT_NAME, PATH_INFO,
// QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, bubble.route), so the route
// that led to the transport cannot match the call again, plus
// bubble.transport=jsonrpc, jsonrpc.method, jsonrpc.id (the id's JSON text;
// absent for notifications), jsonrpc.notification=1 (notifications only),
// CONTENT_TYPE=application/json and CONTENT_LENGTH. The input is the params
// JSON, empty when the call has none.
//
// A request is one JSON object in UTF-8 (RFC 8259, section 8.1) whose
// members jsonrpc, method, params and id each appear at most once; the
// method must hold no control character (U+0000-U+001F, U+007F). A request
// that breaks a rule is answered with -32600 Invalid Request, with id null
// when the id itself is in doubt (not UTF-8, duplicated, or not a string,
// number or null). The id is echoed byte for byte as the request wrote it:
// huge and fractional numbers, escapes and long strings included.
//
// The output is the result: it must be one JSON value in UTF-8, and an
// empty output is null. How a call ends becomes its error object, checked in this order:
//
//   - an error wrapping server.ErrNoRoute: -32601 Method not found;
//   - a status of 400 or more with JSONRPCErrorCodeHeader set: that code,
//     with JSONRPCErrorMessageHeader as message (which also replaces the
//     standard message of the 4xx cases below);
//   - status 400, or an error wrapping server.ErrBadRequest: -32602 Invalid
//     params — a handler signals invalid params with SetStatus(400);
//   - status 404: -32601 Method not found;
//   - an error wrapping server.ErrRateLimited (the route's rate_limit):
//     -32000 "rate limited";
//   - any other error, a status of 500 or more, or an output that is not
//     JSON: -32603 Internal error, with a generic message (details go to the
//     log);
//   - another status of 400 or more: -32000 with the status text.
//
// For the 4xx cases an output that is JSON becomes the error's data.
// Notifications are never answered, even when they fail.
//
// A batch holds at most MaxBatch calls (default DefaultMaxBatch); a longer
// one is answered with one Invalid Request error (id null) and none of its
// calls runs. The calls of a batch run concurrently, at most
// BatchConcurrency at a time (default DefaultBatchConcurrency), and their
// responses come back in request order, each sent as soon as it and those
// before it are done. When the client goes away (its HTTP request is
// cancelled, its connection reset or an answer cannot be written) or the
// exchange's context ends (a route's timeout), calls not yet started never
// start and calls running are cancelled; where the answer can still be
// sent, each is an Internal error (-32603), the data of those that never
// started saying so. One log record sums up such a stopped request.
func NewJSONRPC(next server.Handler, opts Options) server.Handler {
	opts = opts.streamDefaults()
	return &jsonrpc{next: next, opts: opts, lineLoop: newLineLoop(opts)}
}

func (t *jsonrpc) Serve(ctx context.Context, x *server.Exchange) error {
	if x.Env[abi.EnvTransport] == "http" {
		return t.serveHTTP(ctx, x)
	}
	return t.serveLines(ctx, x, func(ctx context.Context, in *inLine) {
		if in.tooLong {
			in.out.Write(rpcErrorResponse(nullID, rpcInvalidRequest,
				fmt.Sprintf("Invalid Request: request too large (limit %d bytes)", t.opts.MaxLineBytes), nil))
			in.out.WriteByte('\n')
		} else if payload := trimJSONSpace(in.text); len(payload) > 0 && t.handle(ctx, x.Env, payload, in.out) {
			in.out.WriteByte('\n')
		}
	})
}

func (t *jsonrpc) serveHTTP(ctx context.Context, x *server.Exchange) error {
	w := x.Writer
	if x.Env[abi.EnvRequestMethod] != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return replyJSON(w, http.StatusMethodNotAllowed,
			rpcErrorResponse(nullID, rpcInvalidRequest, "Invalid Request: JSON-RPC over HTTP takes POST", nil))
	}
	limit := t.opts.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxJSONRPCBodyBytes
	}
	var body []byte
	var err error
	if n, perr := strconv.ParseInt(x.Env[abi.EnvContentLength], 10, 64); perr == nil && n > limit {
		err = server.ErrTooLarge // known to be too large: not worth reading
	} else {
		body, err = io.ReadAll(io.LimitReader(x.Reader, limit+1))
	}
	if err == nil && int64(len(body)) > limit || errors.Is(err, server.ErrTooLarge) {
		msg := fmt.Sprintf("Invalid Request: request too large (limit %d bytes)", limit)
		if errors.Is(err, abi.ErrInputTooLarge) {
			msg = "Invalid Request: request too large" // the HTTP transport's own limit
		}
		t.opts.Logger.Warn("jsonrpc request too large", "listener", x.Env[abi.EnvListener], "limit", limit, "err", err)
		w.Header().Set("Connection", "close") // the rest of the body is unread
		return replyJSON(w, http.StatusRequestEntityTooLarge, rpcErrorResponse(nullID, rpcInvalidRequest, msg, nil))
	}
	if err != nil {
		return err // the body could not be read: the HTTP transport reports it
	}
	var resp bufferSink
	if !t.handle(ctx, x.Env, body, &resp) {
		w.SetStatus(http.StatusNoContent)
		return nil
	}
	return replyJSON(w, http.StatusOK, resp.Bytes())
}

func replyJSON(w server.ResponseWriter, status int, body []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.SetStatus(status)
	_, err := w.Write(body)
	return err
}

// rpcRequest is a valid request object.
type rpcRequest struct {
	method string
	id     json.RawMessage // nil for a notification
	params json.RawMessage // nil when absent
}

var nullID = json.RawMessage("null")

// parseRequest checks one request object. On failure it returns why, and the
// id to answer with: the request's own when it has a valid one, else null.
//
// raw is one valid JSON value. A request must also be UTF-8 (RFC 8259,
// section 8.1: JSON text exchanged between systems is), or its id could not
// be echoed as JSON text, and the JSON-RPC members must each appear once, so
// that no other reader of the same bytes can see another method or id.
func parseRequest(raw []byte) (req rpcRequest, id json.RawMessage, problem string) {
	if len(raw) == 0 || raw[0] != '{' {
		return req, nullID, "a request must be a JSON object"
	}
	if !utf8.Valid(raw) {
		return req, nullID, "a request must be UTF-8 text"
	}
	m, dup := requestMembers(raw)
	if dup != "" {
		return req, nullID, fmt.Sprintf("member %q appears more than once", dup)
	}
	id = nullID
	if v, ok := m["id"]; ok {
		switch c := v[0]; {
		case c == '"', c == '-', c >= '0' && c <= '9', c == 'n':
			id, req.id = v, v
		default:
			return req, nullID, "id must be a string, a number or null"
		}
	}
	var version string
	if v, ok := m["jsonrpc"]; !ok || v[0] != '"' || json.Unmarshal(v, &version) != nil || version != "2.0" {
		return req, id, `jsonrpc must be exactly "2.0"`
	}
	if v, ok := m["method"]; !ok || v[0] != '"' || json.Unmarshal(v, &req.method) != nil {
		return req, id, "method must be a string"
	}
	if strings.ContainsFunc(req.method, isControl) {
		return req, id, "method must not contain control characters"
	}
	if v, ok := m["params"]; ok {
		if v[0] != '[' && v[0] != '{' {
			return req, id, "params must be an array or an object"
		}
		req.params = v
	}
	return req, id, ""
}

// requestMembers returns the members of raw, a valid JSON object, by name
// (escapes decoded), or the name of a JSON-RPC member that appears twice.
func requestMembers(raw []byte) (m map[string]json.RawMessage, dup string) {
	m = map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return m, ""
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		if _, seen := m[name]; seen {
			switch name {
			case "jsonrpc", "method", "params", "id":
				return nil, name
			}
		}
		m[name] = v
	}
	return m, ""
}

// isControl reports the characters a method name must not hold: C0
// controls and DEL (a NUL would cut env values short in a CGI guest).
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// outerRequestKeys describe the exchange the transport serves, not a call.
var outerRequestKeys = []string{
	abi.EnvRequestMethod, abi.EnvRequestURI, abi.EnvScriptName, abi.EnvPathInfo,
	abi.EnvQueryString, abi.EnvContentType, abi.EnvContentLength, abi.EnvRoute,
	abi.EnvJSONRPCID, abi.EnvJSONRPCNotification,
}

// callResult is how one call ended.
type callResult struct {
	resp    []byte // the response; nil for none (a notification)
	stopped bool   // it failed after ctx ended: the caller logs it, in sum
}

// call serves one request object.
func (t *jsonrpc) call(ctx context.Context, outer server.Env, raw []byte) callResult {
	req, id, problem := parseRequest(raw)
	if problem != "" {
		return callResult{resp: rpcErrorResponse(id, rpcInvalidRequest, "", jsonString(problem))}
	}
	env := outer.Clone()
	for _, k := range outerRequestKeys {
		delete(env, k)
	}
	env[abi.EnvTransport] = "jsonrpc"
	env[abi.EnvJSONRPCMethod] = req.method
	if req.id != nil {
		env[abi.EnvJSONRPCID] = string(req.id)
	} else {
		env[abi.EnvJSONRPCNotification] = "1"
	}
	env[abi.EnvContentType] = "application/json"
	env[abi.EnvContentLength] = strconv.Itoa(len(req.params))
	w := &server.BufferedWriter{}
	err := t.invoke(ctx, env, req.params, w)

	code, data, note := outcome(err, w)
	stopped := code != 0 && ctx.Err() != nil
	if code != 0 && !stopped {
		level := slog.LevelDebug // the caller's mistake: its access record says enough
		if code == rpcInternalError || w.Status() >= 500 {
			level = slog.LevelError
		}
		t.opts.Logger.Log(withRequestID(ctx, env), level, "jsonrpc call failed", "listener", env[abi.EnvListener], "method", req.method,
			"id", env[abi.EnvJSONRPCID], "method_route", env[abi.EnvRoute], "status", w.Status(), "code", code, "err", err, "note", note)
	}
	if req.id == nil {
		return callResult{stopped: stopped} // notifications are never answered
	}
	if code == 0 {
		return callResult{resp: rpcResultResponse(id, data)}
	}
	msg := ""
	if code != rpcInternalError {
		msg = w.Header().Get(JSONRPCErrorMessageHeader)
		if msg == "" && code == rpcServerError {
			msg = http.StatusText(w.Status())
			if err != nil {
				msg = server.ErrorMessage(err)
			}
		}
	}
	return callResult{resp: rpcErrorResponse(id, code, msg, data), stopped: stopped}
}

// invoke runs next on one call; a panic is an internal error.
func (t *jsonrpc) invoke(ctx context.Context, env server.Env, params []byte, w *server.BufferedWriter) (err error) {
	defer func() {
		if p := recover(); p != nil {
			t.opts.Logger.Error("jsonrpc handler panicked", "method", env[abi.EnvJSONRPCMethod], "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: panic: %v", server.ErrHandlerFailed, p)
		}
	}()
	return t.next.Serve(ctx, &server.Exchange{Env: env, Reader: bytes.NewReader(params), Writer: w})
}

// outcome maps how a call ended to an error code (0: success) and the result
// or error data, with a note for the log. NewJSONRPC documents the rules.
func outcome(err error, w *server.BufferedWriter) (code int, data json.RawMessage, note string) {
	out := trimJSONSpace(w.Bytes())
	status := w.Status()
	var outJSON json.RawMessage
	if len(out) > 0 && json.Valid(out) && utf8.Valid(out) {
		outJSON = out
	}
	if errors.Is(err, server.ErrNoRoute) {
		return rpcMethodNotFound, nil, ""
	}
	if custom := w.Header().Get(JSONRPCErrorCodeHeader); status >= 400 && custom != "" {
		c, perr := strconv.Atoi(custom)
		switch {
		case perr != nil:
			// Fall through to the status's own error.
			note = fmt.Sprintf("%s %q is not an integer", JSONRPCErrorCodeHeader, custom)
		case status >= 500:
			return c, nil, ""
		default:
			return c, outJSON, ""
		}
	}
	switch {
	case status == http.StatusBadRequest, errors.Is(err, server.ErrBadRequest):
		return rpcInvalidParams, outJSON, note
	case status == http.StatusNotFound:
		return rpcMethodNotFound, outJSON, note
	case errors.Is(err, server.ErrRateLimited):
		return rpcServerError, nil, note
	case err != nil, status >= 500:
		return rpcInternalError, nil, note
	case status >= 400:
		return rpcServerError, outJSON, note
	case len(out) == 0:
		return 0, nullID, ""
	case outJSON == nil:
		return rpcInternalError, nil, fmt.Sprintf("the result (%d bytes) is not one JSON value in UTF-8", len(out))
	}
	return 0, outJSON, ""
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
	ID      json.RawMessage `json:"id"`
}

func rpcResultResponse(id, result json.RawMessage) []byte {
	return encodeResponse(rpcResponse{JSONRPC: "2.0", Result: result, ID: id})
}

// rpcErrorResponse builds an error response; an empty msg is the code's
// standard message.
func rpcErrorResponse(id json.RawMessage, code int, msg string, data json.RawMessage) []byte {
	if msg == "" {
		msg = rpcMessages[code]
		if msg == "" {
			msg = rpcMessages[rpcServerError]
		}
	}
	return encodeResponse(rpcResponse{JSONRPC: "2.0", Error: &rpcError{Code: code, Message: msg, Data: data}, ID: id})
}

// encodeResponse encodes r on one line (compacting the raw parts) without
// the final newline.
func encodeResponse(r rpcResponse) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		// Only invalid raw JSON fails, and every raw part was checked.
		return []byte(`{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}`)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

var _ server.Shutdowner = (*jsonrpc)(nil)
