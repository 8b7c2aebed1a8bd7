package main

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// The handler's logic under plain go test (the fake host of bubbletest);
// ../worker_test.go runs the built module over both listeners.
func TestHandle(t *testing.T) {
	for in, want := range map[string]struct {
		status int
		body   string
	}{
		`{"text":"hello wasm world"}`:        {200, `{"words":3,"chars":16,"upper":"HELLO WASM WORLD"}`},
		`{"text":"  Jürgen's café\t<ok>\n"}`: {200, `{"words":3,"chars":21,"upper":"  JÜRGEN'S CAFÉ\t<OK>\n"}`},
		`{"text":""}`:                        {200, `{"words":0,"chars":0,"upper":""}`},
		`{"text":5}`:                         {400, `{"error":"\"text\" must be a string","status":400}`},
		`{"text":null}`:                      {400, `{"error":"\"text\" must be a string","status":400}`},
		`{}`:                                 {400, `{"error":"missing \"text\"","status":400}`},
		`{"text":"a","lang":"en"}`:           {400, `{"error":"only \"text\" is accepted","status":400}`},
		`["text"]`:                           {400, `{"error":"input must be a JSON object like {\"text\": \"...\"}","status":400}`},
		`{oops`:                              {400, `{"error":"input must be a JSON object like {\"text\": \"...\"}","status":400}`},
	} {
		rec := bubbletest.Serve(nil, strings.NewReader(in))
		if rec.Code != 0 || rec.Status != want.status || rec.Body.String() != want.body+"\n" || rec.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: code %d status %d body %q type %q, want %d %s", in, rec.Code, rec.Status, rec.Body.String(), rec.Header.Get("Content-Type"), want.status, want.body)
		}
	}
}
