package worker_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// httpAnswer is what the caller's HTTP front answered.
type httpAnswer struct {
	status      int
	contentType string
	body        string
}

// startCaller serves caller.toml on a free loopback port with its dial
// target worker set to workerAddr, and returns its base URL.
func startCaller(t *testing.T, module, workerAddr string) string {
	t.Helper()
	cfg, err := config.Load("caller.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listeners) != 1 || len(cfg.Routes) != 1 || cfg.Routes[0].Dial["worker"] == "" {
		t.Fatalf("caller.toml: want one listener and one route with dial.worker, got %+v", cfg.Routes)
	}
	cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	cfg.Routes[0].Module = module
	cfg.Routes[0].Dial = map[string]string{"worker": workerAddr}
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	return fmt.Sprintf("http://%s:%d/", addrs[0].Host, addrs[0].Port)
}

func post(t *testing.T, url, body string) httpAnswer {
	t.Helper()
	c := &http.Client{Timeout: wait}
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

// TestCallerSameOverUnixAndAMQP: a handler calling dial target "worker"
// answers identically whether the target is the worker's unix socket or
// its AMQP queue.
func TestCallerSameOverUnixAndAMQP(t *testing.T) {
	sock := startUnix(t)
	broker, queue := startAMQP(t)
	module := testbuild.Path(t, "caller")
	viaUnix := startCaller(t, module, sock.String())
	viaAMQP := startCaller(t, module, fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/?queue=%s", broker.Port(), queue))

	for _, c := range cases {
		u := post(t, viaUnix, c.in)
		a := post(t, viaAMQP, c.in)
		if u != a {
			t.Errorf("%s:\n  via unix %+v\n  via amqp %+v", c.in, u, a)
		}
		if want := (httpAnswer{c.status, "application/json", c.out + "\n"}); a != want {
			t.Errorf("%s: %+v, want %+v", c.in, a, want)
		}
	}
}

// TestCallerWorkerDown: with nothing behind the worker's socket the caller
// answers 502 at once.
func TestCallerWorkerDown(t *testing.T) {
	module := testbuild.Path(t, "caller")
	url := startCaller(t, module, "unix://"+t.TempDir()+"/nobody.sock")
	got := post(t, url, `{"text":"x"}`)
	if got.status != 502 || !strings.Contains(got.body, "worker unavailable") {
		t.Errorf("worker down: %+v, want 502 worker unavailable", got)
	}
}
