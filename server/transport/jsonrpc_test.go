package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// methodRoute routes the JSON-RPC method name to h.
func methodRoute(t *testing.T, name string, h server.HandlerFunc) server.Route {
	t.Helper()
	p, err := server.ParsePattern(name)
	if err != nil {
		t.Fatal(err)
	}
	return server.Route{Name: "m:" + name, Match: map[string]server.Pattern{abi.EnvJSONRPCMethod: p}, Handler: h}
}

func mustPattern(t *testing.T, s string) server.Pattern {
	t.Helper()
	p, err := server.ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJSON(w server.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// specMethods is the router of the methods that section 7 of the JSON-RPC
// 2.0 specification calls; notified records the notifications it served.
func specMethods(t *testing.T, notified *invocations) *server.Router {
	notify := func(name string) server.HandlerFunc {
		return func(ctx context.Context, x *server.Exchange) error {
			params, err := io.ReadAll(x.Reader)
			if err != nil {
				return err
			}
			notified.add(name + " " + string(params))
			return nil
		}
	}
	return server.NewRouter(
		methodRoute(t, "subtract", func(ctx context.Context, x *server.Exchange) error {
			params, err := io.ReadAll(x.Reader)
			if err != nil {
				return err
			}
			var pos []float64
			var named struct{ Minuend, Subtrahend *float64 }
			switch {
			case json.Unmarshal(params, &pos) == nil && len(pos) == 2:
				return writeJSON(x.Writer, pos[0]-pos[1])
			case json.Unmarshal(params, &named) == nil && named.Minuend != nil && named.Subtrahend != nil:
				return writeJSON(x.Writer, *named.Minuend-*named.Subtrahend)
			}
			x.Writer.SetStatus(http.StatusBadRequest) // invalid params
			return nil
		}),
		methodRoute(t, "sum", func(ctx context.Context, x *server.Exchange) error {
			var nums []float64
			if err := json.NewDecoder(x.Reader).Decode(&nums); err != nil {
				x.Writer.SetStatus(http.StatusBadRequest)
				return nil
			}
			var sum float64
			for _, n := range nums {
				sum += n
			}
			return writeJSON(x.Writer, sum)
		}),
		methodRoute(t, "get_data", func(ctx context.Context, x *server.Exchange) error {
			return writeJSON(x.Writer, []any{"hello", 5})
		}),
		methodRoute(t, "update", notify("update")),
		methodRoute(t, "notify_hello", notify("notify_hello")),
		methodRoute(t, "notify_sum", notify("notify_sum")),
	)
}

type specCase struct {
	Name     string
	Request  string
	Response json.RawMessage // null: no response at all
}

func loadSpec(t *testing.T) []specCase {
	t.Helper()
	b, err := os.ReadFile("testdata/jsonrpc_spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []specCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 15 {
		t.Fatalf("%d spec cases, want the 15 of section 7", len(cases))
	}
	return cases
}

// canonRPC decodes a response for comparison: a batch as the sorted list of
// its responses (order is free), error data dropped (the spec leaves it to
// the server).
func canonRPC(t *testing.T, b []byte) (batch bool, items []string) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("response %q is not JSON: %v", b, err)
	}
	if d.More() {
		t.Fatalf("response %q holds more than one value", b)
	}
	one := func(v any) string {
		if m, ok := v.(map[string]any); ok {
			if e, ok := m["error"].(map[string]any); ok {
				delete(e, "data")
			}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			items = append(items, one(e))
		}
		sort.Strings(items)
		return true, items
	}
	return false, []string{one(v)}
}

func sameRPC(t *testing.T, got, want []byte) {
	t.Helper()
	gb, g := canonRPC(t, got)
	wb, w := canonRPC(t, want)
	if gb != wb || !slices.Equal(g, w) {
		t.Fatalf("response\n%s\nwant (as a set)\n%s", got, want)
	}
}

