package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverProc is a server process under test.
type serverProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan error
}

// startServer runs args pinned to cpu ("" not pinned) with GOMAXPROCS=1
// when pinned, so that the server has exactly one core.
func startServer(args []string, cpu string, env ...string) (*serverProc, error) {
	if cpu != "" {
		args = append([]string{"taskset", "-c", cpu}, args...)
		env = append(env, "GOMAXPROCS=1")
	}
	s := &serverProc{cmd: exec.Command(args[0], args[1:]...), exited: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = &limitedBuffer{buf: &s.stderr, max: 64 << 10}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait() }()
	return s, nil
}

// waitReady polls url until it answers 200, the server exits, or timeout
// passes; it returns how long the server took from its start.
func (s *serverProc) waitReady(ctx context.Context, url string, start time.Time, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case werr := <-s.exited:
			s.exited <- werr
			return 0, fmt.Errorf("server exited (%v): %s", werr, firstLines(s.stderr.String(), 3))
		case <-ctx.Done():
			return 0, fmt.Errorf("not ready within %s: %v", timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends the server with SIGTERM, then SIGKILL if it has not exited
// within 10 s.
func (s *serverProc) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		s.exited <- <-s.exited
	}
}

// pid is the server's process id (taskset execs it, so it is the server's).
func (s *serverProc) pid() int { return s.cmd.Process.Pid }

// cpuTicks returns a process's user+system CPU time in clock ticks, from
// /proc/PID/stat (what the peer harness reads).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return utime + stime, nil
}

// peakRSS returns a process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// clockTick is the length of one /proc clock tick (USER_HZ).
func clockTick() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if hz, perr := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && perr == nil && hz > 0 {
		return time.Second / time.Duration(hz)
	}
	return 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], " | ")
}
