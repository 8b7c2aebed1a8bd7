package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// fuzzMethods is the handler behind the fuzzed transport: every method
// echoes its params, except a few that end in each way a call can end.
var fuzzMethods = server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
	in, err := io.ReadAll(x.Reader)
	if err != nil {
		return err
	}
	switch x.Env[abi.EnvJSONRPCMethod] {
	case "fail":
		return errors.New("failed")
	case "missing":
		return server.ErrNoRoute
	case "invalid":
		x.Writer.SetStatus(400)
	case "garbage":
		in = []byte("{\xff")
	}
	_, err = x.Writer.Write(in)
	return err
})

// serveJSONRPC runs the jsonrpc transport over input as a stream and
// returns its output lines.
func serveJSONRPC(t *testing.T, input []byte) []string {
	var out bytes.Buffer
	rpc := transport.NewJSONRPC(fuzzMethods, transport.Options{MaxBatch: 20, BatchConcurrency: 3})
	err := rpc.Serve(context.Background(), &server.Exchange{Env: server.Env{abi.EnvListener: "fuzz"},
		Reader: bytes.NewReader(input), Writer: server.NewStreamWriter(&out)})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if out.Len() == 0 {
		return nil
	}
	if !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		t.Fatalf("output %q does not end with a newline", out.Bytes())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

// fuzzResponse is a response object as a client reads it.
type fuzzResponse struct {
	Result json.RawMessage // nil if absent
	Code   int             // the error's code; 0 for a result
	ID     json.RawMessage
}

// checkResponse checks what every response object must be: jsonrpc "2.0",
// an id, and exactly one of result and error.
func checkResponse(t *testing.T, raw json.RawMessage) fuzzResponse {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("response %s: %v", raw, err)
	}
	var e struct{ Code int }
	result, hasResult := m["result"]
	errObj, hasError := m["error"]
	if string(m["jsonrpc"]) != `"2.0"` || m["id"] == nil || hasResult == hasError || len(m) != 3 ||
		hasError && (json.Unmarshal(errObj, &e) != nil || e.Code == 0) {
		t.Fatalf("response %s is not a JSON-RPC 2.0 response", raw)
	}
	return fuzzResponse{Result: result, Code: e.Code, ID: m["id"]}
}

func specSeeds(f *testing.F) []string {
	data, err := os.ReadFile(filepath.Join("testdata", "jsonrpc_spec.json"))
	if err != nil {
		f.Fatal(err)
	}
	var exs []struct{ Request string }
	if err := json.Unmarshal(data, &exs); err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, e := range exs {
		out = append(out, e.Request)
	}
	return out
}