// rpcError decodes an error response.
func rpcError(t *testing.T, b []byte) (code int, msg string, data, id json.RawMessage) {
	t.Helper()
	var r struct {
		JSONRPC string
		Result  json.RawMessage
		Error   *struct {
			Code    int
			Message string
			Data    json.RawMessage
		}
		ID json.RawMessage
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	if r.JSONRPC != "2.0" || r.Error == nil || r.Result != nil || r.ID == nil {
		t.Fatalf("response %s is not an error response", b)
	}
	return r.Error.Code, r.Error.Message, r.Error.Data, r.ID
}

var wantNotified = []string{"notify_hello [7]", "notify_hello [7]", "notify_sum [1,2,4]", "update [1,2,3,4,5]"}

func checkNotified(t *testing.T, notified *invocations) {
	t.Helper()
	got := notified.get()
	sort.Strings(got)
	if !slices.Equal(got, wantNotified) {
		t.Errorf("notifications served: %q, want %q", got, wantNotified)
	}
}

// serveRPCOverHTTP serves an HTTP listener whose router sends PATH_INFO
// /rpc (and only POST when postOnly) to a jsonrpc transport over methods.
func serveRPCOverHTTP(t *testing.T, methods server.Handler, postOnly bool, opts transport.Options) (string, *http.Client) {
	t.Helper()
	opts.Logger = testutil.Logger(t)
	match := map[string]server.Pattern{abi.EnvPathInfo: mustPattern(t, "/rpc")}
	if postOnly {
		match[abi.EnvRequestMethod] = mustPattern(t, "POST")
	}
	outer := server.NewRouter(server.Route{Name: "rpc", Match: match, Handler: transport.NewJSONRPC(methods, opts)})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", outer, transport.Options{})
	return testutil.URL(a) + "/rpc", testutil.HTTPClient(t, a)
}

func postRPC(t *testing.T, client *http.Client, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestJSONRPCSpecOverHTTP(t *testing.T) {
	var notified invocations
	url, client := serveRPCOverHTTP(t, specMethods(t, &notified), true, transport.Options{})
	for _, c := range loadSpec(t) {
		t.Run(c.Name, func(t *testing.T) {
			resp, body := postRPC(t, client, url, c.Request)
			if string(c.Response) == "null" {
				if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
					t.Fatalf("got %d %q, want 204 and no body", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			sameRPC(t, body, c.Response)
		})
	}
	checkNotified(t, &notified)
}

func TestJSONRPCSpecOverStream(t *testing.T) {
	var notified invocations
	a := testutil.Serve(t, sockAddr(t), "jsonrpc", specMethods(t, &notified), transport.Options{})
	c := rawConn(t, a)
	r := bufio.NewReader(c)
	// Every example on one connection: the malformed ones must not end it.
	// After an example that needs no answer, a sentinel call shows that
	// nothing was sent for it (answers come in line order).
	const sentinel = `{"jsonrpc":"2.0","method":"sum","params":[40,2],"id":"sentinel"}`
	for _, sc := range loadSpec(t) {
		t.Run(sc.Name, func(t *testing.T) {
			if strings.Contains(sc.Request, "\n") {
				t.Fatal("a stream request must be one line")
			}
			want := []byte(sc.Response)
			in := sc.Request + "\n"
			if string(sc.Response) == "null" {
				in += sentinel + "\n"
				want = []byte(`{"jsonrpc":"2.0","result":42,"id":"sentinel"}`)
			}
			if _, err := io.WriteString(c, in); err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadBytes('\n')
			if err != nil {
				t.Fatalf("%q, %v", got, err)
			}
			sameRPC(t, got, want)
		})
	}
	checkNotified(t, &notified)
}

func TestJSONRPCStream(t *testing.T) {
	var notified invocations
	const max = 128
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "jsonrpc", specMethods(t, &notified), transport.Options{MaxLineBytes: max})
	c := rawConn(t, a)
	in := "\n" + // empty lines are skipped
		"  \t\r\n" +
		`{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1` + "\n" + // malformed
		`{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":2}` + "\r\n" +
		`{"jsonrpc":"2.0","method":"sum","params":[` + strings.Repeat("1,", max) + `1],"id":3}` + "\n" + // too long
		`[{"jsonrpc":"2.0","method":"sum","params":[3],"id":4},{"jsonrpc":"2.0","method":"x","id":5}]` + "\n" +
		`{"jsonrpc":"2.0","method":"sum","params":[5],"id":6}` // last line without terminator
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	closeWrite(t, c) // the peer is done sending, not gone: everything is answered
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d response lines, want 5:\n%s", len(lines), out)
	}
	code, _, data, id := rpcError(t, []byte(lines[0]))
	if code != -32700 || string(id) != "null" || len(data) == 0 {
		t.Errorf("malformed line: %s, want -32700 with id null and a reason in data", lines[0])
	}
	sameRPC(t, []byte(lines[1]), []byte(`{"jsonrpc":"2.0","result":3,"id":2}`))
	code, msg, _, id := rpcError(t, []byte(lines[2]))
	if code != -32600 || string(id) != "null" || !strings.Contains(msg, "too large (limit 128 bytes)") {
		t.Errorf("over-long line: %s, want -32600 saying the request is too large", lines[2])
	}
	sameRPC(t, []byte(lines[3]), []byte(`[{"jsonrpc":"2.0","result":3,"id":4},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":5}]`))
	sameRPC(t, []byte(lines[4]), []byte(`{"jsonrpc":"2.0","result":5,"id":6}`))
}

// TestJSONRPCOnLine stacks jsonrpc as a route of a line listener: each line
// is one exchange whose input jsonrpc serves as a one-line stream.
func TestJSONRPCOnLine(t *testing.T) {
	var notified invocations
	rpc := transport.NewJSONRPC(specMethods(t, &notified), transport.Options{Logger: testutil.Logger(t)})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "line", rpc, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, `{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}`+"\n"+
		`{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}`+"\n"+
		`[1]`+"\n")
	closeWrite(t, c)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q, want two lines", out)
	}
	sameRPC(t, []byte(lines[0]), []byte(`{"jsonrpc":"2.0","result":19,"id":1}`))
	sameRPC(t, []byte(lines[1]), []byte(`[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]`))
	if got := notified.get(); len(got) != 1 || got[0] != "update [1,2,3,4,5]" {
		t.Fatalf("notifications %q", got)
	}
}

