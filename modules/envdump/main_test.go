package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// want is encoding/json's rendering of env, which the module must match.
func want(t *testing.T, env map[string]string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestEnvdump(t *testing.T) {
	env := map[string]string{
		"REQUEST_METHOD": "GET",
		"QUERY_STRING":   "",
		"HTTP_X":         "quote\" backslash\\ tab\t nl\n cr\r bell\x07 del\x7f nul\x00",
		"HTTP_UNICODE":   "Grüße, 世界 🌍 \u2028\u2029 <&>",
		"HTTP_BAD_UTF8":  "a\xffb\xc3(c\xed\xa0\x80",
		"é":              "key",
	}
	rec := bubbletest.Serve(env, nil)
	if rec.Code != 0 || rec.Status != 200 || rec.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("code %d status %d headers %v", rec.Code, rec.Status, rec.Header)
	}
	if got, want := rec.Body.String(), want(t, env); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	var back map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || back["REQUEST_METHOD"] != "GET" {
		t.Errorf("output does not parse back: %v", err)
	}
}

func TestEmptyEnv(t *testing.T) {
	if rec := bubbletest.Serve(nil, nil); rec.Body.String() != "{}\n" {
		t.Errorf("body %q", rec.Body.String())
	}
}

func TestRandomStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		env := map[string]string{"k": string(b)}
		got := `{"k":` + string(appendJSONString(nil, string(b))) + "}\n"
		if want := want(t, env); got != want {
			t.Fatalf("%q: got %s want %s", b, got, want)
		}
	}
}
