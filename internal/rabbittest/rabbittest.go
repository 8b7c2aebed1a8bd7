// Package rabbittest runs a private RabbitMQ node for tests: its own node
// name, its own loopback ports (AMQP, Erlang distribution and epmd), its own
// data, log, config and Erlang cookie under t.TempDir(). It never uses nor
// needs the system service, and leaves no process behind.
//
// It installs nothing: the Debian package rabbitmq-server is installed by
// `make deps` (scripts/deps.d/rabbitmq.sh). A missing package, or a node that
// does not come up, fails the test with a message saying why (and the
// node's log tail); it is never skipped.
package rabbittest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// StartTimeout bounds how long Start and Restart wait for the node to accept
// AMQP connections. A node boots in seconds on an idle machine; on a busy
// two-core CI machine it has taken over a minute. The wait ends at once if
// the node exits, so the bound only matters for a node that hangs.
const StartTimeout = 5 * time.Minute

// stopTimeout bounds a graceful stop before the node is killed.
const stopTimeout = 30 * time.Second

// serverPaths are where the broker's start script is looked for, in order:
// Debian's unprivileged script (the one in /usr/sbin re-runs itself as the
// rabbitmq user), then PATH.
var serverPaths = []string{"/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"}

// Broker is a private RabbitMQ node.
type Broker struct {
	t       testing.TB
	script  string
	epmdBin string
	dir     string
	node    string
	amqp    int
	dist    int
	epmd    int

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	epmdCmd *exec.Cmd
	epmdEnd chan struct{}
	started time.Duration // how long the last start took
}

// FindServer returns the broker's start script, or an error naming the
// package that provides it.
func FindServer() (string, error) { return findServer(serverPaths) }

func findServer(paths []string) (string, error) {
	for _, p := range paths {
		if strings.Contains(p, "/") {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("rabbittest: RabbitMQ is not installed (none of %s found): install the Debian package rabbitmq-server with `make deps` (scripts/deps.d/rabbitmq.sh) or `apt-get install rabbitmq-server`", strings.Join(paths, ", "))
}

// Start starts a private node and waits until it accepts AMQP connections.
// The node (and its epmd) is stopped when the test ends.
func Start(t testing.TB) *Broker {
	t.Helper()
	script, err := FindServer()
	if err != nil {
		t.Fatal(err)
	}
	epmdBin, err := exec.LookPath("epmd")
	if err != nil {
		t.Fatalf("rabbittest: epmd not found (it comes with erlang-base, a dependency of rabbitmq-server): %v", err)
	}
	// The ports are free when picked but not held: another test of the
	// same run can take one before the node binds it. A start that fails
	// on a taken port tries again with new ports.
	for attempt := 1; ; attempt++ {
		b := &Broker{t: t, script: script, epmdBin: epmdBin, dir: t.TempDir(), node: "bubbletest-" + randomHex(6) + "@localhost"}
		b.amqp, b.dist, b.epmd = freePort(t), freePort(t), freePort(t)
		if err := b.writeFiles(); err != nil {
			t.Fatalf("rabbittest: %v", err)
		}
		t.Cleanup(b.cleanup)
		err := b.startEPMD()
		if err == nil {
			err = b.start()
		}
		if err == nil {
			return b
		}
		if attempt < 3 && portTaken(err) {
			t.Logf("rabbittest: attempt %d: a port was taken meanwhile, trying new ones", attempt)
			b.cleanup()
			continue
		}
		t.Fatalf("rabbittest: %v", err)
	}
}

// portTaken reports whether a start failed because a port it was given
// was bound by someone else first.
func portTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "eaddrinuse") || strings.Contains(msg, "address already in use")
}

// URL is the node's AMQP URL, with the default guest account and vhost.
func (b *Broker) URL() string {
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", b.amqp)
}

// Port is the node's AMQP port; it stays the same across Restart.
func (b *Broker) Port() int { return b.amqp }

// Dir is the node's base directory (data, logs, config).
func (b *Broker) Dir() string { return b.dir }

// StartDuration is how long the last (re)start took until AMQP answered.
func (b *Broker) StartDuration() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

// Stop stops the node gracefully (killing it after 30 s). Its data stays,
// so Restart brings back durable queues and persistent messages.
func (b *Broker) Stop() {
	b.t.Helper()
	if err := b.stop(); err != nil {
		b.t.Errorf("rabbittest: %v", err)
	}
}

// Restart stops the node if it runs and starts it again on the same ports
// with the same data.
func (b *Broker) Restart() {
	b.t.Helper()
	if err := b.stop(); err != nil {
		b.t.Fatalf("rabbittest: %v", err)
	}
	if err := b.start(); err != nil {
		b.t.Fatalf("rabbittest: %v", err)
	}
}

// LogTail returns the end of the node's logs, for failure messages.
func (b *Broker) LogTail() string {
	var out strings.Builder
	logs, _ := filepath.Glob(filepath.Join(b.dir, "log", "*.log"))
	for _, p := range append(logs, filepath.Join(b.dir, "stdout.log")) {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&out, "--- %s (tail) ---\n%s\n", filepath.Base(p), data)
	}
	return out.String()
}

