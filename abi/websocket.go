package abi

// WebSocket keys, on the exchanges of a route with transport = "websocket"
// (one per message, and the open exchange): the upgrade request's env plus
// these, with bubble.transport = "websocket".
const (
	// EnvWebSocketEvent is "open" on the exchange the host runs when a
	// socket opens (websocket_open = true), "message" on a message's.
	EnvWebSocketEvent = "websocket.event"
	// EnvWebSocketMessageType is "text" or "binary": the message's type,
	// which the output is sent back as.
	EnvWebSocketMessageType = "websocket.message_type"
	// EnvWebSocketMessageIndex is the 1-based number of the message on its
	// socket; "0" on the open exchange.
	EnvWebSocketMessageIndex = "websocket.message_index"
)

// Response headers a WebSocket exchange's handler sets to make its socket
// follow or stop following pub/sub channels: a comma-separated list of
// channel names, each checked against the websocket route's pubsub grant.
const (
	// HeaderFollow names channels whose messages the host then writes to
	// the socket, with no instance held.
	HeaderFollow = "X-Bubble-Follow"
	// HeaderUnfollow names channels the socket stops following.
	HeaderUnfollow = "X-Bubble-Unfollow"
)