func TestJSONRPCEnv(t *testing.T) {
	envs := make(chan server.Env, 10)
	methods := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		in, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		env := x.Env.Clone()
		env["input"] = string(in)
		envs <- env
		return nil
	})
	url, client := serveRPCOverHTTP(t, methods, true, transport.Options{})
	req, _ := http.NewRequest("POST", url+"?q=1", strings.NewReader(
		`[{"jsonrpc":"2.0","method":"a.b","params":{"k":[1, 2]},"id":"abc"},`+
			`{"jsonrpc":"2.0","method":"n"},`+
			`{"jsonrpc":"2.0","method":"m","params":[],"id":-1.5e3}]`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Test", "kept")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sameRPC(t, body, []byte(`[{"jsonrpc":"2.0","result":null,"id":"abc"},{"jsonrpc":"2.0","result":null,"id":-1.5e3}]`))
	close(envs)
	byMethod := map[string]server.Env{}
	for env := range envs {
		byMethod[env[abi.EnvJSONRPCMethod]] = env
	}
	if len(byMethod) != 3 {
		t.Fatalf("calls %v", byMethod)
	}
	for m, env := range byMethod {
		for _, k := range []string{abi.EnvRequestMethod, abi.EnvRequestURI, abi.EnvScriptName, abi.EnvPathInfo,
			abi.EnvQueryString, abi.EnvRoute} {
			if v, ok := env[k]; ok {
				t.Errorf("%s: outer key %s=%q in a call's env", m, k, v)
			}
		}
		for k, want := range map[string]string{
			abi.EnvTransport:   "jsonrpc",
			abi.EnvContentType: "application/json",
			abi.EnvListener:    "test",
			abi.EnvNetwork:     "tcp",
			"HTTP_X_TEST":      "kept",
		} {
			if env[k] != want {
				t.Errorf("%s: %s=%q, want %q", m, k, env[k], want)
			}
		}
	}
	for m, want := range map[string]map[string]string{
		"a.b": {abi.EnvJSONRPCID: `"abc"`, "input": `{"k":[1, 2]}`, abi.EnvContentLength: "12"},
		"n":   {"input": "", abi.EnvJSONRPCNotification: "1", abi.EnvContentLength: "0"},
		"m":   {abi.EnvJSONRPCID: "-1.5e3", "input": "[]", abi.EnvContentLength: "2"},
	} {
		env := byMethod[m]
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", m, k, env[k], v)
			}
		}
		_, hasID := env[abi.EnvJSONRPCID]
		_, isNote := env[abi.EnvJSONRPCNotification]
		if hasID == isNote {
			t.Errorf("%s: jsonrpc.id present=%v, jsonrpc.notification present=%v", m, hasID, isNote)
		}
	}
}

