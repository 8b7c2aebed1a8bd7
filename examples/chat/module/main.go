// Command module is the comet chat of examples/chat: one Go guest module
// that serves the page, the push and the pull, routed by bubble.toml. Build
// it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o chat.wasm ./examples/chat/module
//
// Every participant has a session (kv "chat", cookie bubble_session) that
// holds its short display id and, for each page it has open, the id of a
// subscription to the channel "chat":
//
//	participant=7F3A2C
//	sub.0B12EF=<subscription id>   one per open page ("tab"); empty until
//	                               the page's first pull when the page
//	                               could not subscribe at load
//	tabs=0B12EF 9A0C11             the pages, oldest first (at most maxTabs)
//	joined=1                       set by a pull from a session that existed
//
// A session that has not joined (a page load, a push, a first pull without
// a cookie) is kept for visitorTTLMs only, a joined one for a day; with
// bubble.toml's [kv] eviction = "soonest-expiry", a flood of page loads
// without cookies makes room for itself among its own short-lived sessions
// and never pushes out a participant's.
//
//	GET  /            the page; subscribes the new page to "chat"
//	POST /chat/push   publishes "<participant>: <body>" to "chat"
//	GET  /chat/pull   (?tab=T) waits up to 10 s for the page's messages,
//	                  parked on the host (no instance held meanwhile)
//	/chat/ws          WebSocket (ws.go): each message is published; the
//	                  socket follows "chat" on the host
//
// Subscriptions live on the host with a queue of 10 messages; a page that
// stops pulling overflows it (or idles out) and is dropped, as in the comet
// chat this example retells; its next pull subscribes again and says so.
package main

