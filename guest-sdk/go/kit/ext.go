package main

import (
	"errors"
	"hash/adler32"
	"io"
	"strconv"
	"strings"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

// extension runs one of CONFORMANCE.md's extension cases and writes its
// one-line report. The route grants pubsub = ["kit.*"], signals =
// ["kit.*"], kv = "kit", a dial target echo and outbound HTTP to the
// test's server.
func extension(x *bubble.Exchange, path string) error {
	var words []string
	switch path {
	case "/pubsub":
		words = pubsub()
	case "/signal":
		words = signal()
	case "/kv":
		q, _ := x.Env("QUERY_STRING")
		words = kv(q)
	case "/dial":
		q, _ := x.Env("QUERY_STRING")
		words = dial(q)
	case "/http":
		q, _ := x.Env("QUERY_STRING")
		words = fetchHTTP(q)
	}
	return write(x, strings.Join(words, " "))
}

func pubsub() []string {
	id, err := bubble.Subscribe("kit.ps")
	if err != nil {
		return []string{"pubsub", "subscribe", errName(err)}
	}
	n, err := bubble.Publish("kit.ps", []byte("hello"))
	if err != nil {
		return []string{"pubsub", "publish", errName(err)}
	}
	msg, err := bubble.Fetch(id, 1000)
	if err != nil {
		msg = []byte("fetch-" + errName(err))
	}
	if err := bubble.Unsubscribe(id); err != nil {
		return []string{"pubsub", "unsubscribe", errName(err)}
	}
	_, gone := bubble.Fetch(id, 0)
	_, denied := bubble.Publish("other", []byte("x"))
	return []string{"pubsub", strconv.Itoa(n), string(msg), errName(gone), errName(denied)}
}

func signal() []string {
	woken, err := bubble.SendSignal("kit.sig", []byte("x"))
	if err != nil {
		return []string{"signal", "send", errName(err)}
	}
	_, timeout := bubble.WaitSignal("kit.sig", 1)
	_, denied := bubble.SendSignal("nope", nil)
	return []string{"signal", strconv.Itoa(woken), errName(timeout), errName(denied)}
}

func kv(value string) []string {
	if err := bubble.KVSet("kit.k", []byte(value), 0); err != nil {
		return []string{"kv", "set", errName(err)}
	}
	got, ok, err := bubble.KVGet("kit.k")
	switch {
	case err != nil:
		got = []byte("get-" + errName(err))
	case !ok:
		got = []byte("get-notfound")
	}
	if err := bubble.KVDelete("kit.k"); err != nil {
		return []string{"kv", "delete", errName(err)}
	}
	missing := "found" // what the second get reports: the SDK's "not found"
	if _, ok, err := bubble.KVGet("kit.k"); err != nil {
		missing = errName(err)
	} else if !ok {
		missing = "notfound"
	}
	tooLarge := bubble.KVSet(strings.Repeat("a", 300), []byte("v"), 0)
	return []string{"kv", string(got), missing, errName(tooLarge)}
}

func dial(req string) []string {
	reply, err := bubble.Call("echo", []byte(req), 0)
	if err != nil {
		return []string{"dial", "call", errName(err)}
	}
	status := bubble.CallStatus()
	_, denied := bubble.Call("nope", []byte(req), 0)
	return []string{"dial", strings.TrimSuffix(string(reply), "\n"), strconv.Itoa(status), errName(denied)}
}

// deniedURL is outside the route's outbound list.
const deniedURL = "http://127.0.0.2/kit"

func fetchHTTP(url string) []string {
	resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{URL: url, Header: bubble.Header{"X-Kit": {"kit"}}})
	if err != nil {
		return []string{"http", "request", errName(err)}
	}
	defer resp.Body.Close()
	sum := adler32.New()
	n, err := io.Copy(sum, resp.Body) // streams: one buffer, never the whole body
	if err != nil {
		return []string{"http", "read", errName(err)}
	}
	if err := resp.Body.Close(); err != nil {
		return []string{"http", "close", errName(err)}
	}
	other, denied := bubble.FetchHTTP(&bubble.HTTPRequest{URL: deniedURL})
	if denied == nil {
		other.Body.Close()
	}
	return []string{"http", strconv.Itoa(resp.Status), resp.Header.Get("X-Kit-Echo"),
		strconv.FormatInt(n, 10), strconv.FormatUint(uint64(sum.Sum32()), 10), errName(denied)}
}

// errName is the case table's name of err: the SDK's error in lower case
// without ERR_ and underscores ("notfound", "toolarge"), "noerror" for
// nil, and the error's text for anything that is not an SDK error.
func errName(err error) string {
	if err == nil {
		return "noerror"
	}
	for _, e := range []bubble.Errno{bubble.ErrNotFound, bubble.ErrInvalid, bubble.ErrCommitted,
		bubble.ErrClosed, bubble.ErrIO, bubble.ErrTimeout, bubble.ErrTooLarge, bubble.ErrDenied, bubble.ErrFull} {
		if errors.Is(err, e) {
			return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(e.Error(), "ERR_"), "_", ""))
		}
	}
	return err.Error()
}
