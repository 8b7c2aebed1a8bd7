package bubble_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// A long poll that parks: the first run stashes the subscription and
// parks on it; the resumed run sees why it woke, gets its stash back and
// fetches the message the park left queued.
func TestParkMessage(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"chat"}}
	id := h.Subscribe("chat")
	stream(t, func(x *bubble.Exchange) error {
		n, wake := bubble.Resumed()
		if n == 0 {
			if err := bubble.Stash([]byte(id)); err != nil {
				return err
			}
			x.SetHeader("Content-Type", "text/plain")
			return bubble.ParkMessage(id, 10_000)
		}
		state, ok := bubble.State()
		if !ok || string(state) != id {
			t.Errorf("State on run %d = %q, %v; want the stashed id", n, state, ok)
		}
		msg, err := bubble.Fetch(string(state), -1)
		if err != nil {
			return err
		}
		_, err = io.WriteString(x, string(wake)+": "+string(msg)+"\n")
		return err
	})
	rec := bubbletest.Exchange{Host: h}.Serve()
	if rec.Code != 0 || rec.Parked == nil || *rec.Parked != (bubbletest.Park{On: "message", Name: id, TimeoutMS: 10_000}) {
		t.Fatalf("first run: code %d, parked %+v, logs %v", rec.Code, rec.Parked, rec.Logs)
	}
	if rec.Committed || rec.Body.Len() != 0 {
		t.Errorf("the first run committed (%v) or wrote %q", rec.Committed, rec.Body.String())
	}
	h.Publish("chat", []byte("hello"))
	rec.Resume(bubble.WakeMessage, nil)
	if rec.Code != 0 || rec.Parked != nil || rec.Body.String() != "message: hello\n" || rec.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("resumed run: code %d, parked %+v, body %q, header %v", rec.Code, rec.Parked, rec.Body.String(), rec.Header)
	}
}

// A signal park, resumed by the signal: the payload comes back with
// WakePayload; a run woken otherwise has none. Parking again from a
// resumed run counts the resumes.
func TestParkSignalAndRepark(t *testing.T) {
	h := &bubbletest.Host{Signals: []string{"job.*"}}
	stream(t, func(x *bubble.Exchange) error {
		n, wake := bubble.Resumed()
		p, ok := bubble.WakePayload()
		io.WriteString(x, string(wake)+"="+string(p)+";")
		if ok != (wake == bubble.WakeSignal) {
			t.Errorf("run %d (%s): WakePayload ok = %v", n, wake, ok)
		}
		if n < 2 {
			return bubble.ParkSignal("job.1", 5_000)
		}
		return nil
	})
	rec := bubbletest.Exchange{Host: h}.Serve()
	rec.Resume(bubble.WakeSignal, []byte("p1"))
	if rec.Parked == nil {
		t.Fatal("the first resumed run did not park again")
	}
	rec.Resume(bubble.WakeTimeout, nil)
	if rec.Parked != nil {
		t.Errorf("still parked: %+v", rec.Parked)
	}
	if got := rec.Body.String(); got != "=;signal=p1;timeout=;" {
		t.Errorf("body %q", got)
	}
}

// Every refusal of the park functions reaches the handler as its code,
// and a failed registration leaves nothing parked.
func TestParkErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		host *bubbletest.Host
		park func() error
		want error
	}{
		{"zero timeout", &bubbletest.Host{}, func() error { return bubble.ParkTimeout(0) }, bubble.ErrInvalid},
		{"negative timeout", &bubbletest.Host{}, func() error { return bubble.ParkTimeout(-5) }, bubble.ErrInvalid},
		{"message without pubsub", &bubbletest.Host{}, func() error { return bubble.ParkMessage("x", 1000) }, bubble.ErrDenied},
		{"unknown subscription", &bubbletest.Host{PubSub: []string{"*"}}, func() error { return bubble.ParkMessage("nope", 1000) }, bubble.ErrSubscriptionGone},
		{"signal outside the grant", &bubbletest.Host{Signals: []string{"a"}}, func() error { return bubble.ParkSignal("b", 1000) }, bubble.ErrDenied},
		{"bad signal name", &bubbletest.Host{Signals: []string{"*"}}, func() error { return bubble.ParkSignal("a b", 1000) }, bubble.ErrInvalid},
		{"twice", &bubbletest.Host{}, func() error {
			if err := bubble.ParkTimeout(10); err != nil {
				return err
			}
			err := bubble.ParkTimeout(10)
			bubble.Unpark()
			return err
		}, bubble.ErrInvalid},
		{"stash too large", &bubbletest.Host{}, func() error { return bubble.Stash(make([]byte, bubble.MaxState+1)) }, bubble.ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			stream(t, func(*bubble.Exchange) error { err = c.park(); return nil })
			rec := bubbletest.Exchange{Host: c.host}.Serve()
			if !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if rec.Parked != nil {
				t.Errorf("parked %+v after a refusal", rec.Parked)
			}
		})
	}
}

// A handler that parks and then fails is not parked; one that unparks
// ends its exchange; a first run has no state, payload or resume count.
func TestParkFailedRunAndUnpark(t *testing.T) {
	var fail bool
	stream(t, func(x *bubble.Exchange) error {
		if n, wake := bubble.Resumed(); n != 0 || wake != "" {
			t.Errorf("Resumed on a first run = %d, %q", n, wake)
		}
		if _, ok := bubble.State(); ok {
			t.Error("State on a first run")
		}
		if _, ok := bubble.WakePayload(); ok {
			t.Error("WakePayload on a first run")
		}
		if err := bubble.ParkTimeout(100); err != nil {
			return err
		}
		if fail {
			return errors.New("after parking")
		}
		bubble.Unpark()
		_, err := io.WriteString(x, "done")
		return err
	})
	if rec := bubbletest.Serve(nil, nil); rec.Parked != nil || rec.Body.String() != "done" {
		t.Errorf("unparked: parked %+v, body %q", rec.Parked, rec.Body.String())
	}
	fail = true
	if rec := bubbletest.Serve(nil, nil); rec.Code == 0 || rec.Parked != nil {
		t.Errorf("failed after parking: code %d, parked %+v", rec.Code, rec.Parked)
	}
}

// A Handle handler parks by returning a nil response: nothing is written,
// the exchange is not failed, and the resumed run answers.
func TestParkHandle(t *testing.T) {
	handle(t, func(req *bubble.Request) *bubble.Response {
		if req.Env["bubble.wake"] == "" {
			if err := bubble.ParkTimeout(1000); err != nil {
				return &bubble.Response{Status: 500, Body: []byte(err.Error())}
			}
			return nil
		}
		return &bubble.Response{Body: []byte("woke: " + req.Env["bubble.wake"])}
	})
	rec := bubbletest.Serve(map[string]string{"PATH_INFO": "/"}, strings.NewReader("body"))
	if rec.Code != 0 || rec.Parked == nil || rec.Committed {
		t.Fatalf("first run: code %d, parked %+v, committed %v", rec.Code, rec.Parked, rec.Committed)
	}
	rec.Resume(bubble.WakeTimeout, nil)
	if rec.Code != 0 || !bytes.Equal(rec.Body.Bytes(), []byte("woke: timeout")) {
		t.Fatalf("resumed: code %d, body %q", rec.Code, rec.Body.String())
	}
}