// TestJSONRPCSameRouter stacks jsonrpc on the very router that sends /rpc to
// it: the calls' env has no PATH_INFO, so the /rpc route cannot take them.
func TestJSONRPCSameRouter(t *testing.T) {
	var router *server.Router
	rpc := transport.NewJSONRPC(server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		return router.Serve(ctx, x)
	}), transport.Options{Logger: testutil.Logger(t)})
	router = server.NewRouter(
		server.Route{Name: "rpc", Match: map[string]server.Pattern{abi.EnvPathInfo: mustPattern(t, "/*")}, Handler: rpc},
		methodRoute(t, "echo", func(ctx context.Context, x *server.Exchange) error {
			_, err := io.Copy(x.Writer, x.Reader)
			return err
		}),
	)
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", router, transport.Options{})
	client := testutil.HTTPClient(t, a)
	_, body := postRPC(t, client, testutil.URL(a)+"/rpc",
		`[{"jsonrpc":"2.0","method":"echo","params":["x"],"id":1},{"jsonrpc":"2.0","method":"rpc","id":2}]`)
	sameRPC(t, body, []byte(`[{"jsonrpc":"2.0","result":["x"],"id":1},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":2}]`))
}

// errorMethods exercise the mapping of a call's end to its response.
func errorMethods(t *testing.T) *server.Router {
	h := func(name string, f server.HandlerFunc) server.Route { return methodRoute(t, name, f) }
	return server.NewRouter(
		h("bad_params", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.SetStatus(400)
			return writeJSON(x.Writer, map[string]string{"field": "a"})
		}),
		h("bad_params_error", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.SetStatus(400)
			return errors.New("secret detail")
		}),
		h("bad_request", func(ctx context.Context, x *server.Exchange) error {
			return fmt.Errorf("%w: secret detail", server.ErrBadRequest)
		}),
		h("fail", func(ctx context.Context, x *server.Exchange) error {
			return errors.New("secret detail")
		}),
		h("fail_after_write", func(ctx context.Context, x *server.Exchange) error {
			io.WriteString(x.Writer, `{"secret":1}`)
			return errors.New("secret detail")
		}),
		h("timeout", func(ctx context.Context, x *server.Exchange) error {
			return fmt.Errorf("%w: secret detail", server.ErrTimeout)
		}),
		h("status500", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.SetStatus(500)
			return writeJSON(x.Writer, map[string]string{"secret": "detail"})
		}),
		h("panic", func(ctx context.Context, x *server.Exchange) error {
			panic("secret detail")
		}),
		h("not_json", func(ctx context.Context, x *server.Exchange) error {
			_, err := io.WriteString(x.Writer, "secret detail")
			return err
		}),
		h("two_values", func(ctx context.Context, x *server.Exchange) error {
			_, err := io.WriteString(x.Writer, "1 2")
			return err
		}),
		h("empty", func(ctx context.Context, x *server.Exchange) error { return nil }),
		h("pretty", func(ctx context.Context, x *server.Exchange) error {
			_, err := io.WriteString(x.Writer, "\n{\n  \"a\": [1,\n 2],\n  \"s\": \"<&>\"\n}\n\n")
			return err
		}),
		h("late_status", func(ctx context.Context, x *server.Exchange) error {
			io.WriteString(x.Writer, "1")
			if x.Writer.SetStatus(400) {
				return errors.New("SetStatus after a write succeeded")
			}
			return nil
		}),
		h("custom", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set(transport.JSONRPCErrorCodeHeader, "-32001")
			x.Writer.Header().Set(transport.JSONRPCErrorMessageHeader, "Account locked")
			x.Writer.SetStatus(409)
			return writeJSON(x.Writer, map[string]int{"retry_after": 30})
		}),
		h("custom_500", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set(transport.JSONRPCErrorCodeHeader, "7")
			x.Writer.SetStatus(503)
			io.WriteString(x.Writer, `{"secret":1}`)
			return errors.New("secret detail")
		}),
		h("custom_no_status", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set(transport.JSONRPCErrorCodeHeader, "7")
			_, err := io.WriteString(x.Writer, "true")
			return err
		}),
		h("custom_bad_code", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set(transport.JSONRPCErrorCodeHeader, "seven")
			x.Writer.SetStatus(409)
			return nil
		}),
		h("not_found", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.SetStatus(404)
			return nil
		}),
		h("forbidden", func(ctx context.Context, x *server.Exchange) error {
			x.Writer.SetStatus(403)
			return nil
		}),
		h("rate_limited", func(ctx context.Context, x *server.Exchange) error {
			return &server.RetryLaterError{Err: fmt.Errorf("%w: secret detail", server.ErrRateLimited), After: time.Second}
		}),
	)
}

