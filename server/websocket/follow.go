package websocket

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/events"
)

// follow is a channel a socket follows: a broker subscription made for the
// socket, and the goroutine that writes its messages to the socket as they
// come. No instance is involved.
type follow struct {
	channel string
	id      events.SubID
	cancel  context.CancelFunc
	done    chan struct{}
}

// applyFollows starts and stops the follows an exchange's output headers
// ask for. A channel outside the route's grant, a bad name, or one past
// MaxFollows is logged and ignored.
func (s *socket) applyFollows(h http.Header, servedBy string) {
	for _, name := range headerList(h, abi.HeaderUnfollow) {
		s.unfollow(name)
	}
	for _, name := range headerList(h, abi.HeaderFollow) {
		if err := s.follow(name); err != nil {
			s.h.opts.Logger.Warn("websocket follow refused", "route", s.h.opts.Route, "served_by", servedBy, "channel", name, "err", err)
		}
	}
}

// headerList splits the comma-separated values of a header.
func headerList(h http.Header, key string) []string {
	var out []string
	for _, v := range h.Values(key) {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

var (
	errNotGranted  = errors.New("not in the route's pubsub grant")
	errTooMany     = errors.New("the socket follows as many channels as it may")
	errNoPubSub    = errors.New("no pub/sub broker")
	errFollowedYet = errors.New("already followed")
)

func (s *socket) follow(channel string) error {
	switch {
	case s.h.opts.Broker == nil:
		return errNoPubSub
	case events.CheckName(channel) != nil:
		return events.CheckName(channel)
	case !events.ChannelAllowed(s.h.opts.Channels, channel):
		return errNotGranted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errClosed
	case s.follows[channel] != nil:
		return nil
	case len(s.follows) >= MaxFollows:
		return errTooMany
	}
	opts := s.h.opts.Subscribe
	opts.Owner = "\x00websocket " + s.h.opts.Route // no guest's scope: no guest can fetch from it
	id, err := s.h.opts.Broker.Subscribe(s.ctx, channel, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	f := &follow{channel: channel, id: id, cancel: cancel, done: make(chan struct{})}
	if s.follows == nil {
		s.follows = map[string]*follow{}
	}
	s.follows[channel] = f
	go s.forward(ctx, f)
	return nil
}

// forward writes the messages of f's subscription to the socket until the
// socket closes or the subscription ends. A subscription the broker drops
// (its queue overflowed under drop-subscriber: the client reads too
// slowly) closes the socket with 1008.
func (s *socket) forward(ctx context.Context, f *follow) {
	defer close(f.done)
	b := s.h.opts.Broker
	for {
		w, err := b.Watch(f.id)
		if err == nil {
			select {
			case <-w.Ready():
			case <-ctx.Done():
			}
			_, err = w.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.h.opts.Logger.Info("websocket follow dropped: closed with 1008", "route", s.h.opts.Route, "channel", f.channel, "err", err)
			s.close(ws.StatusPolicyViolation, "subscription to "+f.channel+" dropped: messages came faster than the client took them")
			return
		}
		msgs, err := b.Fetch(ctx, f.id, 0, 0)
		if err != nil {
			continue // ended meanwhile: the next Watch says how
		}
		for _, m := range msgs {
			typ := ws.MessageText
			if !utf8.Valid(m) {
				typ = ws.MessageBinary
			}
			if err := s.conn.Write(ctx, typ, m); err != nil {
				s.conn.CloseNow()
				return
			}
		}
	}
}

// unfollow stops following channel, if the socket does.
func (s *socket) unfollow(channel string) {
	s.mu.Lock()
	f := s.follows[channel]
	delete(s.follows, channel)
	s.mu.Unlock()
	if f != nil {
		s.stopFollow(f)
	}
}

func (s *socket) unfollowAll() {
	s.mu.Lock()
	fs := s.follows
	s.follows = nil
	s.closed = true
	s.mu.Unlock()
	for _, f := range fs {
		s.stopFollow(f)
	}
}

func (s *socket) stopFollow(f *follow) {
	f.cancel()
	<-f.done
	s.h.opts.Broker.Unsubscribe(context.Background(), f.id)
}