import (
	_ "embed"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

//go:embed index.html
var page string

const (
	channel = "chat"
	// pullWaitMs is how long a pull waits for a first message.
	pullWaitMs = 10_000
	// maxBatch bounds the messages one pull returns (the queue holds 10).
	maxBatch = 100
	// maxText is the longest message text a push accepts, in bytes.
	maxText = 1000
	// sessionTTLMs keeps a joined participant's session for a day.
	sessionTTLMs = 24 * 3600_000
	// visitorTTLMs keeps a session that has not joined: long enough for a
	// page's first pull, short enough that page loads nobody follows up
	// expire soon (and go first when the namespace is full).
	visitorTTLMs = 2 * 60_000
	// maxTabs bounds the pages a session keeps subscriptions for; opening
	// one more forgets the oldest.
	maxTabs = 8
)

func init() { bubble.HandleStream(serve) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func serve(x *bubble.Exchange) error {
	if t, _ := x.Env("bubble.transport"); t == "websocket" {
		return serveSocket(x)
	}
	path, _ := x.Env("PATH_INFO")
	method, _ := x.Env("REQUEST_METHOD")
	switch {
	case path == "/" && method == "GET":
		return servePage(x)
	case path == "/chat/push" && method == "POST":
		return push(x)
	case path == "/chat/pull" && method == "GET":
		return pull(x)
	}
	return reply(x, 404, "text/plain; charset=utf-8", "not found\n")
}

// session loads the exchange's session and gives it a participant id.
func session(x *bubble.Exchange) (*bubble.Session, string, error) {
	s, err := bubble.LoadSession(x)
	if err != nil {
		return nil, "", err
	}
	p, ok := s.Get("participant")
	if !ok {
		p = newID()
		s.Set("participant", p)
	}
	return s, p, nil
}

// save stores the session: for a day once it has joined, for visitorTTLMs
// until then.
func save(s *bubble.Session) error {
	if _, joined := s.Get("joined"); joined {
		return s.Save(sessionTTLMs)
	}
	return s.Save(visitorTTLMs)
}

// unavailable answers 503 when a store is at capacity (a full namespace
// under eviction "reject", a subscription cap): the chat is busy, not
// broken. Other errors are returned (500).
func unavailable(x *bubble.Exchange, err error) error {
	if !errors.Is(err, bubble.ErrFull) {
		return err
	}
	x.SetHeader("Retry-After", "10")
	return reply(x, 503, "text/plain; charset=utf-8", "the chat is full: try again in a moment\n")
}

// newID returns 6 upper-case hex digits: a display id, not a secret.
func newID() string {
	return strings.ToUpper(strconv.FormatUint(uint64(rand.Uint32()&0xFFFFFF|0x1000000), 16)[1:])
}

// servePage subscribes a new page to the channel, so that it misses nothing
// published after it loaded, and sends the page. When the page route is at
// its subscription cap (bubble.toml: page loads nobody pulls from, a
// flood) the page is sent all the same and its first pull subscribes.
func servePage(x *bubble.Exchange) error {
	s, participant, err := session(x)
	if err != nil {
		return err
	}
	tab := newID()
	sub, err := bubble.Subscribe(channel)
	if err != nil && !errors.Is(err, bubble.ErrFull) {
		return err
	}
	s.Set("sub."+tab, sub)
	tabs := append(strings.Fields(valueOf(s, "tabs")), tab)
	for len(tabs) > maxTabs { // forget the oldest page
		if old, ok := s.Get("sub." + tabs[0]); ok {
			bubble.Unsubscribe(old) // gone already is fine
		}
		s.Delete("sub." + tabs[0])
		tabs = tabs[1:]
	}
	s.Set("tabs", strings.Join(tabs, " "))
	if err := save(s); err != nil {
		return unavailable(x, err)
	}
	x.SetHeader("Cache-Control", "no-store")
	html := strings.NewReplacer("{{participant}}", participant, "{{tab}}", tab).Replace(page)
	return reply(x, 200, "text/html; charset=utf-8", html)
}

// push publishes the body, one line of at most maxText bytes, as
// "<participant>: <text>" and answers {"delivered":N}, the number of
// subscriptions it reached.
func push(x *bubble.Exchange) error {
	s, participant, err := session(x)
	if err != nil {
		return err
	}
	if _, joined := s.Get("joined"); !joined { // keeps a visitor's id while it pushes
		if err := save(s); err != nil {
			return unavailable(x, err)
		}
	}
	body, err := io.ReadAll(io.LimitReader(x, maxText+1))
	if err != nil {
		return err
	}
	if len(body) > maxText {
		return reply(x, 413, "text/plain; charset=utf-8", "message over "+strconv.Itoa(maxText)+" bytes\n")
	}
	// One message is one line of the pull's answer.
	text := strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(body), "\uFFFD")))
	if text == "" {
		return reply(x, 400, "text/plain; charset=utf-8", "empty message\n")
	}
	n, err := bubble.Publish(channel, []byte(participant+": "+text))
	if err != nil {
		return err
	}
	return reply(x, 200, "application/json", `{"delivered":`+strconv.Itoa(n)+"}\n")
}

