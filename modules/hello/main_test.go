package main

import (
	"net/url"
	"testing"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

func TestHello(t *testing.T) {
	for query, want := range map[string]string{
		"":                         "Hello, world!\n",
		"name=Ann":                 "Hello, Ann!\n",
		"x=1&name=J%C3%BCrgen+M&y": "Hello, Jürgen M!\n",
		"name=":                    "Hello, world!\n",
		"nam%65=Bob":               "Hello, Bob!\n",
		"name=100%&name=second":    "Hello, 100%!\n",
		"name=%zz%4":               "Hello, %zz%4!\n",
		"other=name%3DEve":         "Hello, world!\n",
		"name=%3Cb%3E%26":          "Hello, <b>&!\n",
	} {
		rec := bubbletest.Serve(map[string]string{"QUERY_STRING": query}, nil)
		if rec.Code != 0 || rec.Status != 200 || rec.Body.String() != want {
			t.Errorf("%q: code %d status %d body %q, want %q", query, rec.Code, rec.Status, rec.Body.String(), want)
		}
		if ct := rec.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%q: Content-Type %q", query, ct)
		}
	}
}

func TestNoQueryString(t *testing.T) {
	rec := bubbletest.Serve(nil, nil)
	if rec.Code != 0 || rec.Body.String() != "Hello, world!\n" {
		t.Errorf("code %d body %q", rec.Code, rec.Body.String())
	}
}

// Where net/url accepts the escape, the hand decoder agrees with it.
func TestUnescapeMatchesNetURL(t *testing.T) {
	for _, s := range []string{"a+b", "%41%62", "%e2%82%ac", "%2B+%20", "plain", "%00x"} {
		want, err := url.QueryUnescape(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := unescape(s); got != want {
			t.Errorf("unescape(%q) = %q, want %q", s, got, want)
		}
	}
}
