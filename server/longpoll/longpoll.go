// Package longpoll owns the built-in long-poll handler: it exposes one
// pub/sub channel to plain HTTP clients (and to JSON-RPC callers) without a
// wasm module. A poll returns the messages queued for the caller's
// subscription, waiting up to a timeout for the first one, or an empty list
// at the timeout; POST publishes.
//
// Over HTTP:
//
//	GET  /poll?timeout=10        -> {"subscription":"ID","messages":[...]}
//	POST /poll   (body = message) -> {"delivered":N}
//
// The subscription is found by the `sub` query parameter, else by the
// cookie bubble_sub_CHANNEL (dots become underscores), and created when
// neither names a live one; the response always carries its id and sets the
// cookie. Messages that are JSON are embedded as they are, others as JSON
// strings. Over JSON-RPC (route a method to this handler), params are
// {"subscription": "ID", "timeout": seconds} and the result has the same
// shape as the HTTP response.
package longpoll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/events"
)

// Options configure a Handler.
type Options struct {
	// Channel is the pub/sub channel exposed.
	Channel string
	// Subscribe configures the subscriptions the handler creates.
	Subscribe events.SubscribeOptions
	// MaxTimeout caps the timeout a client asks for (default 30s);
	// DefaultTimeout applies when it asks for none (default 10s).
	MaxTimeout, DefaultTimeout time.Duration
	// MaxBatch caps the messages one poll returns (default 100).
	MaxBatch int
	// MaxBodyBytes caps a published message (default 64 KiB).
	MaxBodyBytes int64
}

// Handler serves one channel.
type Handler struct {
	broker events.Broker
	opts   Options
	cookie string
}

// New returns a long-poll handler for opts.Channel on broker.
func New(broker events.Broker, opts Options) (*Handler, error) {
	if err := events.CheckName(opts.Channel); err != nil {
		return nil, fmt.Errorf("longpoll channel %q: %w", opts.Channel, err)
	}
	if opts.MaxTimeout <= 0 {
		opts.MaxTimeout = 30 * time.Second
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 10 * time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 100
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	return &Handler{broker: broker, opts: opts, cookie: "bubble_sub_" + strings.NewReplacer(".", "_", "-", "_").Replace(opts.Channel)}, nil
}

// Poll is the result of a poll.
type Poll struct {
	Subscription string            `json:"subscription"`
	Messages     []json.RawMessage `json:"messages"`
}

// Serve answers a poll or a publish.
func (h *Handler) Serve(ctx context.Context, x *server.Exchange) error {
	if x.Env[abi.EnvTransport] == "jsonrpc" {
		return h.serveRPC(ctx, x)
	}
	switch x.Env[abi.EnvRequestMethod] {
	case http.MethodGet:
		q, _ := url.ParseQuery(x.Env[abi.EnvQueryString])
		sub := q.Get("sub")
		if sub == "" {
			sub = cookie(x.Env["HTTP_COOKIE"], h.cookie)
		}
		p, err := h.poll(ctx, sub, h.timeout(q.Get("timeout")))
		if err != nil {
			return err
		}
		x.Writer.Header().Add("Set-Cookie", (&http.Cookie{Name: h.cookie, Value: p.Subscription, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String())
		x.Writer.Header().Set("Cache-Control", "no-store")
		return writeJSON(x, p)
	case http.MethodPost:
		msg, err := io.ReadAll(io.LimitReader(x.Reader, h.opts.MaxBodyBytes+1))
		if err != nil {
			return err
		}
		if int64(len(msg)) > h.opts.MaxBodyBytes {
			return fmt.Errorf("%w: message over %d bytes", server.ErrTooLarge, h.opts.MaxBodyBytes)
		}
		n, err := h.broker.Publish(ctx, h.opts.Channel, msg)
		if err != nil {
			return err
		}
		return writeJSON(x, map[string]int{"delivered": n})
	}
	x.Writer.Header().Set("Allow", "GET, POST")
	x.Writer.SetStatus(http.StatusMethodNotAllowed)
	_, err := io.WriteString(x.Writer, "use GET to poll or POST to publish\n")
	return err
}

func (h *Handler) serveRPC(ctx context.Context, x *server.Exchange) error {
	var params struct {
		Subscription string  `json:"subscription"`
		Timeout      float64 `json:"timeout"`
	}
	body, err := io.ReadAll(io.LimitReader(x.Reader, 64<<10))
	if err != nil {
		return err
	}
	if len(body) > 0 && string(body) != "null" {
		if err := json.Unmarshal(body, &params); err != nil {
			x.Writer.SetStatus(http.StatusBadRequest) // JSON-RPC: invalid params
			return fmt.Errorf("%w: params: %v", server.ErrBadRequest, err)
		}
	}
	p, err := h.poll(ctx, params.Subscription, h.timeout(strconv.FormatFloat(params.Timeout, 'f', -1, 64)))
	if err != nil {
		return err
	}
	return writeJSON(x, p)
}

func (h *Handler) timeout(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return h.opts.DefaultTimeout
	}
	return min(time.Duration(f*float64(time.Second)), h.opts.MaxTimeout)
}

// poll fetches from sub, subscribing afresh when sub is empty or gone.
func (h *Handler) poll(ctx context.Context, sub string, timeout time.Duration) (*Poll, error) {
	for attempt := 0; ; attempt++ {
		if sub == "" {
			id, err := h.broker.Subscribe(ctx, h.opts.Channel, h.opts.Subscribe)
			if err != nil {
				return nil, err
			}
			sub = string(id)
		}
		msgs, err := h.broker.Fetch(ctx, events.SubID(sub), h.opts.MaxBatch, timeout)
		if errors.Is(err, context.Canceled) {
			// The server is draining (or the client left): answer an empty
			// poll; a client that is still there polls again.
			msgs, err = nil, nil
		}
		if errors.Is(err, events.ErrSubscriptionGone) && attempt == 0 {
			sub = "" // dropped (overflow, idle) or unknown: start over
			continue
		}
		if err != nil {
			return nil, err
		}
		p := &Poll{Subscription: sub, Messages: make([]json.RawMessage, 0, len(msgs))}
		for _, m := range msgs {
			if !json.Valid(m) {
				m, _ = json.Marshal(string(m))
			}
			p.Messages = append(p.Messages, m)
		}
		return p, nil
	}
}

func writeJSON(x *server.Exchange, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if x.Env[abi.EnvTransport] != "jsonrpc" {
		x.Writer.Header().Set("Content-Type", "application/json")
		b = append(b, '\n')
	}
	_, err = x.Writer.Write(b)
	return err
}

// cookie returns the value of the named cookie in a Cookie header.
func cookie(header, name string) string {
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

var _ server.Handler = (*Handler)(nil)
