package amqp_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
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
