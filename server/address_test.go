package server_test

import (
	"bytes"
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
)

var addressCases = []struct {
	in   string
	want server.Address
	str  string // String() of the parsed address; "" means in itself
	bad  string // a fragment the error must contain; "" means it parses
}{
	// tcp
	{in: "tcp://127.0.0.1:8080", want: server.Address{Network: "tcp", Host: "127.0.0.1", Port: 8080}},
	{in: "tcp://localhost:65535", want: server.Address{Network: "tcp", Host: "localhost", Port: 65535}},
	{in: "tcp://127.0.0.1:0", want: server.Address{Network: "tcp", Host: "127.0.0.1", Port: 0}},
	{in: "tcp://:8080", want: server.Address{Network: "tcp", Host: "", Port: 8080}},
	{in: "tcp://:0", want: server.Address{Network: "tcp"}},
	{in: "tcp://[::1]:8080", want: server.Address{Network: "tcp", Host: "::1", Port: 8080}},
	{in: "tcp://[::]:0", want: server.Address{Network: "tcp", Host: "::"}},
	{in: "tcp://[2001:db8::1]:443", want: server.Address{Network: "tcp", Host: "2001:db8::1", Port: 443}},
	{in: "tcp://[::ffff:127.0.0.1]:80", want: server.Address{Network: "tcp", Host: "::ffff:127.0.0.1", Port: 80}},
	{in: "tcp://example.com:80", want: server.Address{Network: "tcp", Host: "example.com", Port: 80}},
	{in: "tcp://127.0.0.1:08080", want: server.Address{Network: "tcp", Host: "127.0.0.1", Port: 8080}, str: "tcp://127.0.0.1:8080"},
	// tls: a tcp listener that must be served over TLS
	{in: "tls://127.0.0.1:8443", want: server.Address{Network: "tcp", Host: "127.0.0.1", Port: 8443, TLS: true}},
	{in: "tls://[::1]:0", want: server.Address{Network: "tcp", Host: "::1", TLS: true}},
	{in: "tls://:443", want: server.Address{Network: "tcp", Port: 443, TLS: true}},
	{in: "tls://example.com:0443", want: server.Address{Network: "tcp", Host: "example.com", Port: 443, TLS: true}, str: "tls://example.com:443"},
	{in: "tls://127.0.0.1:65536", bad: "port"},
	{in: "tls://127.0.0.1:-1", bad: "port"},
	{in: "tls://127.0.0.1", bad: "missing port"},
	{in: "tls://", bad: "missing port"},
	{in: "tls://user:pw@127.0.0.1:443", bad: "host:port only"},
	{in: "tls://127.0.0.1:443/x", bad: "host:port only"},
	{in: "tls://[zz::1]:443", bad: "not an IPv6 address"},
	{in: "tls://127.0.0.1:443\x00", bad: "port"},
	{in: "TLS://127.0.0.1:443", bad: `unknown scheme "TLS"`},
	{in: "tls:127.0.0.1:443", bad: "want scheme://"},
	// unix
	{in: "unix:///run/app.sock", want: server.Address{Network: "unix", Path: "/run/app.sock"}},
	{in: "unix://run/app.sock", want: server.Address{Network: "unix", Path: "run/app.sock"}},
	{in: "unix://app.sock", want: server.Address{Network: "unix", Path: "app.sock"}},
	{in: "unix://@bubble", want: server.Address{Network: "unix", Path: "@bubble"}},
	// systemd (inherited sockets, by name)
	{in: "systemd://web", want: server.Address{Network: "systemd", Name: "web"}},
	{in: "systemd://bubblewasm.socket", want: server.Address{Network: "systemd", Name: "bubblewasm.socket"}},
	{in: "systemd://LISTEN_FD_3", want: server.Address{Network: "systemd", Name: "LISTEN_FD_3"}},
	{in: "systemd://" + strings.Repeat("n", 255), want: server.Address{Network: "systemd", Name: strings.Repeat("n", 255)}},
	{in: "systemd://", bad: "1 to 255 characters"},
	{in: "systemd://" + strings.Repeat("n", 256), bad: "1 to 255 characters"},
	{in: "systemd://web:http", bad: "without ':'"},
	{in: "systemd://we\x00b", bad: "printable ASCII"},
	{in: "systemd://w\neb", bad: "printable ASCII"},
	{in: "systemd://wéb", bad: "printable ASCII"},
	{in: "systemd://\x7f", bad: "printable ASCII"},
	// bad ports
	{in: "tcp://127.0.0.1:65536", bad: "port"},
	{in: "tcp://127.0.0.1:-1", bad: "port"},
	{in: "tcp://127.0.0.1:http", bad: "port"},
	{in: "tcp://127.0.0.1:", bad: "port"},
	{in: "tcp://127.0.0.1:99999999999999999999", bad: "port"},
	{in: "tcp://127.0.0.1", bad: "missing port"},
	{in: "tcp://[::1]", bad: "missing port"},
	// bad hosts
	{in: "tcp://::1:80", bad: "too many colons"},
	{in: "tcp://[::1:80", bad: "missing ']'"},
	{in: "tcp://[zz::1]:80", bad: "not an IPv6 address"},
	{in: "tcp://127.0.0.1:80/path", bad: "host:port only"},
	{in: "tcp://user@127.0.0.1:80", bad: "host:port only"},
	{in: "tcp://127.0.0.1:80?x=1", bad: "host:port only"},
	{in: "tcp://127.0.0.1:80#frag", bad: "host:port only"},
	{in: "tcp://", bad: "missing port"},
	// junk and schemes
	{in: "", bad: "want scheme://"},
	{in: "127.0.0.1:8080", bad: "want scheme://"},
	{in: "/run/app.sock", bad: "want scheme://"},
	{in: "tcp:127.0.0.1:80", bad: "want scheme://"},
	{in: "http://127.0.0.1:80", bad: `unknown scheme "http"`},
	{in: "udp://127.0.0.1:53", bad: `unknown scheme "udp"`},
	{in: "TCP://127.0.0.1:80", bad: `unknown scheme "TCP"`},
	{in: "://x", bad: "unknown scheme"},
	{in: "unix://", bad: "empty or invalid"},
	{in: "unix:///run/a\x00b", bad: "empty or invalid"},
}

