package bubble

import (
	"slices"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/session"
)

// SessionCookie is the cookie that carries a [Session]'s id.
const SessionCookie = "bubble_session"

// Session is a set of string values that follows one client from exchange
// to exchange: its id travels in the cookie bubble_session, its values are
// stored in the route's key-value namespace, so sessions need the route's
// kv grant (kv = "NAME") and every route that shares the namespace sees
// them. Load it with [LoadSession] or [RequestSession], read and change it
// with Get, Set and Delete, and store it with Save: changes are not stored
// until then.
//
// Storage: one KV entry per session, key "session:" followed by the id (32
// lowercase hex digits, 128 random bits from WASI's random_get), value one
// line per key in ascending key order, "key=value\n", where every '%', '=',
// CR and LF inside a key or value is written as %25, %3D, %0D and %0A. A
// reader accepts either hex case, keeps malformed escapes as they are and
// skips lines without '='. Other SDKs that share the entries follow this
// format.
//
// A new session's cookie is "bubble_session=ID; Path=/; HttpOnly;
// SameSite=Lax": it lasts as long as the browser session, and the stored
// session lasts as long as the TTL given to Save. It has no Secure
// attribute, so it is also sent over plain HTTP.
type Session struct {
	id     string
	values map[string]string
	isNew  bool
	kv     host.KV // see kv.go: methods must not call host.KVHost
}

// LoadSession returns the session of the exchange x: the one named by the
// request's bubble_session cookie if the key-value store has it, else a new
// one with a fresh random id, whose Set-Cookie header LoadSession adds to
// the response, so call it before the first Write or Flush (it fails with
// ErrCommitted after). An id that the store does not know, expired or
// made up by the client, is never adopted. Calling LoadSession again in
// the same exchange returns the same Session.
//
// Errors: ErrDenied when the request has a session cookie and the route
// grants no kv (without a cookie the error comes from Save), ErrIO when no
// random id could be drawn.
func LoadSession(x *Exchange) (*Session, error) {
	if x.session != nil {
		return x.session, nil
	}
	cookie, _ := x.Env("HTTP_COOKIE")
	s, err := loadSession(cookie)
	if err != nil {
		return nil, err
	}
	if s.isNew {
		if err := x.AddHeader("Set-Cookie", session.SetCookie(s.id)); err != nil {
			return nil, err
		}
	}
	x.session = s
	return s, nil
}

// RequestSession is [LoadSession] for a [Handle] handler: it reads the
// cookie from r.Env, and the Set-Cookie header of a new session is added to
// the Response the handler returns (after the Response's own headers).
// Calling it again with r returns the same Session.
//
// It is a function, not a method of Request, so that a module that does
// not use sessions never imports the kv extension, even if it uses
// reflection on its Request.
func RequestSession(r *Request) (*Session, error) {
	if r.session != nil {
		return r.session, nil
	}
	s, err := loadSession(r.Env["HTTP_COOKIE"])
	if err != nil {
		return nil, err
	}
	r.session = s
	return s, nil
}

func loadSession(cookieHeader string) (*Session, error) {
	kv := host.KVHost()
	for _, id := range session.CookieValues(cookieHeader, session.Cookie) {
		if !session.ValidID(id) {
			continue
		}
		data, ok, err := kvGet(kv, session.KeyPrefix+id)
		if err != nil {
			return nil, err
		}
		if ok {
			return &Session{id: id, values: session.Decode(data), kv: kv}, nil
		}
	}
	var b [session.IDBytes]byte
	if !host.Random(b[:]) {
		return nil, callError("random_get", int32(ErrIO))
	}
	return &Session{id: session.FormatID(b[:]), values: map[string]string{}, isNew: true, kv: kv}, nil
}

// ID returns the session id, the value of the bubble_session cookie. Like
// a password it grants the session to whoever presents it: do not log it.
func (s *Session) ID() string { return s.id }

// IsNew reports whether the session was created in this exchange, so that
// its cookie is being set now.
func (s *Session) IsNew() bool { return s.isNew }

// Get returns the value of key and whether the session has it.
func (s *Session) Get(key string) (string, bool) {
	v, ok := s.values[key]
	return v, ok
}

// Set sets key to value. Save stores the change.
func (s *Session) Set(key, value string) { s.values[key] = value }

// Delete removes key. Save stores the change.
func (s *Session) Delete(key string) { delete(s.values, key) }

// Keys returns the session's keys in ascending order.
func (s *Session) Keys() []string {
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Save stores the session for ttlMs milliseconds from now (≤ 0: until it
// is destroyed), even when nothing changed, which renews its lifetime.
// Errors: those of [KVSet] (ErrDenied without the route's kv grant,
// ErrTooLarge, ErrFull).
func (s *Session) Save(ttlMs int) error {
	return kvSet(s.kv, session.KeyPrefix+s.id, session.Encode(s.values), ttlMs)
}

// Destroy deletes the stored session and empties s. The client keeps its
// cookie, but a later LoadSession no longer adopts the id and starts a new
// session, unless s is saved again.
func (s *Session) Destroy() error {
	clear(s.values)
	return kvDelete(s.kv, session.KeyPrefix+s.id)
}
