package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// socket is one open WebSocket: its connection, the upgrade request's env
// its exchanges start from, and the channels it follows.
type socket struct {
	h    *Handler
	conn *ws.Conn
	env  server.Env

	last    atomic.Int64 // unix nanoseconds of the last frame received
	pinging atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex  // guards timer, follows and closed
	timer   *time.Timer // the ping timer
	follows map[string]*follow
	closed  bool
}

// touch notes that something arrived.
func (s *socket) touch() { s.last.Store(time.Now().UnixNano()) }

// run serves the socket's messages, in order, until it closes.
func (s *socket) run(ctx context.Context) {
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.conn.CloseNow()
	defer s.cancel()
	s.touch()
	// The timer is set and read under mu: ping may run before AfterFunc
	// has returned.
	s.mu.Lock()
	s.timer = time.AfterFunc(s.h.opts.PingInterval, s.ping)
	s.mu.Unlock()
	defer s.stopTimer()
	defer s.unfollowAll()
	if s.h.opts.Open {
		if !s.exchange("open", ws.MessageText, 0, nil) {
			return
		}
	}
	for index := 1; ; index++ {
		typ, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.readFailed(err)
			return
		}
		s.touch()
		if typ == ws.MessageText && !utf8.Valid(data) {
			s.close(ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8")
			return
		}
		if !s.exchange("message", typ, index, data) {
			return
		}
	}
}

// readFailed logs why reading ended, when it is not an ordinary close.
func (s *socket) readFailed(err error) {
	switch code := ws.CloseStatus(err); {
	case code != -1, errors.Is(err, context.Canceled), errors.Is(err, io.EOF):
	case errors.Is(err, ws.ErrMessageTooBig):
		s.h.opts.Logger.Info("websocket message too large: closed with 1009", "route", s.h.opts.Route, "limit", s.h.opts.MaxMessage)
	default:
		s.h.opts.Logger.Debug("websocket read ended", "route", s.h.opts.Route, "err", err)
	}
	s.conn.CloseNow()
}

// exchange runs one exchange for a message (or the open event) and sends
// its output back; it reports whether the socket is still open.
func (s *socket) exchange(event string, typ ws.MessageType, index int, data []byte) bool {
	env := s.env.Clone()
	env[abi.EnvTransport] = transportName
	env[abi.EnvWebSocketEvent] = event
	env[abi.EnvWebSocketMessageType] = typeName(typ)
	env[abi.EnvWebSocketMessageIndex] = strconv.Itoa(index)
	env[abi.EnvContentLength] = strconv.Itoa(len(data))
	delete(env, abi.EnvContentType)
	out := &messageWriter{max: s.h.opts.MaxMessage}
	x := &server.Exchange{Env: env, Reader: &messageReader{data: data}, Writer: out}
	ctx := s.ctx
	if s.h.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.h.opts.Timeout)
		defer cancel()
	}
	err := s.h.next.Serve(ctx, x)
	if err == nil && out.err != nil {
		err = fmt.Errorf("%w: %w", server.ErrHandlerFailed, out.err)
	}
	if err != nil {
		if s.ctx.Err() != nil {
			return false // the socket closed or the server stops: nobody to tell
		}
		status := server.StatusOf(err)
		s.h.opts.Logger.Log(s.ctx, server.FailureLevel(ctx, err), "websocket exchange failed: closed with 1011", "route", s.h.opts.Route,
			"served_by", env[abi.EnvRoute], "event", event, "index", index, "status", status, "err", err)
		s.close(ws.StatusInternalError, closeReason(status))
		return false
	}
	s.applyFollows(out.header, env[abi.EnvRoute])
	if out.buf.Len() == 0 {
		return true
	}
	if err := s.conn.Write(s.ctx, typ, out.buf.Bytes()); err != nil {
		s.conn.CloseNow()
		return false
	}
	return true
}

// closeReason is the reason sent with 1011: the status the exchange
// would have had over HTTP, within the 123 bytes a close frame allows.
func closeReason(status int) string {
	return fmt.Sprintf("exchange failed: %d %s", status, http.StatusText(status))
}

// ping runs every PingInterval: a socket silent for IdleTimeout is closed
// with 1001, another is pinged (its pong counts as activity).
func (s *socket) ping() {
	if s.ctx.Err() != nil {
		return
	}
	idle := time.Since(time.Unix(0, s.last.Load()))
	if idle >= s.h.opts.IdleTimeout {
		s.h.opts.Logger.Debug("websocket idle: closed with 1001", "route", s.h.opts.Route, "idle", idle)
		s.close(ws.StatusGoingAway, "idle timeout")
		return
	}
	s.mu.Lock()
	s.timer.Reset(s.h.opts.PingInterval)
	s.mu.Unlock()
	if s.pinging.Swap(true) {
		return // the last ping is still waiting for its pong
	}
	defer s.pinging.Store(false)
	ctx, cancel := context.WithTimeout(s.ctx, s.h.opts.IdleTimeout-idle)
	defer cancel()
	s.conn.Ping(ctx)
}

// stopTimer stops the ping timer (run's end).
func (s *socket) stopTimer() {
	s.mu.Lock()
	s.timer.Stop()
	s.mu.Unlock()
}

// close closes the socket with code and reason (once), which ends run.
func (s *socket) close(code ws.StatusCode, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.conn.Close(code, reason)
}

func typeName(t ws.MessageType) string {
	if t == ws.MessageBinary {
		return "binary"
	}
	return "text"
}
