package main

import (
	"bufio"
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
)

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
	get := func(c *http.Client, url string) string {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(http.DefaultClient, base+"/chat/x"); got != "hi from wasm\n" {
		t.Fatalf("tcp: %q", got)
	}
	unixClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	if got := get(unixClient, "http://localhost/chat/x"); got != "hi from wasm\n" {
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
