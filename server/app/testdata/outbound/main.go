// Command outbound is the test module of the outbound HTTP extension: the
// request body is a JSON call, which it makes Open times (keeping every
// response open), reporting each result as lines:
//
//	status 200
//	header X-Name: value      (X- headers only, sorted)
//	body ...                  (when Chunk > 0: the body read Chunk bytes at a time)
//	reads N
//	read error bubble: http.read: ERR_TOO_LARGE
//	error bubble: http.request: ERR_DENIED
//
// Then, with Trap, it panics, and with Spin it loops until the exchange
// times out, its responses still open.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

type call struct {
	Method    string
	URL       string
	Header    map[string][]string
	Body      string
	TimeoutMs int
	Chunk     int
	Open      int
	Trap      bool
	Spin      bool
}

func init() {
	bubble.HandleStream(func(x *bubble.Exchange) error {
		in, err := io.ReadAll(x)
		if err != nil {
			return err
		}
		var c call
		if err := json.Unmarshal(in, &c); err != nil {
			return err
		}
		for range max(c.Open, 1) {
			fmt.Fprint(x, fetch(c))
		}
		if c.Trap {
			panic("trap with responses open")
		}
		for c.Spin {
		}
		return nil
	})
}

func fetch(c call) string {
	var out strings.Builder
	resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{Method: c.Method, URL: c.URL, Header: c.Header, Body: []byte(c.Body), TimeoutMs: c.TimeoutMs})
	if err != nil {
		return fmt.Sprintf("error %v\n", err)
	}
	fmt.Fprintf(&out, "status %d\n", resp.Status)
	var names []string
	for k := range resp.Header {
		if strings.HasPrefix(k, "X-") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&out, "header %s: %s\n", k, strings.Join(resp.Header[k], ","))
	}
	if c.Chunk <= 0 {
		return out.String()
	}
	var body []byte
	buf := make([]byte, c.Chunk)
	reads := 0
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if n > 0 {
			reads++
		}
		if err == io.EOF {
			fmt.Fprintf(&out, "body %s\nreads %d\n", body, reads)
			break
		}
		if err != nil {
			fmt.Fprintf(&out, "body %s\nread error %v\n", body, err)
			break
		}
	}
	resp.Body.Close()
	return out.String()
}

func main() {}
