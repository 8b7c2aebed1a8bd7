package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// signalReader closes started at its first read, then waits for gate
// before it gives its content.
type signalReader struct {
	started chan struct{}
	gate    <-chan struct{}
	r       io.Reader
}

func (s *signalReader) Read(p []byte) (int, error) {
	select {
	case <-s.started:
	default:
		close(s.started)
	}
	<-s.gate
	return s.r.Read(p)
}

// The route keys reach the handler: with max_concurrency = 1 and queue = 0,
// a second exchange is refused at once with 503 and Retry-After while the
// first one runs.
func TestQueueFromConfig(t *testing.T) {
	engine := testapp.Engines(t)[0]
	base, logs := start(t, engine, `
[[route]]
name = "slow"
match = { PATH_INFO = "/slow" }
module = "readall.wasm"
max_concurrency = 1
queue = 0
timeout = "2m"
`, "readall")

	// Expect: 100-continue holds the body back until the guest reads it, so
	// the first read of the body says the exchange is running.
	c := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}, Timeout: time.Minute}
	gate := make(chan struct{})
	body := &signalReader{started: make(chan struct{}), gate: gate, r: strings.NewReader("abc")}
	first := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/slow", body)
		req.Header.Set("Expect", "100-continue")
		resp, err := c.Do(req)
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		first <- resp.Status + " " + string(b)
	}()
	<-body.started

	resp := send(t, client, "POST", base+"/slow", "x")
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second exchange: %d Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	waitLog(t, logs, "1 exchanges running and 0 waiting")
	close(gate)
	if got := <-first; got != "200 OK read 3\n" {
		t.Errorf("first exchange: %q", got)
	}
}

// max_deliveries in an amqp:// listener address: hostile values are named
// by file, line and key before anything connects.
func TestMaxDeliveriesInConfig(t *testing.T) {
	for _, v := range []string{"-1", "1000001", "99999999999999999999", "five", "2.5", ""} {
		body := "[[listener]]\naddress = \"amqp://127.0.0.1/?queue=q&max_deliveries=" + v + "\"\n[[route]]\nmodule = \"a.wasm\"\n"
		_, err := config.ParseWith("bubble.toml", []byte(body), app.ConfigOptions())
		if v == "" { // absent: the default
			if err != nil {
				t.Errorf("max_deliveries=: %v", err)
			}
			continue
		}
		want := `bubble.toml:2: listener[1].address: address "amqp://127.0.0.1/?queue=q&max_deliveries=` + v + `": max_deliveries="` + v + `": want a number from 0 (no limit) to 1000000`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("max_deliveries=%s: %v, want %q", v, err, want)
		}
	}
}
