package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// helloWAT is a minimal handler, built with wat2wasm for these tests.
const helloWAT = `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hi from wasm\n")
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const 13)))
    (i32.const 0)))`

func buildWAT(t *testing.T, dir, src string) string {
	t.Helper()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	os.WriteFile(in, []byte(src), 0o644)
	if msg, err := exec.Command("wat2wasm", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm (Debian package wabt; make deps installs it): %v\n%s", err, msg)
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// httpGet returns the body of a GET with c.
func httpGet(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, body := testutil.Fetch(t, c, req)
	return body
}

// unixHTTPClient sends every request to the unix socket sock, as curl
// --unix-socket does.
func unixHTTPClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, append([]string{"bubblewasm"}, args...), &out, &out)
	return code, out.String()
}

// TestFailuresBindNothing checks that every startup failure exits with its
// documented code and a message naming the problem, and that the listeners
// of the config were never bound.
func TestFailuresBindNothing(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	junk := filepath.Join(dir, "junk.wasm")
	os.WriteFile(junk, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644)
	addr := freePort(t)
	sock := filepath.Join(dir, "s.sock")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	listeners := "[[listener]]\naddress = \"tcp://" + addr + "\"\n[[listener]]\naddress = \"unix://" + sock + "\"\n"
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", []string{"run"}, exitUsage, "run needs a module"},
		{"unknown flag", []string{"run", "--nope", mod}, exitUsage, "flag provided but not defined"},
		{"module and config", []string{"run", "-c", "x.toml", mod}, exitUsage, "not both"},
		{"bad --instances", []string{"run", "--instances", "many", mod}, exitUsage, `"many" is not snapshot, fresh or pool`},
		{"missing module", []string{"run", filepath.Join(dir, "nope.wasm")}, exitConfig, "no such file"},
		{"missing config", []string{"run", "-c", filepath.Join(dir, "nope.toml")}, exitConfig, "no such file"},
		{"config syntax", []string{"run", "-c", write("syntax.toml", listeners+"[[route]\n")}, exitConfig, "syntax.toml:5"},
		{"config unknown key", []string{"run", "-c", write("key.toml", listeners+"[[route]]\nmodule = \"m.wasm\"\ntimout = \"1s\"\n")}, exitConfig, "key.toml:7: route[1].timout"},
		{"config bad address", []string{"run", "-c", write("addr.toml", "[[listener]]\naddress = \"tcp://127.0.0.1:99999\"\n[[route]]\nmodule = \"m.wasm\"\n")}, exitConfig, "addr.toml:2: listener[1].address"},
		{"config bad module", []string{"run", "-c", write("mod.toml", listeners+"[[route]]\nname = \"bad\"\nmodule = \"junk.wasm\"\n")}, exitConfig, "mod.toml:5: route bad: module " + junk},
		{"bad --listen", []string{"run", "--listen", "udp://1.2.3.4:5", mod}, exitUsage, `--listen: address "udp://1.2.3.4:5": unknown scheme "udp"`},
		{"garbage --listen", []string{"run", "--listen", "garbage", mod}, exitUsage, `--listen: address "garbage"`},
		{"bad --transport", []string{"run", "--transport", "smtp", mod}, exitUsage, `--transport: "smtp" is not http, json, jsonrpc, line, raw`},
		{"bad --log-level", []string{"run", "--log-level", "loud", mod}, exitUsage, "--log-level"},
		{"systemd socket not inherited", []string{"run", "--listen", "systemd://web", mod}, exitListen, `listener listen1: no listening socket named "web" was inherited from systemd`},
		{"systemd socket name", []string{"run", "--listen", "systemd://web:80", mod}, exitUsage, `address "systemd://web:80": a systemd socket name is printable ASCII without ':'`},
		{"config systemd socket name", []string{"run", "-c", write("sd.toml", "[[listener]]\naddress = \"systemd://"+strings.Repeat("w", 256)+"\"\n[[route]]\nmodule = \"m.wasm\"\n")}, exitConfig, "sd.toml:2: listener[1].address: address \"systemd://www"},
		{"access log unwritable", []string{"run", "-c", write("al.toml", "[access_log]\noutput = \"no/such/dir/a.log\"\n"+listeners+"[[route]]\nmodule = \"m.wasm\"\n")}, exitConfig, "al.toml:1: access_log.output: open " + filepath.Join(dir, "no/such/dir/a.log")},
		{"bad --admin", []string{"run", "--admin", "amqp://127.0.0.1/?queue=x", mod}, exitConfig, "admin: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d; output must contain %q:\n%s", code, tc.code, tc.want, out)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the config's TCP address was left bound: %v", err)
			}
			l.Close()
			if _, err := os.Lstat(sock); err == nil {
				t.Fatalf("the config's unix socket %s was created", sock)
			}
		})
	}
}

func TestListenFailureExitCode(t *testing.T) {
	mod := buildWAT(t, t.TempDir(), helloWAT)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, out := runCLI(t, "run", "--listen", "tcp://"+l.Addr().String(), mod)
	if code != exitListen || !strings.Contains(out, "address already in use") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitListen, out)
	}
}