// pull answers the messages queued for the page's subscription, one per
// line, waiting up to pullWaitMs for the first; an empty body when none
// came. The page is named by ?tab=T (the page's id); without it the session
// has one subscription of its own (curl). When the subscription is gone
// (the page stopped pulling: its queue overflowed or it idled out; or it
// is unknown) it subscribes again and sets X-Chat-Rejoined: 1, since
// messages may have been missed. A pull from a session that existed before
// it joins the session: it is kept for a day from then on.
//
// The wait is the host's: with nothing queued, pull stashes the
// subscription id and parks the exchange on it (bubble.ParkMessage), so a
// waiting pull holds no instance; the host runs pull again, as pullResumed,
// when a message arrives or the time is up.
func pull(x *bubble.Exchange) error {
	if n, wake := bubble.Resumed(); n > 0 {
		return pullResumed(x, wake)
	}
	query, _ := x.Env("QUERY_STRING")
	tab := queryParam(query, "tab")
	if len(tab) > 16 || strings.Trim(tab, "0123456789ABCDEF") != "" {
		return reply(x, 400, "text/plain; charset=utf-8", "bad tab\n")
	}
	s, _, err := session(x)
	if err != nil {
		return err
	}
	key := "sub"
	if tab != "" {
		key = "sub." + tab
	}
	sub, known := s.Get(key)
	// A page (tab) without a subscription lost it: a session that expired,
	// a server restart, a page pruned by maxTabs. A page that loaded
	// without one (the page route at its cap) has an empty one.
	rejoined := !known && tab != ""
	dirty := false
	if _, joined := s.Get("joined"); !joined && !s.IsNew() {
		s.Set("joined", "1")
		dirty = true
	}
	var msgs []byte
	for attempt := 0; attempt < 2; attempt++ {
		if sub == "" || attempt > 0 {
			if sub, err = bubble.Subscribe(channel); err != nil {
				return unavailable(x, err)
			}
			s.Set(key, sub)
			if tab != "" && !strings.Contains(" "+valueOf(s, "tabs")+" ", " "+tab+" ") {
				s.Set("tabs", strings.TrimSpace(valueOf(s, "tabs")+" "+tab))
			}
			dirty = true
		}
		if dirty || s.IsNew() {
			if err := save(s); err != nil {
				return unavailable(x, err)
			}
			dirty = false
		}
		msgs, err = queued(sub)
		if !errors.Is(err, bubble.ErrSubscriptionGone) {
			break
		}
		rejoined = true // dropped: it overflowed its queue or idled out
	}
	switch {
	case err != nil:
		return err
	case len(msgs) > 0:
		return answer(x, msgs, rejoined)
	}
	// Nothing queued: park until a message comes (a cookie for a new
	// session and X-Chat-Rejoined are set already: they are kept).
	state := sub
	if rejoined {
		state += " rejoined"
	}
	if err := bubble.Stash([]byte(state)); err != nil {
		return err
	}
	if err := bubble.ParkMessage(sub, pullWaitMs); err != nil {
		if errors.Is(err, bubble.ErrClosed) {
			return answer(x, nil, rejoined) // shutting down: an empty answer
		}
		return unavailable(x, err)
	}
	return nil
}

// pullResumed is a parked pull's second run: it answers what is queued
// (nothing when the time was up, the server is stopping, or another pull
// of the same page took the message first). A subscription that went
// away meanwhile (the page pruned by maxTabs) is renewed by the page's next
// pull.
func pullResumed(x *bubble.Exchange, wake bubble.Wake) error {
	state, _ := bubble.State()
	sub, flag, _ := strings.Cut(string(state), " ")
	rejoined := flag == "rejoined"
	var msgs []byte
	if wake == bubble.WakeMessage {
		var err error
		msgs, err = queued(sub)
		if err != nil && !errors.Is(err, bubble.ErrSubscriptionGone) {
			return err
		}
	}
	return answer(x, msgs, rejoined)
}

// queued takes what subscription sub has queued, up to maxBatch messages,
// without waiting: one message per line. Nothing queued is no error.
func queued(sub string) ([]byte, error) {
	var out []byte
	for range maxBatch {
		m, err := bubble.Fetch(sub, -1)
		switch {
		case errors.Is(err, bubble.ErrTimeout):
			return out, nil
		case err != nil:
			return out, err
		}
		out = append(append(out, m...), '\n')
	}
	return out, nil
}

// answer sends a pull's messages (maybe none).
func answer(x *bubble.Exchange, msgs []byte, rejoined bool) error {
	x.SetHeader("Cache-Control", "no-store")
	if rejoined {
		x.SetHeader("X-Chat-Rejoined", "1")
	}
	return reply(x, 200, "text/plain; charset=utf-8", string(msgs))
}

func reply(x *bubble.Exchange, status int, contentType, body string) error {
	if status != 200 {
		if err := x.SetStatus(status); err != nil {
			return err
		}
	}
	if err := x.SetHeader("Content-Type", contentType); err != nil {
		return err
	}
	if err := x.SetHeader("Content-Length", strconv.Itoa(len(body))); err != nil {
		return err
	}
	_, err := io.WriteString(x, body)
	if errors.Is(err, bubble.ErrClosed) {
		return nil // the client went away
	}
	return err
}

func valueOf(s *bubble.Session, key string) string {
	v, _ := s.Get(key)
	return v
}

// queryParam returns the raw value of the first key=value pair in the query
// q whose key is key (the values this module reads need no unescaping).
func queryParam(q, key string) string {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if k, v, _ := strings.Cut(pair, "="); k == key {
			return v
		}
	}
	return ""
}
