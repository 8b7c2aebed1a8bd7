package amqp_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestAppListener: the same route serves an HTTP listener and an amqp://
// listener, and an amqp listener whose broker is down does not stop the
// server.
func TestAppListener(t *testing.T) {
	b := rabbittest.Start(t)
	wasm := filepath.Join(t.TempDir(), "hello.wasm")
	if out, err := exec.Command("wat2wasm", "../../modules/hello-wat/hello.wat", "-o", wasm).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm (Debian package wabt, `make deps`): %v\n%s", err, out)
	}
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close() // nobody listens there: that consumer retries in the background
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "bubble.toml"), []byte(fmt.Sprintf(`
[[listener]]
name = "web"
address = "tcp://127.0.0.1:0"

[[listener]]
name = "jobs"
address = "%s?queue=hello&prefetch=4"

[[listener]]
name = "down"
address = "amqp://guest:guest@127.0.0.1:%d/?queue=never"

[[route]]
name = "hello"
module = %q
`, b.URL(), deadPort, wasm)))
	if err != nil {
		t.Fatal(err)
	}
	addrs := testapp.Start(t, cfg, app.Options{})
	if len(addrs) != 3 || addrs[1].Network != "amqp" {
		t.Fatalf("addresses = %v", addrs)
	}

	cl := dialClient(t, b.URL())
	// The consumer declares the queue once connected; publishing before
	// that would drop the message, so declare it here too (same arguments).
	cl.declare(t, "hello", nil)
	r := cl.call(t, "hello", amqp.Publishing{Body: []byte("x")})
	if string(r.Body) != "Hello, world!\n" || r.ContentType != "text/plain" {
		t.Errorf("amqp reply %q (content type %q)", r.Body, r.ContentType)
	}

	resp, err := (&http.Client{Timeout: wait}).Get(fmt.Sprintf("http://127.0.0.1:%d/", addrs[0].Port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Hello, world!\n" {
		t.Errorf("http body %q", body)
	}
}

// TestAppReload: a reload keeps an amqp:// listener whose name and address
// are unchanged (it consumes on, with the new routes), starts an added one
// and stops a removed one.
func TestAppReload(t *testing.T) {
	b := rabbittest.Start(t)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "hello.wasm")
	build := func(greeting string) {
		src, err := os.ReadFile("../../modules/hello-wat/hello.wat")
		if err != nil {
			t.Fatal(err)
		}
		wat := filepath.Join(dir, "hello.wat")
		os.WriteFile(wat, []byte(strings.Replace(string(src), `(i32.const 32) "Hello, world!`, `(i32.const 32) "`+greeting, 1)), 0o644)
		if out, err := exec.Command("wat2wasm", wat, "-o", wasm+".tmp").CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm (Debian package wabt, `make deps`): %v\n%s", err, out)
		}
		os.Rename(wasm+".tmp", wasm)
	}
	build("Hello, world!")
	parse := func(queues ...string) *config.Config {
		body := "[[listener]]\nname = \"web\"\naddress = \"tcp://127.0.0.1:0\"\n"
		for _, q := range queues {
			body += fmt.Sprintf("\n[[listener]]\nname = %q\naddress = \"%s?queue=%s\"\n", q, b.URL(), q)
		}
		cfg, err := config.Parse(filepath.Join(dir, "bubble.toml"), []byte(body+fmt.Sprintf("\n[[route]]\nname = \"hello\"\nmodule = %q\n", wasm)))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a, _ := testapp.StartApp(t, parse("kept", "removed"), app.Options{})
	cl := dialClient(t, b.URL())
	for _, q := range []string{"kept", "removed", "added"} {
		cl.declare(t, q, nil)
	}
	if r := cl.call(t, "kept", amqp.Publishing{Body: []byte("x")}); string(r.Body) != "Hello, world!\n" {
		t.Fatalf("before: %q", r.Body)
	}
	build("Hello, again!")
	if err := a.Reload(t.Context(), parse("kept", "added")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"kept", "added"} {
		if r := cl.call(t, q, amqp.Publishing{Body: []byte("x")}); string(r.Body) != "Hello, again!\n" {
			t.Errorf("queue %s after the reload: %q", q, r.Body)
		}
	}
	testutil.Eventually(t, "the removed listener to stop consuming", func() bool {
		q, err := cl.ch.QueueDeclarePassive("removed", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return q.Consumers == 0
	})
}
