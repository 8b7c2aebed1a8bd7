package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

// serveSocket serves the exchanges of a WebSocket on /chat/ws (the page
// public/ws.html). The host runs one with websocket.event=open when the
// socket opens: it answers "you are <participant>" and sets
// X-Bubble-Follow: chat, after which the host writes every message
// published to "chat" to the socket itself, with no instance held. Each
// message the page sends is published as "<participant>: <text>"; its
// answer is empty (the socket gets the message through its follow, like
// every other participant).
//
// The participant is the session's when the upgrade request carried the
// session cookie (the long-poll page was loaded first); otherwise an id
// derived from the socket's request id, the same for every message of the
// socket (a WebSocket cannot set a cookie).
func serveSocket(x *bubble.Exchange) error {
	participant := socketParticipant(x)
	if ev, _ := x.Env("websocket.event"); ev == "open" {
		x.SetHeader("X-Bubble-Follow", channel)
		_, err := io.WriteString(x, "you are "+participant)
		return err
	}
	body, err := io.ReadAll(io.LimitReader(x, maxText+1))
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(string(body), "\r", " "), "\n", " "))
	if text == "" || len(text) > maxText {
		return nil // nothing to publish
	}
	_, err = bubble.Publish(channel, []byte(participant+": "+text))
	return err
}

// socketParticipant returns the session's participant id, without creating
// a session, or one derived from the socket.
func socketParticipant(x *bubble.Exchange) string {
	if cookie, _ := x.Env("HTTP_COOKIE"); strings.Contains(cookie, "bubble_session=") {
		if s, err := bubble.LoadSession(x); err == nil {
			if p, ok := s.Get("participant"); ok {
				return p
			}
		}
	}
	id, _ := x.Env("bubble.request_id")
	sum := sha256.Sum256([]byte("chat participant " + id))
	return strings.ToUpper(hex.EncodeToString(sum[:3]))
}