func TestParseAddress(t *testing.T) {
	for _, c := range addressCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := server.ParseAddress(c.in)
			if c.bad != "" {
				if err == nil {
					t.Fatalf("ParseAddress(%q) = %+v, want an error containing %q", c.in, got, c.bad)
				}
				if !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("ParseAddress(%q) error %q does not contain %q", c.in, err, c.bad)
				}
				// Errors name the input so a config mistake is easy to find.
				if !strings.Contains(err.Error(), "address") {
					t.Errorf("error %q does not say it is about an address", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Fatalf("ParseAddress(%q) = %+v, want %+v", c.in, got, c.want)
			}
			str := c.str
			if str == "" {
				str = c.in
			}
			if got.String() != str {
				t.Fatalf("%+v.String() = %q, want %q", got, got.String(), str)
			}
			again, err := server.ParseAddress(got.String())
			if err != nil || again != got {
				t.Fatalf("round trip of %q: got %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, c := range addressCases {
		f.Add(c.in)
	}
	f.Add("tcp://[]:80")
	f.Add("tcp://[a]:80")
	f.Add("tcp://+80:+80")
	f.Add("unix://tcp://x:1")
	f.Add("systemd://unix:///x")
	f.Add("amqp://h/?queue=q") // package server/amqp's to parse
	f.Fuzz(func(t *testing.T, s string) {
		a, err := server.ParseAddress(s)
		if err != nil {
			return
		}
		switch a.Network {
		case "tcp":
			if a.Path != "" || a.Name != "" || a.Port < 0 || a.Port > 65535 {
				t.Fatalf("ParseAddress(%q) = %+v: inconsistent tcp address", s, a)
			}
		case "unix":
			if a.Path == "" || a.Host != "" || a.Port != 0 || a.TLS {
				t.Fatalf("ParseAddress(%q) = %+v: inconsistent unix address", s, a)
			}
		case "systemd":
			if a.TLS || a.Name == "" || len(a.Name) > 255 || strings.ContainsAny(a.Name, ":\x00") || a.Host != "" || a.Path != "" {
				t.Fatalf("ParseAddress(%q) = %+v: inconsistent systemd address", s, a)
			}
		default:
			t.Fatalf("ParseAddress(%q) = %+v: network %q", s, a, a.Network)
		}
		b, err := server.ParseAddress(a.String())
		if err != nil {
			t.Fatalf("ParseAddress(%q) = %+v, but its String %q does not parse: %v", s, a, a.String(), err)
		}
		if b != a {
			t.Fatalf("ParseAddress(%q) = %+v; String %q parses back as %+v", s, a, a.String(), b)
		}
	})
}

func listen(t *testing.T, addr string, opts server.ListenOptions) (net.Listener, error) {
	t.Helper()
	a, err := server.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Listen(context.Background(), opts)
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
	return l, err
}

// checkConnects dials the address l reports and checks that l accepts the
// connection and that bytes pass.
func checkConnects(t *testing.T, l net.Listener) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := server.ListenerAddress(l).Dial(context.Background())
	if err != nil {
		t.Fatalf("dial %s: %v", server.ListenerAddress(l), err)
	}
	defer c.Close()
	sc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := sc.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

func TestListenTCPPortZero(t *testing.T) {
	l, err := listen(t, "tcp://127.0.0.1:0", server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := server.ListenerAddress(l)
	if a.Network != "tcp" || a.Host != "127.0.0.1" || a.Port == 0 || a.Path != "" {
		t.Fatalf("ListenerAddress = %+v, want tcp 127.0.0.1 with the chosen port", a)
	}
	if want := l.Addr().(*net.TCPAddr).Port; a.Port != want {
		t.Fatalf("port %d, listener has %d", a.Port, want)
	}
	if b, err := server.ParseAddress(a.String()); err != nil || b != a {
		t.Fatalf("ListenerAddress String %q does not round trip: %+v, %v", a.String(), b, err)
	}
	checkConnects(t, l)

	// The port is taken now: binding it again fails.
	if _, err := listen(t, a.String(), server.ListenOptions{}); err == nil {
		t.Fatalf("second listen on %s succeeded", a)
	}
}

func TestListenTCPIPv6Loopback(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	probe.Close()
	l, err := listen(t, "tcp://[::1]:0", server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := server.ListenerAddress(l)
	if a.Network != "tcp" || a.Host != "::1" || a.Port == 0 {
		t.Fatalf("ListenerAddress = %+v, want tcp [::1] with the chosen port", a)
	}
	if !strings.HasPrefix(a.String(), "tcp://[::1]:") {
		t.Fatalf("String = %q, want the host in brackets", a.String())
	}
	checkConnects(t, l)
}

// sockPath returns a socket path in a fresh temporary directory.
func sockPath(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "s.sock")
	if len(p) > 100 {
		t.Fatalf("temporary socket path %q is too long for a unix socket", p)
	}
	return p
}

func TestListenUnix(t *testing.T) {
	p := sockPath(t)
	l, err := listen(t, "unix://"+p, server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := server.ListenerAddress(l)
	if a != (server.Address{Network: "unix", Path: p}) {
		t.Fatalf("ListenerAddress = %+v, want unix %s", a, p)
	}
	checkConnects(t, l)
	l.Close()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("socket file still there after Close: %v", err)
	}
}

func TestListenUnixRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	l, err := listen(t, "unix://rel.sock", server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "rel.sock"))
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("no socket at %s/rel.sock: %v %v", dir, fi, err)
	}
	checkConnects(t, l)
}

