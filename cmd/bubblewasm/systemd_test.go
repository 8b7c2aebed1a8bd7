package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtCLI is the command, built once for the tests that run it as a
// process (TestMain removes it).
var builtCLI struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildCLI returns the path of the built command.
func buildCLI(t *testing.T) string {
	t.Helper()
	b := &builtCLI
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "bubblewasm-cli-test"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "bubblewasm")
		if msg, err := exec.Command("go", "build", "-o", b.bin, ".").CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, msg)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtCLI.dir != "" {
		os.RemoveAll(builtCLI.dir)
	}
	os.Exit(code)
}

// process is a started command whose stderr the test reads line by line.
type process struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	seen  []string
}

// startProcess starts cmd (its environment: the test's, without systemd's
// variables, plus env) and kills it if the test ends first.
func startProcess(t *testing.T, cmd *exec.Cmd, env ...string) *process {
	t.Helper()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") && !strings.HasPrefix(kv, "WATCHDOG_") && !strings.HasPrefix(kv, "LISTEN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.lines <- s.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// waitLine reads stderr until a line matches re and returns its
// submatches; it fails the test if the process ends first, or after a
// minute (a bound for a broken build, not a timing assumption).
func (p *process) waitLine(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(time.Minute)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("the process ended before logging a line matching %s; its log:\n%s", re, strings.Join(p.seen, "\n"))
			}
			p.seen = append(p.seen, line)
			if m := rx.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no line matching %s within a minute; the log:\n%s", re, strings.Join(p.seen, "\n"))
		}
	}
}

// stop sends SIGTERM and checks that the process exits 0.
func (p *process) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
}

// wait checks that the process exits 0.
func (p *process) wait() {
	p.t.Helper()
	go func() {
		for range p.lines { // the pipe must be read for the process to finish writing
		}
	}()
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// listeningAt is the JSON log line of a listener's real TCP address.
const listeningAt = `"msg":"listening".*"address":"tcp://(127\.0\.0\.1:\d+)"`

// getHello requests / over HTTP on url (through c) and checks the hello
// module answered.
func getHello(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hi from wasm\n" {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, b)
	}
}

// unixHTTP is a client whose every connection goes to the socket at path.
func unixHTTP(path string) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// writeActivatedConfig writes a config whose one listener serves the
// inherited socket named "web" with the hello module.
func writeActivatedConfig(t *testing.T, dir, mod string) string {
	t.Helper()
	cfg := filepath.Join(dir, "bubble.toml")
	body := fmt.Sprintf("[[listener]]\nname = \"web\"\naddress = \"systemd://web\"\n\n[[route]]\nmodule = %q\n", mod)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSystemdNotify runs the server as systemd runs a Type=notify service
// with WatchdogSec=: on a notify socket the test owns it must say READY=1
// once it serves, ping the watchdog (WATCHDOG=1) at half of WATCHDOG_USEC,
// and say STOPPING=1 when SIGTERM starts the shutdown.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	bin := buildCLI(t)
	path := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	states := make(chan string, 4096)
	go func() {
		defer close(states)
		buf := make([]byte, 4096)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				return
			}
			states <- string(buf[:n])
		}
	}()
	// until reads states up to want and returns those before it.
	until := func(want string) []string {
		t.Helper()
		var before []string
		deadline := time.After(time.Minute)
		for {
			select {
			case s, ok := <-states:
				if !ok {
					t.Fatalf("notify socket closed before %s; got %q", want, before)
				}
				if s == want {
					return before
				}
				before = append(before, s)
			case <-deadline:
				t.Fatalf("no %s within a minute; got %q", want, before)
			}
		}
	}
	p := startProcess(t, exec.Command(bin, "run", "--log-format", "json", "--listen", "tcp://127.0.0.1:0", mod),
		"NOTIFY_SOCKET="+path, "WATCHDOG_USEC=200000")
	addr := p.waitLine(listeningAt)[1]
	for _, s := range until("READY=1") {
		if s != "WATCHDOG=1" {
			t.Errorf("before READY=1: %q", s)
		}
	}
	getHello(t, http.DefaultClient, "http://"+addr+"/")
	for range 3 {
		until("WATCHDOG=1")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	for _, s := range until("STOPPING=1") {
		if s != "WATCHDOG=1" {
			t.Errorf("after READY=1, before STOPPING=1: %q", s)
		}
	}
	p.wait()
}