// FuzzJSONRPCDecode feeds arbitrary bytes to the jsonrpc transport as a
// stream. Whatever they are, it must not panic, every output line must be
// JSON text (valid JSON, valid UTF-8) holding a response or an array of
// responses, there is at most one output line per input line, and an id
// that is not null is one the input holds.
func FuzzJSONRPCDecode(f *testing.F) {
	for _, s := range specSeeds(f) {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"\xff\"}",
		`{"jsonrpc":"2.0","method":"m","id":1,"id":2}`,
		`[{"jsonrpc":"2.0","method":"fail","id":1},{"jsonrpc":"2.0","method":"garbage","id":2},{"jsonrpc":"2.0","method":"invalid","params":{"a":1},"id":3}]`,
		`[1,2,3]` + "\n" + `[]` + "\n\n" + `{"jsonrpc":"2.0","method":"missing","id":1e999}`,
		`{"jsonrpc":"2.0","method":"m","params":["\u0000\ud800"],"id":"\u2028"}`,
		`[` + strings.Repeat(`{"jsonrpc":"2.0","method":"m","id":0},`, 20) + `{}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		lines := serveJSONRPC(t, input)
		nonEmpty := 0
		for l := range bytes.SplitSeq(input, []byte("\n")) {
			if len(bytes.Trim(l, " \t\r\n")) > 0 {
				nonEmpty++
			}
		}
		if len(lines) > nonEmpty {
			t.Fatalf("%d response lines for %d request lines", len(lines), nonEmpty)
		}
		for _, line := range lines {
			if !json.Valid([]byte(line)) || !utf8.ValidString(line) {
				t.Fatalf("response line %q is not JSON text", line)
			}
			var resps []json.RawMessage
			if strings.HasPrefix(line, "[") {
				if err := json.Unmarshal([]byte(line), &resps); err != nil || len(resps) == 0 {
					t.Fatalf("batch response %q: %v", line, err)
				}
			} else {
				resps = []json.RawMessage{json.RawMessage(line)}
			}
			for _, raw := range resps {
				r := checkResponse(t, raw)
				if id := r.ID; string(id) != "null" && !bytes.Contains(input, id) {
					t.Fatalf("response id %s is not in the input", id)
				}
			}
		}
	})
}

// FuzzJSONRPCBatch builds requests from fuzzed parts (id, method, params)
// and checks each response exactly: one per call that is not a
// notification, in order, its id echoed byte for byte, its result the
// params echoed, or the error the JSON-RPC rules give.
func FuzzJSONRPCBatch(f *testing.F) {
	f.Add("1", "m", "[1,2]", uint8(3), uint8(0), true)
	f.Add(`"abc"`, "sum", `{"a":[]}`, uint8(1), uint8(1), false)
	f.Add("\"\xff\"", "m", "", uint8(2), uint8(0), true)
	f.Add("null", "a\x00b", "[]", uint8(2), uint8(2), true)
	f.Add("1.5e300", "m", `"x"`, uint8(1), uint8(0), false)
	f.Add("{}", "m", "[\"\xc3\"]", uint8(4), uint8(5), true)
	f.Add("", "", "", uint8(0), uint8(0), true)
	f.Fuzz(func(t *testing.T, id, method, params string, n, notify uint8, batch bool) {
		calls := int(n % 6)
		if !batch {
			calls = 1
		}
		m, _ := json.Marshal(method) // valid UTF-8, control characters escaped
		var elems []string
		for i := range calls {
			e := `{"jsonrpc":"2.0","method":` + string(m)
			if params != "" {
				e += `,"params":` + params
			}
			if notify&(1<<i) == 0 {
				e += `,"id":` + id
			}
			elems = append(elems, e+"}")
		}
		line := strings.Join(elems, ",")
		if batch {
			line = "[" + line + "]"
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Skip("a request on a stream is one line")
		}
		out := serveJSONRPC(t, []byte(line))
		if len(out) > 1 {
			t.Fatalf("%d response lines for one request line", len(out))
		}

		payload := bytes.Trim([]byte(line), " \t")
		if !json.Valid(payload) {
			if len(out) != 1 || checkResponse(t, json.RawMessage(out[0])).Code != -32700 {
				t.Fatalf("%q is not JSON: got %q, want a parse error", line, out)
			}
			return
		}
		if params != "" && !json.Valid([]byte(params)) || notify|^uint8(1<<calls-1) != 0xff && !json.Valid([]byte(id)) {
			t.Skip("a part that is not one JSON value can change the request's shape (params = `1,\"id\":2`)")
		}
		if batch && calls == 0 {
			if len(out) != 1 || checkResponse(t, json.RawMessage(out[0])).Code != -32600 {
				t.Fatalf("empty batch: got %q, want an Invalid Request error", out)
			}
			return
		}
		// What each call must get, by the rules: nil for no response.
		type want struct {
			code   int // 0: a result
			id     string
			result string
		}
		var wants []*want
		trimmedID := string(bytes.Trim([]byte(id), " \t\r\n"))
		var decoded string
		json.Unmarshal(m, &decoded)
		for i, e := range elems {
			idValid := trimmedID != "" && strings.ContainsRune(`"-0123456789n`, rune(trimmedID[0]))
			notification := notify&(1<<i) != 0
			switch {
			case !utf8.ValidString(e):
				wants = append(wants, &want{code: -32600, id: "null"})
			case !notification && !idValid:
				wants = append(wants, &want{code: -32600, id: "null"})
			case strings.ContainsFunc(decoded, func(r rune) bool { return r < 0x20 || r == 0x7f }),
				params != "" && !strings.ContainsRune("[{", rune(bytes.TrimLeft([]byte(params), " \t")[0])):
				w := &want{code: -32600, id: "null"}
				if !notification {
					w.id = trimmedID
				}
				wants = append(wants, w)
			case notification:
				// no response
			default:
				var c bytes.Buffer
				result := "null"
				if params != "" && json.Compact(&c, []byte(params)) == nil {
					result = c.String()
				}
				w := &want{id: trimmedID, result: result}
				switch decoded {
				case "fail", "garbage":
					w.code, w.result = -32603, ""
				case "missing":
					w.code, w.result = -32601, ""
				case "invalid":
					w.code, w.result = -32602, ""
				}
				wants = append(wants, w)
			}
		}
		if len(wants) == 0 {
			if len(out) != 0 {
				t.Fatalf("%q needs no response, got %q", line, out)
			}
			return
		}
		if len(out) != 1 {
			t.Fatalf("%q: got %q, want one response line", line, out)
		}
		var got []json.RawMessage
		if batch {
			if err := json.Unmarshal([]byte(out[0]), &got); err != nil {
				t.Fatalf("batch response %q: %v", out[0], err)
			}
		} else {
			got = []json.RawMessage{json.RawMessage(out[0])}
		}
		if len(got) != len(wants) {
			t.Fatalf("%q: %d responses %q, want %d", line, len(got), out[0], len(wants))
		}
		for i, w := range wants {
			r := checkResponse(t, got[i])
			if r.Code != w.code || string(r.ID) != w.id {
				t.Fatalf("%q: response %d is %s, want code %d id %s", line, i, got[i], w.code, w.id)
			}
			if w.code == 0 && string(r.Result) != w.result {
				t.Fatalf("%q: response %d result %s, want %s", line, i, r.Result, w.result)
			}
		}
	})
}