func TestListenUnixRemovesStaleSocket(t *testing.T) {
	p := sockPath(t)
	old, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()
	if fi, err := os.Lstat(p); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("setup: want a stale socket file at %s: %v %v", p, fi, err)
	}
	l, err := listen(t, "unix://"+p, server.ListenOptions{})
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	checkConnects(t, l)
}

func TestListenUnixKeepsLiveSocket(t *testing.T) {
	p := sockPath(t)
	live, err := listen(t, "unix://"+p, server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Accept the probe connection Listen makes, as a live server would.
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	before, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen(t, "unix://"+p, server.ListenOptions{})
	if err == nil {
		t.Fatalf("second Listen on a live socket succeeded (%v)", l.Addr())
	}
	if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "another server is listening") {
		t.Fatalf("error %q should name the path and say another server listens on it", err)
	}
	after, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("the live socket file was removed: %v", err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("the live socket file was replaced")
	}
	// The first server still gets connections.
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatalf("the live server lost its socket: %v", err)
	}
	c.Close()
}

func TestListenUnixNeverRemovesOtherFiles(t *testing.T) {
	content := []byte("precious data\n")
	for _, kind := range []string{"file", "dir", "symlink"} {
		t.Run(kind, func(t *testing.T) {
			p := sockPath(t)
			switch kind {
			case "file":
				if err := os.WriteFile(p, content, 0o644); err != nil {
					t.Fatal(err)
				}
			case "dir":
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			case "symlink":
				// A symlink to a stale socket: the link is not a socket itself.
				target := filepath.Join(filepath.Dir(p), "target.sock")
				old, err := net.Listen("unix", target)
				if err != nil {
					t.Fatal(err)
				}
				old.(*net.UnixListener).SetUnlinkOnClose(false)
				old.Close()
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			before, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			l, err := listen(t, "unix://"+p, server.ListenOptions{})
			if err == nil {
				t.Fatalf("Listen over a %s succeeded (%v)", kind, l.Addr())
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "not a socket") {
				t.Fatalf("error %q should name the path and say it is not a socket", err)
			}
			after, err := os.Lstat(p)
			if err != nil {
				t.Fatalf("the %s was removed: %v", kind, err)
			}
			if !os.SameFile(before, after) || before.Mode() != after.Mode() {
				t.Fatalf("the %s was replaced", kind)
			}
			if kind == "file" {
				got, err := os.ReadFile(p)
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("file content now %q, %v; want %q", got, err, content)
				}
			}
		})
	}
}

