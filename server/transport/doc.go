// Package transport owns bubblewasm's transports: the layers between a
// listener's connection exchange and the router. Each transport is a
// server.Handler of the layer below that produces exchanges for the handler
// above, adding its own env keys:
//
//   - raw: the whole connection is one exchange.
//   - line: each line is one exchange; responses are written back in order.
//   - http: HTTP/1.1 and 1.0, parsed and framed by the transport itself
//     (http_request.go, http_body.go, http_writer.go); each request is one
//     exchange, its body streamed through read and its response through
//     write.
//   - json: newline-delimited JSON; each message is one exchange, framed
//     like line, with malformed messages answered by an error object.
//   - jsonrpc: JSON-RPC 2.0 on a stream (a request or batch per line) or on
//     an HTTP exchange (the POSTed body); each call is one exchange whose
//     env says the method, input is the params and output the result.
//
// Transports are built by name from a Registry, so configuration can stack
// them without this package knowing about engines or routes.
package transport