func TestJSONRPCErrorConventions(t *testing.T) {
	cases := []struct {
		method string
		want   string // the response, error data included
	}{
		{"bad_params", `{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":{"field":"a"}},"id":1}`},
		{"bad_params_error", `{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":1}`},
		{"bad_request", `{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"},"id":1}`},
		{"fail", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"fail_after_write", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"timeout", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"status500", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"panic", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"not_json", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"two_values", `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
		{"empty", `{"jsonrpc":"2.0","result":null,"id":1}`},
		{"pretty", `{"jsonrpc":"2.0","result":{"a":[1,2],"s":"<&>"},"id":1}`},
		{"late_status", `{"jsonrpc":"2.0","result":1,"id":1}`},
		{"custom", `{"jsonrpc":"2.0","error":{"code":-32001,"message":"Account locked","data":{"retry_after":30}},"id":1}`},
		{"custom_500", `{"jsonrpc":"2.0","error":{"code":7,"message":"Server error"},"id":1}`},
		{"custom_no_status", `{"jsonrpc":"2.0","result":true,"id":1}`},
		{"custom_bad_code", `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Conflict"},"id":1}`},
		{"not_found", `{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}`},
		{"forbidden", `{"jsonrpc":"2.0","error":{"code":-32000,"message":"Forbidden"},"id":1}`},
		{"rate_limited", `{"jsonrpc":"2.0","error":{"code":-32000,"message":"rate limited"},"id":1}`},
		{"no_such_method", `{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}`},
	}
	exact := func(t *testing.T, got []byte, want string) {
		t.Helper()
		var g, w any
		if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
			t.Fatalf("got %q, want %s", got, want)
		}
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		if bytes.Contains(got, []byte("secret")) {
			t.Fatalf("%s leaks the handler's details", got)
		}
	}

	t.Run("http", func(t *testing.T) {
		url, client := serveRPCOverHTTP(t, errorMethods(t), true, transport.Options{})
		for _, c := range cases {
			t.Run(c.method, func(t *testing.T) {
				resp, body := postRPC(t, client, url, `{"jsonrpc":"2.0","method":"`+c.method+`","id":1}`)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				exact(t, body, c.want)
			})
		}
		// Notifications are not answered, whatever happens to them.
		var batch []string
		for _, c := range cases {
			batch = append(batch, `{"jsonrpc":"2.0","method":"`+c.method+`"}`)
		}
		resp, body := postRPC(t, client, url, "["+strings.Join(batch, ",")+"]")
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("failing notifications: %d %q, want 204 and nothing", resp.StatusCode, body)
		}
	})

	t.Run("stream", func(t *testing.T) {
		a := testutil.Serve(t, sockAddr(t), "jsonrpc", errorMethods(t), transport.Options{})
		c := rawConn(t, a)
		r := bufio.NewReader(c)
		for _, tc := range cases {
			fmt.Fprintf(c, `{"jsonrpc":"2.0","method":"%s"}`+"\n", tc.method) // not answered
			fmt.Fprintf(c, `{"jsonrpc":"2.0","method":"%s","id":1}`+"\n", tc.method)
			got, err := r.ReadBytes('\n')
			if err != nil {
				t.Fatalf("%s: %q, %v", tc.method, got, err)
			}
			if bytes.Count(got, []byte("\n")) != 1 {
				t.Fatalf("%s: response %q is not one line", tc.method, got)
			}
			exact(t, got, tc.want)
		}
	})
}

