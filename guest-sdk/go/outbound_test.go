package bubble_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// FetchHTTP against the fake host: a round trip with headers and a body,
// the body streamed in small reads, and the errors of the grant.
func TestFetchHTTP(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Header.Get("X-Token"))
		w.WriteHeader(201)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})
	h := &bubbletest.Host{Outbound: []string{"https://api.example.com/v1"}, HTTP: api}
	run(t, h, nil, func(*bubble.Exchange) error {
		resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{Method: "POST", URL: "https://api.example.com/v1/items",
			Header: bubble.Header{"X-Token": {"t1"}}, Body: []byte("payload")})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, 3)
		for {
			n, err := resp.Body.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if resp.Status != 201 || resp.Header.Get("X-Echo") != "t1" || string(got) != "POST /v1/items payload" {
			t.Errorf("response: %d %v %q", resp.Status, resp.Header, got)
		}
		if err := resp.Body.Close(); err != nil {
			t.Error(err)
		}
		if err := resp.Body.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
		_, err = resp.Body.Read(buf)
		is(t, "read after close", err, bubble.ErrNotFound)

		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/admin"})
		is(t, "outside the list", err, bubble.ErrDenied)
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1", Header: bubble.Header{"Host": {"evil.example"}}})
		is(t, "Host header", err, bubble.ErrInvalid)
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1", Header: bubble.Header{"X-A": {"1\r\nX-Injected: 1"}}})
		is(t, "CRLF in a value", err, bubble.ErrInvalid)
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{Method: "BAD METHOD", URL: "https://api.example.com/v1"})
		is(t, "bad method", err, bubble.ErrInvalid)
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{Method: "POST", URL: "https://api.example.com/v1", Body: make([]byte, 1<<20+1)})
		is(t, "body over the cap", err, bubble.ErrTooLarge)

		var open []*bubble.HTTPResponse
		for range bubble.MaxOpenResponses {
			resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1"})
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp)
		}
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1"})
		is(t, "ninth open response", err, bubble.ErrFull)
		open[0].Body.Close()
		_, err = bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1"})
		is(t, "after a close", err, nil)
		return nil
	})

	run(t, &bubbletest.Host{}, nil, func(*bubble.Exchange) error {
		_, err := bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/v1"})
		is(t, "without a grant", err, bubble.ErrDenied)
		return nil
	})
}
