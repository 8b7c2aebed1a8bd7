package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// wait bounds every network wait of these tests.
const wait = 30 * time.Second

// cases are sent, in this order, through both doors. Every one is valid
// JSON: a malformed line never reaches the module over the json transport
// (see TestMalformedJSON).
var cases = []struct {
	in     string
	status int
	out    string
}{
	{`{"text":"hello wasm world"}`, 200, `{"words":3,"chars":16,"upper":"HELLO WASM WORLD"}`},
	{`{"text":"  Jürgen's café\t<ok>\n"}`, 200, `{"words":3,"chars":21,"upper":"  JÜRGEN'S CAFÉ\t<OK>\n"}`},
	{`{"text":""}`, 200, `{"words":0,"chars":0,"upper":""}`},
	{`{"text":5}`, 400, `{"error":"\"text\" must be a string","status":400}`},
	{`{}`, 400, `{"error":"missing \"text\"","status":400}`},
	{`{"text":"a","lang":"en"}`, 400, `{"error":"only \"text\" is accepted","status":400}`},
	{`["text"]`, 400, `{"error":"input must be a JSON object like {\"text\": \"...\"}","status":400}`},
	{`{"text":"after the errors, still served"}`, 200, `{"words":5,"chars":30,"upper":"AFTER THE ERRORS, STILL SERVED"}`},
}

// answer is what one input got: the body without its final newline and
// the status.
type answer struct {
	status int
	body   string
}

// load reads one of the example's config files and builds its module from
// the current source.
func load(t *testing.T, file string) *config.Config {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listeners) != 1 || len(cfg.Routes) != 1 {
		t.Fatalf("%s: %d listeners and %d routes, want one of each", file, len(cfg.Listeners), len(cfg.Routes))
	}
	cfg.Routes[0].Module = testbuild.Path(t, "wordcount")
	return cfg
}

// startUnix serves unix.toml with its socket moved into a temporary
// directory.
func startUnix(t *testing.T) server.Address {
	t.Helper()
	cfg := load(t, "unix.toml")
	l := &cfg.Listeners[0]
	if l.Transport != config.TransportJSON {
		t.Fatalf("unix.toml: transport %q, want json", l.Transport)
	}
	sock := filepath.Join(t.TempDir(), "worker.sock")
	l.Address = "unix://" + sock
	testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	return server.Address{Network: "unix", Path: sock}
}

// startAMQP serves amqp.toml with its listener moved to a private broker's
// port, and returns the broker and the queue.
func startAMQP(t *testing.T) (*rabbittest.Broker, string) {
	t.Helper()
	cfg := load(t, "amqp.toml")
	b := rabbittest.Start(t)
	l := &cfg.Listeners[0]
	u, err := url.Parse(l.Address)
	if err != nil || u.Scheme != "amqp" || u.Query().Get("queue") == "" {
		t.Fatalf("amqp.toml: address %q (%v), want amqp://...?queue=NAME", l.Address, err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d", b.Port())
	l.Address = u.String()
	testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	return b, u.Query().Get("queue")
}

// overUnix sends the inputs on one connection, one line each, and reads an
// answer line each. The status is the one the body states (the json
// transport carries bodies only): 200 if it states none.
func overUnix(t *testing.T, sock server.Address, inputs []string) []answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	conn, err := sock.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(conn, strings.Join(inputs, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(conn)
	var out []answer
	for range inputs {
		if !lines.Scan() {
			t.Fatalf("unix: answer %d: %v", len(out)+1, lines.Err())
		}
		var stated struct{ Status int }
		json.Unmarshal(lines.Bytes(), &stated)
		out = append(out, answer{status: orDefault(stated.Status, 200), body: lines.Text()})
	}
	return out
}

func orDefault(v, otherwise int) int {
	if v == 0 {
		return otherwise
	}
	return v
}

// rpc is an AMQP RPC client: a reply queue of its own, one call at a time.
type rpc struct {
	ch      *amqp.Channel
	replies <-chan amqp.Delivery
	replyTo string
	queue   string
	n       int
}

func dialRPC(t *testing.T, brokerURL, queue string) *rpc {
	t.Helper()
	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// The listener declares its queue once connected, which may be after
	// the first publish: declare it here too, with the same arguments, so
	// that no request is dropped.
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rpc{ch: ch, replies: msgs, replyTo: q.Name, queue: queue}
}

// call publishes in and returns the reply with its correlation id.
func (r *rpc) call(t *testing.T, in string) (answer, amqp.Delivery) {
	t.Helper()
	r.n++
	id := fmt.Sprintf("call-%d", r.n)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	err := r.ch.PublishWithContext(ctx, "", r.queue, false, false, amqp.Publishing{
		ContentType: "application/json", CorrelationId: id, ReplyTo: r.replyTo, Body: []byte(in)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case m, ok := <-r.replies:
			if !ok {
				t.Fatal("amqp: reply queue closed")
			}
			if m.CorrelationId != id {
				t.Errorf("amqp: a reply with correlation id %q while waiting for %q", m.CorrelationId, id)
				continue
			}
			status, ok := m.Headers["x-bubble-status"].(int32)
			if !ok {
				t.Errorf("amqp %s: x-bubble-status %#v, want an int32", in, m.Headers["x-bubble-status"])
			}
			return answer{status: int(status), body: strings.TrimSuffix(string(m.Body), "\n")}, m
		case <-ctx.Done():
			t.Fatalf("amqp %s: no reply within %s", in, wait)
		}
	}
}

// TestSameAnswersOverUnixAndAMQP: the same module answers the same inputs
// identically over the unix socket and over the queue.
func TestSameAnswersOverUnixAndAMQP(t *testing.T) {
	sock := startUnix(t)
	broker, queue := startAMQP(t)

	var inputs []string
	for _, c := range cases {
		inputs = append(inputs, c.in)
	}
	viaUnix := overUnix(t, sock, inputs)
	client := dialRPC(t, broker.URL(), queue)
	for i, c := range cases {
		want := answer{c.status, c.out}
		viaAMQP, m := client.call(t, c.in)
		if viaAMQP != viaUnix[i] {
			t.Errorf("%s:\n  unix %d %s\n  amqp %d %s", c.in, viaUnix[i].status, viaUnix[i].body, viaAMQP.status, viaAMQP.body)
		}
		if viaAMQP != want {
			t.Errorf("%s: %d %s, want %d %s", c.in, viaAMQP.status, viaAMQP.body, want.status, want.body)
		}
		if m.ContentType != "application/json" || !strings.HasSuffix(string(m.Body), "}\n") {
			t.Errorf("%s: amqp reply content type %q, body %q", c.in, m.ContentType, m.Body)
		}
		if _, hostError := m.Headers["x-bubble-error"]; hostError {
			t.Errorf("%s: x-bubble-error %v: the module's own answer was expected", c.in, m.Headers["x-bubble-error"])
		}
	}

	// The README's Go client, as a program, against the same queue.
	t.Run("client", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "client")
		if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./client").CombinedOutput(); err != nil {
			t.Fatalf("go build ./client: %v\n%s", err, out)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*wait)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-url", broker.URL(), "-queue", queue, "-timeout", wait.String())
		cmd.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("client: %v, want exit status 1 (some inputs are invalid); stderr:\n%s", err, stderr.String())
		}
		var want []string
		for _, a := range viaUnix {
			want = append(want, a.body)
		}
		if got := strings.TrimSuffix(stdout.String(), "\n"); got != strings.Join(want, "\n") {
			t.Errorf("client printed\n%s\nwant (the unix socket's answers)\n%s", got, strings.Join(want, "\n"))
		}
		if got := strings.Count(stderr.String(), "status 400\n"); got != 4 {
			t.Errorf("client stderr:\n%s\nwant 4 lines \"status 400\"", stderr.String())
		}
	})
}