// TestServeAndStop runs the real binary as a user would: it must log the
// real address of a port-0 listener, serve on it and on a unix socket, read
// flags from BUBBLEWASM_* variables, and exit 0 on SIGTERM.
func TestServeAndStop(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	bin := buildCLI(t)
	sock := filepath.Join(dir, "h.sock")
	cmd := exec.Command(bin, "run", "--listen", "tcp://127.0.0.1:0", mod)
	cmd.Env = append(os.Environ(), "BUBBLEWASM_LOG_FORMAT=json", "BUBBLEWASM_INSTANCES=pool", "BUBBLEWASM_ADMIN=tcp://127.0.0.1:0")
	cmd.Args = append(cmd.Args[:2], "--listen", "tcp://127.0.0.1:0", "--listen", "unix://"+sock, mod)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`"address":"tcp://(127\.0\.0\.1:\d+)"`)
	adminRe := regexp.MustCompile(`"admin listening","address":"tcp://(127\.0\.0\.1:\d+)"`)
	var tcpAddr, adminAddr string
	for (tcpAddr == "" || adminAddr == "") && lines.Scan() {
		if m := adminRe.FindStringSubmatch(lines.Text()); m != nil {
			adminAddr = m[1]
		} else if m := re.FindStringSubmatch(lines.Text()); m != nil && tcpAddr == "" {
			tcpAddr = m[1]
		}
	}
	if tcpAddr == "" || strings.HasSuffix(tcpAddr, ":0") {
		t.Fatalf("no resolved listening address logged (got %q)", tcpAddr)
	}
	if got := httpGet(t, http.DefaultClient, "http://"+tcpAddr+"/"); got != "hi from wasm\n" {
		t.Fatalf("tcp: got %q", got)
	}
	if got := httpGet(t, unixHTTPClient(sock), "http://unix/"); got != "hi from wasm\n" {
		t.Fatalf("unix: got %q", got)
	}
	if adminAddr == "" {
		t.Fatal("no admin listener logged (BUBBLEWASM_ADMIN)")
	}
	if got := httpGet(t, http.DefaultClient, "http://"+adminAddr+"/healthz"); got != "ok\n" {
		t.Fatalf("admin /healthz: got %q", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// The access log is on by default, in the server log's format; JSON
	// durations are milliseconds.
	access := regexp.MustCompile(`"msg":"exchange","listener":"listen1","transport":"http","route":"[^"]+","method":"GET","path":"/","status":200,"bytes_in":0,"bytes_out":13,"duration_ms":[0-9.]+(e-?\d+)?,"request_id":"[0-9a-v]{16}"}`)
	if !access.MatchString(rest.String()) || !strings.Contains(rest.String(), `"msg":"shutting down","timeout_ms":10000}`) {
		t.Fatalf("no JSON access record or shutdown timeout in ms in the log:\n%s", rest.String())
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Fatalf("unix socket %s left behind after a clean stop", sock)
	}
}

// TestRunReadsBubbleTOML runs the real binary with no arguments in a
// directory holding a bubble.toml: it must say it reads that file, log
// one URL per listener and route once bound, and serve at those URLs.
func TestRunReadsBubbleTOML(t *testing.T) {
	dir := t.TempDir()
	buildWAT(t, dir, helloWAT)
	sock := filepath.Join(dir, "h.sock")
	cfg := "[[listener]]\nname = \"web\"\naddress = \"tcp://127.0.0.1:0\"\n" +
		"[[listener]]\nname = \"local\"\naddress = \"unix://" + sock + "\"\n" +
		"[[route]]\nname = \"chat\"\nmodule = \"m.wasm\"\nmatch = { PATH_INFO = \"/chat/*\", REQUEST_METHOD = \"GET\" }\n" +
		"[[route]]\nname = \"rest\"\nmodule = \"m.wasm\"\nmatch = { \"bubble.listener\" = \"web\" }\n"
	if err := os.WriteFile(filepath.Join(dir, "bubble.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildCLI(t), "run")
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var log strings.Builder
	var routes []string
	for len(routes) < 3 && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "msg=route ") {
			routes = append(routes, lines.Text())
		}
	}
	if !strings.Contains(log.String(), "reading bubble.toml") || !strings.Contains(log.String(), "config="+filepath.Join(dir, "bubble.toml")) {
		t.Fatalf("run does not say it reads %s:\n%s", filepath.Join(dir, "bubble.toml"), log.String())
	}
	if len(routes) != 3 {
		t.Fatalf("want 3 route lines (chat on web and local, rest on web):\n%s", log.String())
	}
	chat := regexp.MustCompile(`^.* msg=route route=chat url=(http://127\.0\.0\.1:\d+)/chat/\* method=GET listener=web$`)
	m := chat.FindStringSubmatch(routes[0])
	if m == nil {
		t.Fatalf("first route line: %s", routes[0])
	}
	base := m[1]
	if want := "msg=route route=rest url=" + base + "/* listener=web"; !strings.HasSuffix(routes[1], want) {
		t.Fatalf("second route line: %s\nwant suffix %s", routes[1], want)
	}
	if want := "msg=route route=chat url=http://localhost/chat/* socket=" + sock + " method=GET listener=local"; !strings.HasSuffix(routes[2], want) {
		t.Fatalf("third route line: %s\nwant suffix %s", routes[2], want)
	}
	// The URLs serve: over TCP, and through the unix socket as curl
	// --unix-socket would.
	if got := httpGet(t, http.DefaultClient, base+"/chat/x"); got != "hi from wasm\n" {
		t.Fatalf("tcp: %q", got)
	}
	if got := httpGet(t, unixHTTPClient(sock), "http://localhost/chat/x"); got != "hi from wasm\n" {
		t.Fatalf("unix: %q", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go io.Copy(io.Discard, stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// TestRunWithoutBubbleTOML checks the error of a bare run where there is
// no bubble.toml: a usage error that names the file it looked for.
func TestRunWithoutBubbleTOML(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out := runCLI(t, "run")
	if code != exitUsage || !strings.Contains(out, "run needs a module") || !strings.Contains(out, "no bubble.toml in this directory") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, out)
	}
}