func (b *Broker) writeFiles() error {
	for _, d := range []string{"mnesia", "log", "home"} {
		if err := os.MkdirAll(filepath.Join(b.dir, d), 0o700); err != nil {
			return err
		}
	}
	conf := fmt.Sprintf(`listeners.tcp.1 = 127.0.0.1:%d
loopback_users.guest = true
disk_free_limit.absolute = 1MB
log.file.level = info
log.console = false
`, b.amqp)
	files := map[string]string{
		"rabbitmq.conf":       conf,
		"enabled_plugins":     "[].\n",
		"rabbitmq-env.conf":   "",
		"home/.erlang.cookie": randomHex(16),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	// Erlang refuses a cookie file that others can read.
	return os.Chmod(filepath.Join(b.dir, "home/.erlang.cookie"), 0o400)
}

// env is the node's environment: nothing of the system's RabbitMQ
// configuration, everything under dir, every port private.
func (b *Broker) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RABBITMQ_") || strings.HasPrefix(k, "ERL_") || k == "HOME" || k == "NOTIFY_SOCKET" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+filepath.Join(b.dir, "home"),
		"RABBITMQ_NODENAME="+b.node,
		"RABBITMQ_USE_LONGNAME=false",
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(b.amqp),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(b.dist),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(b.dir, "rabbitmq-env.conf"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(b.dir, "rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(b.dir, "advanced.config"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(b.dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(b.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(b.dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(b.dir, "rabbitmq.pid"),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_EPMD_PORT="+strconv.Itoa(b.epmd),
	)
}

// startEPMD runs the node's own epmd in the foreground on its own port, so
// that Erlang does not daemonise a shared one that would outlive the test.
func (b *Broker) startEPMD() error {
	cmd := exec.Command(b.epmdBin, "-port", strconv.Itoa(b.epmd), "-address", "127.0.0.1")
	cmd.Env = b.env()
	out, err := os.Create(filepath.Join(b.dir, "epmd.log"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start epmd: %w", err)
	}
	end := make(chan struct{})
	go func() { cmd.Wait(); close(end) }()
	b.mu.Lock()
	b.epmdCmd, b.epmdEnd = cmd, end
	b.mu.Unlock()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.epmd)), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-end:
			log, _ := os.ReadFile(filepath.Join(b.dir, "epmd.log"))
			return fmt.Errorf("epmd on port %d exited at start: %s", b.epmd, log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("epmd did not listen on 127.0.0.1:%d within a minute", b.epmd)
}

func (b *Broker) start() error {
	t0 := time.Now()
	cmd := exec.Command(b.script)
	cmd.Env = b.env()
	cmd.Dir = b.dir
	out, err := os.OpenFile(filepath.Join(b.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that stopping it reaches erl and its
	// helpers (erl_child_setup, inet_gethost) too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", b.script, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()

	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		conn, err := amqp.DialConfig(b.URL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err == nil {
			conn.Close()
			b.mu.Lock()
			b.started = time.Since(t0)
			b.mu.Unlock()
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("node %s exited during start (%v)\n%s", b.node, cmd.ProcessState, b.LogTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
	b.stop()
	return fmt.Errorf("node %s did not accept AMQP connections on 127.0.0.1:%d within %v (last error: %v)\n%s", b.node, b.amqp, StartTimeout, last, b.LogTail())
}

// stop sends SIGTERM to the start script (which stops erl gracefully), and
// kills the process group if it is still there after stopTimeout.
func (b *Broker) stop() error {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd, b.exited = nil, nil
	b.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pgid := cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	var err error
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		err = fmt.Errorf("node %s did not stop within %v; killed it", b.node, stopTimeout)
	}
	// Whatever is left in the group (erl after a script that died first,
	// erl_child_setup) goes too.
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-exited
	waitGroupGone(pgid, 10*time.Second)
	return err
}

func (b *Broker) cleanup() {
	err := b.stop()
	b.mu.Lock()
	epmd, end := b.epmdCmd, b.epmdEnd
	b.epmdCmd = nil
	b.mu.Unlock()
	if epmd != nil {
		syscall.Kill(-epmd.Process.Pid, syscall.SIGKILL)
		<-end
		waitGroupGone(epmd.Process.Pid, 10*time.Second)
	}
	if err != nil {
		b.t.Errorf("rabbittest: %v", err)
	}
}

// waitGroupGone waits (bounded) until no process is left in the group.
func waitGroupGone(pgid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a process table, not synchronising goroutines
	}
}

// ProcessGroupsAlive reports whether any process of the given groups is
// alive.
func ProcessGroupsAlive(pgids ...int) bool {
	for _, g := range pgids {
		if g > 0 && syscall.Kill(-g, 0) == nil {
			return true
		}
	}
	return false
}

// PIDs returns the process group ids of the running node and of its epmd
// (0 for one not running).
func (b *Broker) PIDs() (node, epmd int) {
	if c := b.cmdSnapshot(); c != nil {
		node = c.Process.Pid
	}
	if c := b.epmdSnapshot(); c != nil {
		epmd = c.Process.Pid
	}
	return node, epmd
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("rabbittest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}

func (b *Broker) cmdSnapshot() *exec.Cmd  { b.mu.Lock(); defer b.mu.Unlock(); return b.cmd }
func (b *Broker) epmdSnapshot() *exec.Cmd { b.mu.Lock(); defer b.mu.Unlock(); return b.epmdCmd }