func TestJSONRPCInvalidRequests(t *testing.T) {
	methods := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, `"ok"`)
		return err
	})
	url, client := serveRPCOverHTTP(t, methods, true, transport.Options{})
	cases := []struct{ req, want string }{
		// A detectable id is echoed; an invalid one is not.
		{`{"jsonrpc":"2.0","method":1,"id":7}`, `{"code":-32600,"id":7}`},
		{`{"jsonrpc":"2.0","method":"m","id":{}}`, `{"code":-32600,"id":null}`},
		{`{"jsonrpc":"2.0","method":"m","id":[1]}`, `{"code":-32600,"id":null}`},
		{`{"jsonrpc":"2.0","method":"m","id":true}`, `{"code":-32600,"id":null}`},
		{`{"jsonrpc":"2.0","method":"m","id":null}`, `{"result":"ok","id":null}`},
		{`{"jsonrpc":"2.0","method":"m","id":"x","params":"bar"}`, `{"code":-32600,"id":"x"}`},
		{`{"jsonrpc":"2.0","method":"m","id":"x","params":null}`, `{"code":-32600,"id":"x"}`},
		{`{"jsonrpc":"2.0","method":"m","id":"x","params":3}`, `{"code":-32600,"id":"x"}`},
		{`{"jsonrpc":"2.0","method":"m","id":"x","params":{}}`, `{"result":"ok","id":"x"}`},
		{`{"jsonrpc":"2.0","method":"m","id":"x","params":[]}`, `{"result":"ok","id":"x"}`},
		{`{"jsonrpc":"2.1","method":"m","id":1}`, `{"code":-32600,"id":1}`},
		{`{"jsonrpc":2.0,"method":"m","id":1}`, `{"code":-32600,"id":1}`},
		{`{"method":"m","id":1}`, `{"code":-32600,"id":1}`},
		{`{"jsonrpc":"2.0","id":1}`, `{"code":-32600,"id":1}`},
		{`{"jsonrpc":"2.0","method":null,"id":1}`, `{"code":-32600,"id":1}`},
		{`{"jsonrpc":"2.0","method":"m"}`, ``}, // a notification
		{`{"jsonrpc":"2.0","method":1}`, `{"code":-32600,"id":null}`},
		{`"2.0"`, `{"code":-32600,"id":null}`},
		{`null`, `{"code":-32600,"id":null}`},
		{` [ ] `, `{"code":-32600,"id":null}`},
		{`[[]]`, `[{"code":-32600,"id":null}]`},
		{``, `{"code":-32700,"id":null}`},
		{`{"jsonrpc":"2.0","method":"m","id":1} {}`, `{"code":-32700,"id":null}`},
		{`[{"jsonrpc":"2.0","method":"m","id":1},]`, `{"code":-32700,"id":null}`},
	}
	// summary reduces a response to its code (or result) and id.
	summary := func(b []byte) string {
		var one func(v any) any
		one = func(v any) any {
			m, _ := v.(map[string]any)
			s := map[string]any{"id": m["id"]}
			if e, ok := m["error"].(map[string]any); ok {
				s["code"] = e["code"]
			} else {
				s["result"] = m["result"]
			}
			return s
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Sprintf("not JSON: %q", b)
		}
		if arr, ok := v.([]any); ok {
			for i := range arr {
				arr[i] = one(arr[i])
			}
			v = arr
		} else {
			v = one(v)
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	for _, c := range cases {
		resp, body := postRPC(t, client, url, c.req)
		if c.want == "" {
			if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
				t.Errorf("%s: %d %q, want no answer", c.req, resp.StatusCode, body)
			}
			continue
		}
		var w any
		json.Unmarshal([]byte(c.want), &w)
		wb, _ := json.Marshal(w)
		if got := summary(body); got != string(wb) {
			t.Errorf("%s:\n got %s (%s)\nwant %s", c.req, got, body, wb)
		}
	}
}

func TestJSONRPCOverHTTPLimitsAndMethods(t *testing.T) {
	methods := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	})
	call := func(n int) string { // a call of exactly n bytes
		const head, tail = `{"jsonrpc":"2.0","method":"m","id":1,"params":["`, `"]}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	for _, tc := range []struct {
		name  string
		limit int64 // MaxBodyBytes
		max   int   // the limit in effect
	}{
		{"MaxBodyBytes", 200, 200},
		{"default", 0, transport.DefaultMaxJSONRPCBodyBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, client := serveRPCOverHTTP(t, methods, false, transport.Options{MaxBodyBytes: tc.limit})
			resp, body := postRPC(t, client, url, call(tc.max))
			if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"result":["xx`)) {
				t.Fatalf("a request of exactly the limit: %d %.100s", resp.StatusCode, body)
			}
			for _, chunked := range []bool{false, true} {
				var in io.Reader = strings.NewReader(call(tc.max + 1))
				if chunked { // no Content-Length: the transport finds out by reading
					in = io.MultiReader(in)
				}
				resp, err := client.Post(url, "application/json", in)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("a request over the limit (chunked %v): %d %q", chunked, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				code, msg, _, id := rpcError(t, body)
				if code != -32600 || string(id) != "null" || !strings.Contains(msg, fmt.Sprintf("too large (limit %d bytes)", tc.max)) {
					t.Fatalf("a request over the limit (chunked %v): %s", chunked, body)
				}
			}
		})
	}

	url, client := serveRPCOverHTTP(t, methods, false, transport.Options{})
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("%s: %d, Allow %q; want 405 allowing POST", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
		if code, _, _, _ := rpcError(t, body); code != -32600 {
			t.Fatalf("%s: %s", m, body)
		}
	}
}

