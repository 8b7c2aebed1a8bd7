package push_service_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// startPush serves bubble.toml as written, except that the unix socket
// moves to a temporary directory, the HTTP listener to a free port, and the
// publish module is built from publish/. It returns the socket's address
// and the JSON-RPC endpoint.
func startPush(t *testing.T) (sock server.Address, rpcURL string) {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "push.sock")
	for i := range cfg.Listeners {
		switch l := &cfg.Listeners[i]; l.Name {
		case "publish":
			if l.Transport != config.TransportJSON {
				t.Fatalf("bubble.toml: listener publish has transport %q, want json", l.Transport)
			}
			l.Address = "unix://" + path
		case "web":
			l.Address = "tcp://127.0.0.1:0"
		}
	}
	for i := range cfg.Routes {
		if cfg.Routes[i].Module != "" {
			cfg.Routes[i].Module = testbuild.Path(t, "publish")
		}
	}
	for _, addr := range testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)}) {
		if addr.Network == "tcp" {
			rpcURL = "http://" + strings.TrimPrefix(addr.String(), "tcp://") + "/rpc"
		}
	}
	return server.Address{Network: "unix", Path: path}, rpcURL
}

type pollResult struct {
	Subscription string            `json:"subscription"`
	Messages     []json.RawMessage `json:"messages"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// call makes one JSON-RPC call over HTTP.
func call(ctx context.Context, url string, id int, method string, params any) (*rpcResponse, error) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r rpcResponse
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != 200 || r.JSONRPC != "2.0" || string(r.ID) != fmt.Sprint(id) {
		return nil, fmt.Errorf("%s: %d %q (%v)", method, resp.StatusCode, b, err)
	}
	return &r, nil
}

// poll long-polls the channel: sub "" starts a subscription.
func poll(ctx context.Context, url string, id int, sub string, timeout float64) (*pollResult, error) {
	params := map[string]any{"timeout": timeout}
	if sub != "" {
		params["subscription"] = sub
	}
	r, err := call(ctx, url, id, "poll", params)
	if err != nil {
		return nil, err
	}
	if r.Error != nil {
		return nil, fmt.Errorf("poll: error %d %s", r.Error.Code, r.Error.Message)
	}
	var p pollResult
	if err := json.Unmarshal(r.Result, &p); err != nil || p.Subscription == "" || p.Messages == nil {
		return nil, fmt.Errorf("poll: result %s (%v)", r.Result, err)
	}
	return &p, nil
}

func TestPushService(t *testing.T) {
	sock, url := startPush(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The first call starts the subscription and returns its id; a short
	// timeout makes it return at once, with no messages.
	first, err := poll(ctx, url, 1, "", 0.001)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Messages) != 0 {
		t.Fatalf("first poll: %s, want no messages", first.Messages)
	}
	sub := first.Subscription

	// A poll waits for the messages to come.
	type result struct {
		p   *pollResult
		err error
	}
	waiting := make(chan result, 1)
	go func() {
		p, err := poll(ctx, url, 2, sub, 20)
		waiting <- result{p, err}
	}()

	// The publisher: three messages, a malformed one, and a fourth on the
	// same connection, which survives the error.
	conn, err := sock.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	sent := []string{`{"n":1,"text":"one"}`, `"two"`, `[3,{"three":true}]`, `{"n":4}`}
	lines := strings.Join(sent[:3], "\n") + "\n{oops\n" + sent[3] + "\n"
	if _, err := io.WriteString(conn, lines); err != nil {
		t.Fatal(err)
	}
	answers := bufio.NewScanner(conn)
	want := []string{`{"delivered":1}`, `{"delivered":1}`, `{"delivered":1}`, ``, `{"delivered":1}`}
	for i, w := range want {
		if !answers.Scan() {
			t.Fatalf("answer %d: %v", i+1, answers.Err())
		}
		got := answers.Text()
		if w == "" { // the malformed line
			var e struct {
				Error string `json:"error"`
				Index int    `json:"index"`
			}
			if err := json.Unmarshal([]byte(got), &e); err != nil || !strings.HasPrefix(e.Error, "malformed JSON") || e.Index != 4 {
				t.Errorf("answer to the malformed line: %q, want a malformed JSON error with index 4", got)
			}
			continue
		}
		if got != w {
			t.Errorf("answer %d: %q, want %q", i+1, got, w)
		}
	}

	// The waiting poll returns with what had arrived; later polls, on the
	// same subscription, bring the rest, in order.
	r := <-waiting
	if r.err != nil {
		t.Fatal(r.err)
	}
	var got []string
	for polls := 3; ; polls++ {
		if r.p.Subscription != sub {
			t.Fatalf("poll %d: subscription %q, want %q (was it dropped?)", polls, r.p.Subscription, sub)
		}
		for _, m := range r.p.Messages {
			got = append(got, string(m))
		}
		if len(got) >= len(sent) || polls == 10 {
			break
		}
		if r.p, r.err = poll(ctx, url, polls, sub, 20); r.err != nil {
			t.Fatal(r.err)
		}
	}
	if strings.Join(got, "\n") != strings.Join(sent, "\n") {
		t.Errorf("polled %q, want %q", got, sent)
	}

	// Other methods are not routed.
	if r, err := call(ctx, url, 99, "publish", map[string]any{}); err != nil || r.Error == nil || r.Error.Code != -32601 {
		t.Errorf("unknown method: %+v, %v; want error -32601", r, err)
	}
}