// TestMalformedJSON pins the one input the two doors answer differently:
// text that is not JSON. The json transport answers it itself without
// running the module (its error object has an index, no status); a queue
// hands it to the module, which answers 400.
func TestMalformedJSON(t *testing.T) {
	sock := startUnix(t)
	broker, queue := startAMQP(t)
	const bad = `{"text": oops}`

	u := overUnix(t, sock, []string{`{"text":"x"}`, bad})
	var e struct {
		Error string `json:"error"`
		Index int    `json:"index"`
	}
	if err := json.Unmarshal([]byte(u[1].body), &e); err != nil || !strings.HasPrefix(e.Error, "malformed JSON") || e.Index != 2 {
		t.Errorf("unix: %s, want the json transport's malformed JSON error with index 2", u[1].body)
	}
	a, _ := dialRPC(t, broker.URL(), queue).call(t, bad)
	if want := (answer{400, `{"error":"input must be a JSON object like {\"text\": \"...\"}","status":400}`}); a != want {
		t.Errorf("amqp: %d %s, want %d %s", a.status, a.body, want.status, want.body)
	}
}

// TestConfigsDifferOnlyInListeners: amqp.toml is unix.toml with another
// listener section; routes and every other setting are the same.
func TestConfigsDifferOnlyInListeners(t *testing.T) {
	unixCfg, err := config.Load("unix.toml")
	if err != nil {
		t.Fatal(err)
	}
	amqpCfg, err := config.Load("amqp.toml")
	if err != nil {
		t.Fatal(err)
	}
	ul, al := unixCfg.Listeners, amqpCfg.Listeners
	if len(ul) != 1 || len(al) != 1 || ul[0].Name != al[0].Name {
		t.Fatalf("listeners: unix.toml %+v, amqp.toml %+v: want one each, of the same name (the route matches on it)", ul, al)
	}
	if !strings.HasPrefix(ul[0].Address, "unix://") || !strings.HasPrefix(al[0].Address, "amqp://") {
		t.Errorf("addresses %q and %q, want unix:// and amqp://", ul[0].Address, al[0].Address)
	}
	// Everything but the listeners, and the lines and file names that
	// differing listener sections shift.
	strip := func(c *config.Config) config.Config {
		s := *c
		s.File, s.Listeners = "", nil
		s.Routes = append([]config.Route(nil), c.Routes...)
		for i := range s.Routes {
			s.Routes[i].Line = 0
		}
		return s
	}
	if u, a := strip(unixCfg), strip(amqpCfg); !reflect.DeepEqual(u, a) {
		t.Errorf("the configs differ outside their listeners:\nunix.toml %+v\namqp.toml %+v", u, a)
	}
	if len(unixCfg.Routes) != 1 || unixCfg.Routes[0].Match["bubble.listener"] != ul[0].Name {
		t.Errorf("routes %+v: want one, matching the listener %q", unixCfg.Routes, ul[0].Name)
	}
}