func TestJSONRPCBatchConcurrency(t *testing.T) {
	const calls, bound = 20, 8
	var (
		mu            sync.Mutex
		running, most int
		opened        bool
	)
	gate := make(chan struct{})
	methods := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		mu.Lock()
		running++
		most = max(most, running)
		if running == bound && !opened {
			opened = true
			close(gate)
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		// Nobody returns before the bound is reached: if fewer calls ran at
		// once, this waits until the client gives up.
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	})
	url, client := serveRPCOverHTTP(t, methods, true, transport.Options{})
	var reqs, resps []string
	for i := range calls {
		reqs = append(reqs, fmt.Sprintf(`{"jsonrpc":"2.0","method":"m","params":[%d],"id":%d}`, i, i))
		resps = append(resps, fmt.Sprintf(`{"jsonrpc":"2.0","result":[%d],"id":%d}`, i, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader("["+strings.Join(reqs, ",")+"]"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%v (did %d calls of the batch run at once?)", err, bound)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sameRPC(t, body, []byte("["+strings.Join(resps, ",")+"]"))
	mu.Lock()
	defer mu.Unlock()
	if most != bound {
		t.Fatalf("at most %d calls ran at once, want %d", most, bound)
	}
}

// blockingMethod signals when a call starts and when its context ends.
func blockingMethod(started, ended chan<- string) server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		started <- x.Env[abi.EnvJSONRPCID]
		<-ctx.Done()
		ended <- x.Env[abi.EnvJSONRPCID]
		return ctx.Err()
	}
}

func waitFor(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testDeadline):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

func TestJSONRPCClientGone(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		started, ended := make(chan string, 10), make(chan string, 10)
		url, client := serveRPCOverHTTP(t, blockingMethod(started, ended), true, transport.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"jsonrpc":"2.0","method":"m","id":1}`))
		errc := make(chan error, 1)
		go func() {
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitFor(t, started, "the call")
		cancel() // the client closes the connection
		if id := waitFor(t, ended, "the call's context to end"); id != "1" {
			t.Fatalf("ended call %q", id)
		}
		if err := <-errc; err == nil {
			t.Fatal("the request succeeded")
		}
	})
	t.Run("stream", func(t *testing.T) {
		started, ended := make(chan string, 10), make(chan string, 10)
		a := testutil.Serve(t, "tcp://127.0.0.1:0", "jsonrpc", blockingMethod(started, ended), transport.Options{})
		c := rawConn(t, a)
		io.WriteString(c, `[{"jsonrpc":"2.0","method":"m","id":1},{"jsonrpc":"2.0","method":"m","id":2}]`+"\n")
		waitFor(t, started, "the first call")
		waitFor(t, started, "the second call")
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // a reset: the peer is gone
		got := []string{waitFor(t, ended, "a call's context to end"), waitFor(t, ended, "a call's context to end")}
		sort.Strings(got)
		if !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("ended calls %q", got)
		}
	})
}

func TestJSONRPCStreamShutdown(t *testing.T) {
	l := testutil.Listen(t, "tcp://127.0.0.1:0")
	var notified invocations
	srv, served := testutil.ServeListener(t, l, "jsonrpc", specMethods(t, &notified), transport.Options{})
	c := testutil.Dial(t, server.ListenerAddress(l))
	c.SetDeadline(time.Now().Add(testDeadline))
	r := bufio.NewReader(c)
	io.WriteString(c, `{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`+"\n")
	got, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	sameRPC(t, got, []byte(`{"jsonrpc":"2.0","result":1,"id":1}`))
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if rest, err := io.ReadAll(r); err != nil && !isClosedErr(err) || len(rest) != 0 {
		t.Fatalf("after Shutdown: %q, %v; want the connection closed", rest, err)
	}
	if err := <-served; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}
