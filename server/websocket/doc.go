// Package websocket serves WebSocket (RFC 6455) on an HTTP route: a route
// with transport = "websocket" upgrades a GET request carrying
// "Upgrade: websocket", after which every message the client sends is one
// exchange passed to the handler given to New: the route's own module
// (module = "chat.wasm" on the route), or, on a route without one, the
// router, which dispatches messages to several routes. Its env is the
// upgrade request's with bubble.transport = "websocket" and the
// websocket.* keys, its input the message, and its output, when not
// empty, is sent back as one message of the same type.
//
// The protocol itself (handshake, framing, fragmentation, ping and pong,
// close codes) is github.com/coder/websocket's, run over the connection the
// HTTP transport hands over (server.Hijacker). This package adds what
// bubblewasm needs around it:
//
//   - limits: the largest message (close 1009), the origins a browser may
//     connect from (403 before the upgrade), an idle timeout kept by pings,
//     and a cap on a route's open sockets (503);
//   - text messages that are not UTF-8 close the socket with 1007 (the
//     library leaves that check to its user);
//   - a failing exchange (a trap, a timeout) closes its socket with 1011
//     and the reason, so no message is answered out of order or lost
//     silently;
//   - follows: a handler's output header X-Bubble-Follow names pub/sub
//     channels (within the route's pubsub grant) whose messages the host
//     then writes to the socket straight from a broker subscription, so an
//     idle socket holds memory, never a wasm instance;
//   - a drain (server shutdown) closes every socket with 1001.
//
// Messages of one socket are served one after the other, in order.
package websocket