// TestSocketActivation starts the server with Debian's
// systemd-socket-activate, which binds the socket, waits for the first
// connection and then starts the server on it, as a .socket unit does: the
// first request, made before the server ran, is answered.
func TestSocketActivation(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian package systemd; make deps installs it)")
	}
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	bin := buildCLI(t)
	cfg := writeActivatedConfig(t, dir, mod)
	tcp := freePort(t)
	unix := filepath.Join(dir, "web.sock")
	for _, c := range []struct {
		name, listen, address, url string
		client                     *http.Client
	}{
		{"tcp", tcp, "tcp://" + tcp, "http://" + tcp + "/", http.DefaultClient},
		{"unix", unix, "unix://" + unix, "http://web/", unixHTTP(unix)},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startProcess(t, exec.Command(tool, "--listen="+c.listen, "--fdname=web", bin, "run", "--log-format", "json", "-c", cfg))
			p.waitLine(`^Listening on .* as 3\.$`)
			getHello(t, c.client, c.url)
			p.waitLine(`"msg":"listening","listener":"web","address":"` + regexp.QuoteMeta(c.address) + `"`)
			p.stop()
		})
	}
}

// TestRestartKeepsConnections plays systemd's part: the test holds the
// listening socket and passes it (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID)
// to one server, stops it, and starts another. A connection made while no
// server runs is not refused: the kernel queues it, and the next server
// answers its request.
func TestRestartKeepsConnections(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	bin := buildCLI(t)
	cfg := writeActivatedConfig(t, dir, mod)
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			address := "127.0.0.1:0"
			if network == "unix" {
				address = filepath.Join(dir, "restart.sock")
			}
			l, err := net.Listen(network, address)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			f, err := l.(interface{ File() (*os.File, error) }).File()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			start := func() *process {
				// LISTEN_PID is the server's own pid: the shell's, which exec keeps.
				cmd := exec.Command("sh", "-c", `export LISTEN_PID=$$; exec "$0" "$@"`, bin, "run", "--log-format", "json", "-c", cfg)
				cmd.ExtraFiles = []*os.File{f} // descriptor 3, SD_LISTEN_FDS_START
				p := startProcess(t, cmd, "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
				p.waitLine(`"msg":"listening","listener":"web"`)
				return p
			}
			dial := func() net.Conn {
				c, err := net.Dial(network, l.Addr().String())
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.SetDeadline(time.Now().Add(time.Minute))
				return c
			}
			request := func(c net.Conn) {
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
			}
			answered := func(c net.Conn) {
				t.Helper()
				defer c.Close()
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("reading the response: %v", err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(b) != "hi from wasm\n" {
					t.Fatalf("got %d %q", resp.StatusCode, b)
				}
			}
			first := start()
			c := dial()
			request(c)
			answered(c)
			first.stop()
			waiting := dial() // no server runs now
			request(waiting)
			second := start()
			answered(waiting)
			second.stop()
		})
	}
}

// TestSIGHUPReloads: SIGHUP (systemctl reload) reloads the config and
// its module: a module replaced on disk answers after the reload, and
// systemd hears RELOADING=1 (with MONOTONIC_USEC) then READY=1. A module
// that does not load changes nothing: the error is logged and the
// previous one keeps answering.
func TestSIGHUPReloads(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	v2 := filepath.Join(dir, "v2.wasm")
	os.Rename(buildWAT(t, dir, strings.Replace(helloWAT, `hi from wasm\n`, `hi from v2v2\n`, 1)), v2)
	os.Rename(buildWAT(t, dir, helloWAT), mod)
	cfg := filepath.Join(dir, "bubble.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n\n[[route]]\nmodule = %q\n", mod)), 0o644)
	bin := buildCLI(t)
	path := filepath.Join(dir, "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	p := startProcess(t, exec.Command(bin, "run", "--log-format", "json", "-c", cfg), "NOTIFY_SOCKET="+path)
	url := "http://" + p.waitLine(listeningAt)[1] + "/"
	buf := make([]byte, 4096)
	next := func() string { // the next state the server sends
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if s := next(); s != "READY=1" {
		t.Fatalf("first state %q, want READY=1", s)
	}
	getHello(t, http.DefaultClient, url)

	os.Rename(v2, mod)
	p.cmd.Process.Signal(syscall.SIGHUP)
	if s := next(); !regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=\d+$`).MatchString(s) {
		t.Errorf("state %q, want RELOADING=1 with MONOTONIC_USEC", s)
	}
	if s := next(); s != "READY=1" {
		t.Errorf("state %q after the reload, want READY=1", s)
	}
	p.waitLine(`"msg":"reloaded"`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from v2v2\n" {
		t.Errorf("after the reload: %q", body)
	}

	os.WriteFile(mod, []byte("not wasm"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(`"level":"ERROR","msg":"reload failed: still serving the previous configuration","err":".*route route1: module .*not a WebAssembly binary`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from v2v2\n" {
		t.Errorf("after the failed reload: %q", body)
	}

	os.WriteFile(cfg, []byte("[[route]]\nmodule = 7\n"), 0o644)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(`"level":"ERROR","msg":"reload failed: still serving the previous configuration","err":".*bubble.toml:2: route.1..module: must be a string`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from v2v2\n" {
		t.Errorf("after the failed reload of the config: %q", body)
	}
	p.stop()
}
