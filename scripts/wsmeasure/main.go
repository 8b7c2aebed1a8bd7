// Command wsmeasure measures WebSocket routes outside go test (numbers, not
// pass/fail): it starts `bubblewasm run` on a config with an echo route
// (server/app/testdata/wsecho.wat, built with wat2wasm) in a child process
// and, from this process,
//
//   - echoes messages on one socket and on -sockets-busy sockets at once
//     (messages per second, each a round trip through a wasm exchange);
//   - opens -sockets idle sockets that each follow a channel and reports
//     the server's RSS growth per socket (VmRSS from /proc) and the
//     route's instances and exchanges in flight from /metrics.
//
// Both ends of every socket are descriptors: the server and this process
// each need -sockets of them, so `ulimit -n` must allow that.
//
//	go build -o bin/bubblewasm ./cmd/bubblewasm
//	go run ./scripts/wsmeasure -bin bin/bubblewasm -sockets 10000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
)

const configText = `
shutdown_timeout = "10s"
[access_log]
output = "off"
[admin]
address = "tcp://127.0.0.1:0"
[[listener]]
name = "web"
address = "tcp://127.0.0.1:0"
max_connections = 100000
[[route]]
name = "msg"
match = { PATH_INFO = "/ws", "bubble.transport" = "websocket" }
module = "wsecho.wasm"
[[route]]
name = "ws"
match = { PATH_INFO = "/ws" }
transport = "websocket"
pubsub = ["news"]
websocket_open = true
websocket_max_sockets = 100000
`

func main() {
	bin := flag.String("bin", "bin/bubblewasm", "the bubblewasm binary")
	wat := flag.String("wat", "server/app/testdata/wsecho.wat", "the echo handler")
	sockets := flag.Int("sockets", 10000, "idle sockets to open")
	busy := flag.Int("sockets-busy", 100, "sockets echoing at once")
	dur := flag.Duration("duration", 5*time.Second, "how long each echo run lasts")
	flag.Parse()
	log.SetFlags(0)

	dir, err := os.MkdirTemp("", "wsmeasure")
	check(err)
	defer os.RemoveAll(dir)
	check(exec.Command("wat2wasm", *wat, "-o", filepath.Join(dir, "wsecho.wasm")).Run())
	check(os.WriteFile(filepath.Join(dir, "bubble.toml"), []byte(configText), 0o644))
	cmd := exec.Command(*bin, "run", "-c", filepath.Join(dir, "bubble.toml"))
	stderr, err := cmd.StderrPipe()
	check(err)
	check(cmd.Start())
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	web, admin := addresses(stderr)
	url := "ws://" + web + "/ws"

	for _, n := range []int{1, *busy} {
		rate := echo(url, n, *dur)
		fmt.Printf("echo on %d socket(s): %.0f messages/s\n", n, rate)
	}

	rssBefore := rss(cmd.Process.Pid)
	conns := openIdle(url, *sockets)
	time.Sleep(2 * time.Second) // let the server's allocations settle
	rssAfter := rss(cmd.Process.Pid)
	m := metrics(admin)
	fmt.Printf("%d idle sockets: server RSS %d -> %d KiB: %.1f KiB per socket\n", len(conns), rssBefore, rssAfter, float64(rssAfter-rssBefore)/float64(len(conns)))
	fmt.Printf("route msg: %s exchanges in flight, %s instances created, %s closed\n",
		m[`bubblewasm_exchanges_in_flight{route="msg"}`], m[`bubblewasm_instances_created_total{route="msg"}`], m[`bubblewasm_instances_closed_total{route="msg"}`])
	for _, c := range conns {
		c.CloseNow()
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// addresses reads the server's log until it names the web and admin
// addresses, then keeps draining it.
func addresses(r interface{ Read([]byte) (int, error) }) (web, admin string) {
	sc := bufio.NewScanner(r)
	re := regexp.MustCompile(`address=tcp://(\S+)`)
	for sc.Scan() && (web == "" || admin == "") {
		line := sc.Text()
		if m := re.FindStringSubmatch(line); m != nil {
			if strings.Contains(line, "admin") {
				admin = m[1]
			} else if strings.Contains(line, "listener=web") {
				web = m[1]
			}
		}
	}
	if web == "" || admin == "" {
		log.Fatal("the server did not log its addresses")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return web, admin
}

// echo runs n sockets, each sending a message and waiting for its echo in
// a loop, for d; it returns round trips per second.
func echo(url string, n int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	var total atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	var began time.Time
	for range n {
		c := dial(ctx, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.CloseNow()
			<-start
			msg := []byte("hello, echo")
			for time.Since(began) < d {
				if err := c.Write(ctx, ws.MessageText, msg); err != nil {
					log.Fatal(err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					log.Fatal(err)
				}
				total.Add(1)
			}
		}()
	}
	began = time.Now()
	close(start)
	wg.Wait()
	return float64(total.Load()) / time.Since(began).Seconds()
}

// dial opens a socket and reads its welcome.
func dial(ctx context.Context, url string) *ws.Conn {
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{}}})
	check(err)
	if _, _, err := c.Read(ctx); err != nil {
		log.Fatal(err)
	}
	return c
}

// openIdle opens n sockets, 100 at a time; each follows "news".
func openIdle(url string, n int) []*ws.Conn {
	ctx := context.Background()
	conns := make([]*ws.Conn, n)
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conns[i] = dial(ctx, url)
			conns[i].CloseRead(ctx) // answers the server's pings
		}()
	}
	wg.Wait()
	return conns
}

// rss returns a process's resident set in KiB.
func rss(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// metrics reads the admin listener's /metrics into series -> value.
func metrics(admin string) map[string]string {
	resp, err := http.Get("http://" + admin + "/metrics")
	check(err)
	defer resp.Body.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}
