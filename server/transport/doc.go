// Package transport owns bubblewasm's transports: the layers between a
// listener's connection exchange and the router. Each transport is a
// server.Handler of the layer below that produces exchanges for the handler
// above, adding its own env keys:
//
//   - raw: the whole connection is one exchange.
//   - line: each line is one exchange; responses are written back in order.
//   - http: HTTP/1.1 via net/http; each request is one exchange, its body
//     streamed through read and its response through write.
//
// Transports are built by name from a Registry, so configuration can stack
// them without this package knowing about engines or routes.
package transport
