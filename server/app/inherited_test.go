package app_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// inheritedRoute is a config body whose listeners serve inherited sockets.
const inheritedRoute = `
[[route]]
module = "named.wasm"
`

// TestInheritedSockets serves sockets handed to the app as systemd hands
// them over (socket activation), a TCP and a unix one: requests on both
// are served, the real addresses are reported, a socket no listener names
// is closed with a warning, and Stopping is called once when the shutdown
// begins.
func TestInheritedSockets(t *testing.T) {
	tcp := testutil.Listen(t, "tcp://127.0.0.1:0")
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	unix, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	spare := testutil.Listen(t, "tcp://127.0.0.1:0")
	logger, logs := testutil.CaptureLogger(t)
	cfg := loadConfig(t, writeConfig(t, "wazero", `
[[listener]]
name = "activated"
address = "systemd://web"
[[listener]]
name = "ctl"
address = "systemd://ctl.socket"
`+inheritedRoute, "named"))
	var stopping atomic.Int32
	t.Cleanup(func() { // after testapp.Start's, which stops the app
		if n := stopping.Load(); n != 1 {
			t.Errorf("Stopping called %d times, want once", n)
		}
	})
	addrs := testapp.Start(t, cfg, app.Options{Logger: logger, Stopping: func() { stopping.Add(1) },
		Inherited: map[string][]net.Listener{"web": {tcp}, "ctl.socket": {unix}, "spare": {spare}}})
	if got, want := addrs[1].String(), "tcp://"+tcp.Addr().String(); got != want {
		t.Errorf("listener activated: address %s, want the inherited socket's %s", got, want)
	}
	if got, want := addrs[2].String(), "unix://"+sock; got != want {
		t.Errorf("listener ctl: address %s, want the inherited socket's %s", got, want)
	}
	waitLog(t, logs, "inherited socket not served", "systemd://spare", spare.Addr().String())
	if c, err := net.Dial("tcp", spare.Addr().String()); err == nil {
		c.Close()
		t.Error("the inherited socket no listener names is still open")
	}
	for _, addr := range addrs[1:] {
		c := testutil.HTTPClient(t, addr)
		resp, err := c.Get(testutil.URL(addr) + "/")
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", addr, resp.StatusCode)
		}
	}
	if n := stopping.Load(); n != 0 {
		t.Errorf("Stopping called %d times while serving", n)
	}
}

// TestInheritedSocketErrors: a listener that names a socket the process
// did not inherit, or one it cannot tell apart, fails Listen with an error
// naming the listener and the socket, and binds nothing.
func TestInheritedSocketErrors(t *testing.T) {
	two := `
[[listener]]
name = "a"
address = "systemd://web"
[[listener]]
name = "b"
address = "systemd://web"
`
	one := `
[[listener]]
name = "a"
address = "systemd://web"
`
	for _, c := range []struct {
		name, listeners string
		inherited       []string // one new socket each, by name
		want            string
	}{
		{"none inherited", one, nil, `listener a: no listening socket named "web" was inherited from systemd (none was: start the server from a .socket unit`},
		{"other names", one, []string{"api", "admin"}, `listener a: no listening socket named "web" was inherited from systemd (inherited: "admin", "api")`},
		{"name twice", one, []string{"web", "web"}, `listener a: 2 listening sockets named "web" were inherited from systemd; give each its own FileDescriptorName=`},
		{"two listeners, one socket", two, []string{"web"}, `listener b: the inherited socket "web" is served by another listener already`},
	} {
		t.Run(c.name, func(t *testing.T) {
			inherited := map[string][]net.Listener{}
			for _, name := range c.inherited {
				l := testutil.Listen(t, "tcp://127.0.0.1:0")
				inherited[name] = append(inherited[name], l)
			}
			cfg := loadConfig(t, writeConfig(t, "wazero", c.listeners+inheritedRoute, "named"))
			ctx := context.Background()
			a, err := app.New(ctx, cfg, app.Options{Inherited: inherited})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(ctx)
			_, err = a.Listen(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Listen: %v\nwant an error containing %s", err, c.want)
			}
			if a.Serve(ctx) == nil {
				t.Error("Serve after a failed Listen: no error")
			}
		})
	}
}
