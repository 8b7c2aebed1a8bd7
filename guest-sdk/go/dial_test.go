package bubble_test

import (
	"bytes"
	"testing"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

func TestCall(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100_000) // over the scratch buffer: size negotiation
	h := &bubbletest.Host{Dial: map[string]func([]byte, int) ([]byte, int, error){
		"echo": func(req []byte, timeoutMs int) ([]byte, int, error) { return append([]byte("re:"), req...), 200, nil },
		"big":  func([]byte, int) ([]byte, int, error) { return big, 0, nil },
		"slow": func([]byte, int) ([]byte, int, error) { return nil, 0, bubble.ErrTimeout },
	}}
	run(t, h, nil, func(*bubble.Exchange) error {
		if s := bubble.CallStatus(); s != -1 {
			t.Errorf("CallStatus before any call = %d, want -1", s)
		}
		r, err := bubble.Call("echo", []byte("hi"), 1000)
		if string(r) != "re:hi" || err != nil || bubble.CallStatus() != 200 {
			t.Errorf("Call(echo) = %q, %v, status %d", r, err, bubble.CallStatus())
		}
		r, err = bubble.Call("big", nil, 0)
		if !bytes.Equal(r, big) || err != nil || bubble.CallStatus() != 0 {
			t.Errorf("Call(big) = %d bytes, %v, status %d", len(r), err, bubble.CallStatus())
		}
		_, err = bubble.Call("slow", nil, 10)
		is(t, "Call(slow)", err, bubble.ErrTimeout)
		if s := bubble.CallStatus(); s != -1 {
			t.Errorf("CallStatus after a failed call = %d, want -1", s)
		}
		_, err = bubble.Call("nobody", nil, 10)
		is(t, "Call(nobody)", err, bubble.ErrDenied)
		return nil
	})
	run(t, &bubbletest.Host{}, nil, func(*bubble.Exchange) error {
		_, err := bubble.Call("echo", nil, 10)
		is(t, "Call without a dial grant", err, bubble.ErrDenied)
		return nil
	})
}
