// Package server owns the shape every exchange has on its way from the
// network to a handler, and nothing about any one protocol or engine.
//
// An exchange ([Exchange]) is one unit of work: a CGI-like [Env], a reader
// for its input and a [ResponseWriter] for its output. A [Handler] serves
// exchanges; transports (package transport) are handlers that wrap the
// handler above them, adding their env keys and framing, so that layers
// stack the way net/http middleware does. The [Router] picks a route by the
// env (path patterns, methods) and hands the exchange to that route's
// handler (package wasm, longpoll, ...).
//
// A [Source] produces exchanges and serves them into a handler: it starts
// with Serve, says when it accepts work with Ready, and stops with Shutdown,
// finishing what runs. Package app composes sources without knowing their
// kind. Two kinds exist: a [Socket] (one TCP or unix listener, bound here
// or inherited from systemd by name, "systemd://NAME"; its connections run
// by a [Server] through a transport stack) and an AMQP consumer (package
// amqp). A new kind of source — a TLS listener, say — implements Source and
// nothing else here changes.
//
// Network addresses have one parser, [ParseAddress], and connection limits
// (timeouts, maximum connections) are applied here once for every
// transport. Errors map to statuses in one place, [StatusOf]; handlers and
// transports wrap the sentinels of errors.go ([ErrHandlerFailed],
// [ErrOverloaded], [ErrBadGateway], ...) rather than choosing codes.
package server