func TestListenUnixSocketMode(t *testing.T) {
	for _, mode := range []fs.FileMode{0o600, 0o660, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			p := sockPath(t)
			if _, err := listen(t, "unix://"+p, server.ListenOptions{SocketMode: mode}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != mode {
				t.Fatalf("socket mode %v, want socket with %v", fi.Mode(), mode)
			}
		})
	}
}

func TestDialAddress(t *testing.T) {
	// Dial reaches what Listen bound, for both networks.
	for _, addr := range []string{"tcp://127.0.0.1:0", "unix://" + sockPath(t)} {
		l, err := listen(t, addr, server.ListenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkConnects(t, l)
	}
	// A refused dial reports an error.
	p := sockPath(t)
	if c, err := (server.Address{Network: "unix", Path: p}).Dial(context.Background()); err == nil {
		c.Close()
		t.Fatalf("dial to missing socket %s succeeded", p)
	}
}

// TestSystemdAddressIsNotBound checks that an inherited socket's address is
// never bound or dialled by itself: only the app, which holds the
// inherited sockets, can resolve it.
func TestSystemdAddressIsNotBound(t *testing.T) {
	a, err := server.ParseAddress("systemd://web")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := a.Listen(context.Background(), server.ListenOptions{}); err == nil {
		l.Close()
		t.Fatal("Listen bound a systemd:// address")
	}
	if c, err := a.Dial(context.Background()); err == nil {
		c.Close()
		t.Fatal("Dial connected to a systemd:// address")
	}
}

// TestTLSAddressListensNotDials binds a tls:// address as plain TCP (the
// app puts TLS over it) and refuses to dial one.
func TestTLSAddressListensNotDials(t *testing.T) {
	l, err := listen(t, "tls://127.0.0.1:0", server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := server.ParseAddress("tls://" + l.Addr().String())
	if _, err := a.Dial(context.Background()); err == nil || !strings.Contains(err.Error(), "tls://") {
		t.Fatalf("Dial(%s) = %v, want a refusal", a, err)
	}
}
