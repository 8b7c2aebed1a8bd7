package bubble_test

import (
	"errors"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

var setCookie = regexp.MustCompile(`^bubble_session=([0-9a-f]{32}); Path=/; HttpOnly; SameSite=Lax$`)

// counter is a handler that counts its client's visits in a session.
func counter(x *bubble.Exchange) error {
	s, err := bubble.LoadSession(x)
	if err != nil {
		return err
	}
	v, _ := s.Get("visits")
	v += "+"
	s.Set("visits", v)
	if err := s.Save(3600_000); err != nil {
		return err
	}
	_, err = io.WriteString(x, v)
	return err
}

// A session survives from one exchange to the next through its cookie and
// the key-value store.
func TestSessionRoundTrip(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	stream(t, counter)

	rec := h.Serve(map[string]string{"HTTP_COOKIE": "theme=dark"}, nil)
	cookies := rec.Header.Values("Set-Cookie")
	if rec.Code != 0 || rec.Body.String() != "+" || len(cookies) != 1 || !setCookie.MatchString(cookies[0]) {
		t.Fatalf("first visit: code %d body %q Set-Cookie %q logs %v", rec.Code, rec.Body.String(), cookies, rec.Logs)
	}
	id, ok := rec.Cookie(bubble.SessionCookie)
	if !ok || id != setCookie.FindStringSubmatch(cookies[0])[1] {
		t.Fatalf("Recorder.Cookie = %q, %v", id, ok)
	}
	if vals, ok := h.Session(id); !ok || !maps.Equal(vals, map[string]string{"visits": "+"}) {
		t.Errorf("stored session %v, %v", vals, ok)
	}
	if keys := h.KVKeys(); !slices.Equal(keys, []string{"session:" + id}) || h.KVTTL(keys[0]) != 3600_000 {
		t.Errorf("KV keys %q, TTL %d", keys, h.KVTTL("session:"+id))
	}

	for i, cookie := range []string{
		"bubble_session=" + id,
		"a=1; bubble_session=" + id + "; b=2",
		`bubble_session="` + id + `"`,
		"bubble_session=0123456789abcdef0123456789abcdef; bubble_session=" + id, // the first is unknown
	} {
		rec = h.Serve(map[string]string{"HTTP_COOKIE": cookie}, nil)
		want := strings.Repeat("+", i+2) // one more visit each time
		if rec.Code != 0 || rec.Body.String() != want || len(rec.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("cookie %q: code %d body %q (want %q) Set-Cookie %q", cookie, rec.Code, rec.Body.String(), want, rec.Header.Values("Set-Cookie"))
		}
	}
}

// An id the store does not know, or a malformed one, starts a new session
// with a new id: a client cannot choose its session id.
func TestSessionUnknownIDNotAdopted(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	stream(t, counter)
	for _, cookie := range []string{"", "bubble_session=", "bubble_session=0123456789abcdef0123456789abcdef",
		"bubble_session=0123456789ABCDEF0123456789ABCDEF", "bubble_session=../../etc", "other_session=x"} {
		rec := h.Serve(map[string]string{"HTTP_COOKIE": cookie}, nil)
		id, ok := rec.Cookie(bubble.SessionCookie)
		if rec.Code != 0 || rec.Body.String() != "+" || !ok || id == "0123456789abcdef0123456789abcdef" {
			t.Errorf("cookie %q: code %d body %q new id %q", cookie, rec.Code, rec.Body.String(), id)
		}
	}
	if n := len(h.KVKeys()); n != 6 {
		t.Errorf("%d sessions stored, want 6", n)
	}
}

func TestSessionMethods(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	id := h.NewSession(map[string]string{"user": "ann", "odd=key": "line1\nline2 100%", "": "empty key"})
	var s *bubble.Session
	run(t, h, map[string]string{"HTTP_COOKIE": "bubble_session=" + id}, func(x *bubble.Exchange) error {
		var err error
		s, err = bubble.LoadSession(x)
		if err != nil {
			return err
		}
		if again, _ := bubble.LoadSession(x); again != s {
			t.Error("a second LoadSession returned another Session")
		}
		if s.ID() != id || s.IsNew() {
			t.Errorf("ID %q IsNew %v", s.ID(), s.IsNew())
		}
		if !slices.Equal(s.Keys(), []string{"", "odd=key", "user"}) {
			t.Errorf("Keys = %q", s.Keys())
		}
		if v, ok := s.Get("odd=key"); !ok || v != "line1\nline2 100%" {
			t.Errorf("Get = %q, %v", v, ok)
		}
		if v, ok := s.Get("missing"); ok || v != "" {
			t.Errorf("Get(missing) = %q, %v", v, ok)
		}
		s.Delete("user")
		s.Set("cart", "3 items")
		return s.Save(0)
	})
	want := map[string]string{"odd=key": "line1\nline2 100%", "": "empty key", "cart": "3 items"}
	if vals, _ := h.Session(id); !maps.Equal(vals, want) {
		t.Errorf("stored %q, want %q", vals, want)
	}
	run(t, h, map[string]string{"HTTP_COOKIE": "bubble_session=" + id}, func(x *bubble.Exchange) error {
		s, err := bubble.LoadSession(x)
		if err != nil {
			return err
		}
		return s.Destroy()
	})
	if _, ok := h.Session(id); ok || len(h.KVKeys()) != 0 {
		t.Errorf("Destroy left %q", h.KVKeys())
	}
}

// A Handle handler gets its session from the Request; the Set-Cookie of a
// new session comes after the Response's own headers.
func TestRequestSession(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	handle(t, func(req *bubble.Request) *bubble.Response {
		s, err := bubble.RequestSession(req)
		if err != nil {
			return nil
		}
		if again, _ := bubble.RequestSession(req); again != s {
			t.Error("a second RequestSession returned another Session")
		}
		n, _ := s.Get("n")
		s.Set("n", n+"x")
		if s.Save(0) != nil {
			return nil
		}
		hdr := bubble.Header{}
		hdr.Set("Set-Cookie", "theme=dark")
		return &bubble.Response{Header: hdr, Body: []byte(n + "x")}
	})
	rec := h.Serve(nil, nil)
	cookies := rec.Header.Values("Set-Cookie")
	if rec.Code != 0 || rec.Body.String() != "x" || len(cookies) != 2 || cookies[0] != "theme=dark" || !setCookie.MatchString(cookies[1]) {
		t.Fatalf("code %d body %q Set-Cookie %q", rec.Code, rec.Body.String(), cookies)
	}
	id, _ := rec.Cookie(bubble.SessionCookie)
	rec = h.Serve(map[string]string{"HTTP_COOKIE": "theme=dark; bubble_session=" + id}, nil)
	if rec.Code != 0 || rec.Body.String() != "xx" || !slices.Equal(rec.Header.Values("Set-Cookie"), []string{"theme=dark"}) {
		t.Errorf("second visit: code %d body %q Set-Cookie %q", rec.Code, rec.Body.String(), rec.Header.Values("Set-Cookie"))
	}
}

// Sessions need the kv grant: with a cookie LoadSession fails, without one
// Save does.
func TestSessionDenied(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"*"}}
	var loadErr, saveErr error
	stream(t, func(x *bubble.Exchange) error {
		s, err := bubble.LoadSession(x)
		loadErr, saveErr = err, nil
		if err == nil {
			saveErr = s.Save(0)
		}
		return nil
	})
	h.Serve(nil, nil)
	if loadErr != nil || !errors.Is(saveErr, bubble.ErrDenied) || saveErr.Error() != "bubble: kv.set: ERR_DENIED" {
		t.Errorf("without a cookie: load %v, save %v", loadErr, saveErr)
	}
	h.Serve(map[string]string{"HTTP_COOKIE": "bubble_session=0123456789abcdef0123456789abcdef"}, nil)
	if !errors.Is(loadErr, bubble.ErrDenied) {
		t.Errorf("with a cookie: load %v", loadErr)
	}
}

// A new session's cookie is a header: LoadSession after the first write
// fails.
func TestSessionAfterCommit(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	var err error
	run(t, h, nil, func(x *bubble.Exchange) error {
		x.Write([]byte("early"))
		_, err = bubble.LoadSession(x)
		return nil
	})
	if !errors.Is(err, bubble.ErrCommitted) {
		t.Errorf("LoadSession after Write: %v", err)
	}
}
