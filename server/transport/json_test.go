package transport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// jsonHandler answers each message by its "op".
func jsonHandler(envs chan<- server.Env) server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		in, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		if envs != nil {
			envs <- x.Env.Clone()
		}
		var msg struct{ Op string }
		json.Unmarshal(in, &msg)
		w := x.Writer
		switch msg.Op {
		case "info":
			return writeJSON(w, map[string]string{
				"index": x.Env[abi.EnvJSONIndex], "transport": x.Env[abi.EnvTransport],
				"length": x.Env[abi.EnvContentLength], "type": x.Env[abi.EnvContentType], "in": string(in),
			})
		case "nl": // a newline of its own: not doubled
			_, err = io.WriteString(w, `{"nl":true}`+"\n")
		case "silent":
		case "fail":
			return errors.New("secret internal detail")
		case "noroute":
			return fmt.Errorf("%w for op noroute", server.ErrNoRoute)
		case "partial":
			io.WriteString(w, `{"partial":true}`)
			return errors.New("secret: failed after writing")
		default: // echo
			_, err = w.Write(in)
		}
		return err
	}
}

func syntaxReason(s string) string {
	var v json.RawMessage
	return json.Unmarshal([]byte(s), &v).Error()
}

func TestJSONTransport(t *testing.T) {
	for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
		network, _, _ := strings.Cut(addr, ":")
		t.Run(network, func(t *testing.T) {
			envs := make(chan server.Env, 100)
			a := testutil.Serve(t, addr, "json", jsonHandler(envs), transport.Options{})
			c := rawConn(t, a)
			in := `{"op":"info"}` + "\n" +
				"\n" + // skipped, not counted
				" \t \r\n" +
				`  {"op":"echo", "x": [1, 2]}  ` + "\r\n" +
				`not json` + "\n" +
				`{"op":"fail"}` + "\n" +
				`{"op":"silent"}` + "\n" +
				`{"op":"nl"}` + "\n" +
				`{"op":"noroute"}` + "\n" +
				`{"op":"partial"}` + "\n" +
				`{"op":"info"} {"op":"info"}` + "\n" +
				`"just a string"` + "\n" +
				`{"op":"info"}` // the last message needs no terminator
			if _, err := io.WriteString(c, in); err != nil {
				t.Fatal(err)
			}
			closeWrite(t, c)
			out, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"in":"{\"op\":\"info\"}","index":"1","length":"13","transport":"json","type":"application/json"}` + "\n" +
				`{"op":"echo", "x": [1, 2]}` + "\n" +
				`{"error":"malformed JSON: ` + syntaxReason("not json") + `","index":3}` + "\n" +
				`{"error":"handler failed","index":4}` + "\n" +
				// 5 is silent
				`{"nl":true}` + "\n" +
				`{"error":"no route matches for op noroute","index":7}` + "\n" +
				`{"partial":true}` + "\n" + `{"error":"handler failed","index":8}` + "\n" +
				`{"error":"malformed JSON: ` + syntaxReason(`{"op":"info"} {"op":"info"}`) + `","index":9}` + "\n" +
				`"just a string"` + "\n" +
				`{"in":"{\"op\":\"info\"}","index":"11","length":"13","transport":"json","type":"application/json"}` + "\n"
			if string(out) != want {
				t.Fatalf("got\n%s\nwant\n%s", out, want)
			}
			if strings.Contains(string(out), "secret") {
				t.Fatal("an error object leaks the error text")
			}
			close(envs)
			var served []string
			for env := range envs {
				served = append(served, env[abi.EnvJSONIndex])
				if env[abi.EnvTransport] != "json" || env[abi.EnvListener] != "test" || env[abi.EnvNetwork] != network {
					t.Errorf("message %s env %v", env[abi.EnvJSONIndex], env)
				}
			}
			if got := strings.Join(served, ","); got != "1,2,4,5,6,7,8,10,11" {
				t.Fatalf("served messages %s", got)
			}
		})
	}
}

func TestJSONTransportInteractive(t *testing.T) {
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "json", jsonHandler(nil), transport.Options{})
	c := rawConn(t, a)
	r := bufio.NewReader(c)
	for i := range 5 {
		fmt.Fprintf(c, "[%d]\n", i)
		if got, err := r.ReadString('\n'); err != nil || got != fmt.Sprintf("[%d]\n", i) {
			t.Fatalf("answer %d: %q, %v", i, got, err)
		}
	}
	// A malformed message is answered and the connection goes on.
	io.WriteString(c, "{\n")
	got, err := r.ReadString('\n')
	var e struct {
		Error string
		Index int
	}
	if err != nil || json.Unmarshal([]byte(got), &e) != nil || !strings.HasPrefix(e.Error, "malformed JSON: ") || e.Index != 6 {
		t.Fatalf("malformed message: %q, %v", got, err)
	}
	io.WriteString(c, "[7]\n")
	if got, err := r.ReadString('\n'); err != nil || got != "[7]\n" {
		t.Fatalf("after a malformed message: %q, %v", got, err)
	}
}

func TestJSONTransportLongMessages(t *testing.T) {
	const max = 16
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "json", jsonHandler(nil), transport.Options{MaxLineBytes: max})
	c := rawConn(t, a)
	exact := `["` + strings.Repeat("e", max-4) + `"]`
	in := "[1]\n" +
		`["` + strings.Repeat("x", 100) + "\"]\n" +
		exact + "\r\n" +
		exact + " \n" + // max+1, though the extra byte is whitespace
		`["` + strings.Repeat("y", 10000) + "\"]\n" + // beyond bufio's buffer
		"[2]\n"
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	closeWrite(t, c)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "[1]\n" +
		`{"error":"message too long (limit 16 bytes)","index":2}` + "\n" +
		exact + "\n" +
		`{"error":"message too long (limit 16 bytes)","index":4}` + "\n" +
		`{"error":"message too long (limit 16 bytes)","index":5}` + "\n" +
		"[2]\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}
