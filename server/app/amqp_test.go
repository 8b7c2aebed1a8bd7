package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// amqpRoutes is the news long-poll builtin on the AMQP backend at %s.
const amqpRoutes = `
[pubsub]
backend = "amqp"
url = %q
exchange = "bubblewasm.apptest"
queue_size = 10

[[route]]
name = "news"
builtin = "longpoll"
channel = "news"
match = { PATH_INFO = "/news" }
timeout = "30s"
`

// TestAMQPBackend runs two servers (as two processes would) on one
// RabbitMQ node: a message published to either reaches the long-poll
// clients of both.
func TestAMQPBackend(t *testing.T) {
	node := rabbittest.Start(t)
	body := fmt.Sprintf(amqpRoutes, node.URL())
	baseA, logsA := start(t, config.EngineWazero, body)
	baseB, logsB := start(t, config.EngineWazero, body)
	// Both backends connect in the background: a publish before that is
	// answered 5xx, and a subscription is bound only once connected.
	waitLog(t, logsA, "events: AMQP connected")
	waitLog(t, logsB, "events: AMQP connected")
	pa, pb := newPoller(t, baseA), newPoller(t, baseB)
	// The first poll subscribes (the binding exists when it returns).
	subA, _ := pa.poll("0.01")
	subB, _ := pb.poll("0.01")

	if n := publish(t, baseA, "from A"); n != 1 {
		t.Errorf("delivered = %d, want 1 (this server's subscriber)", n)
	}
	publish(t, baseB, "from B")
	for name, p := range map[string]*poller{"A": pa, "B": pb} {
		var got []string
		for len(got) < 2 {
			res, _ := p.poll("20")
			if want := map[string]string{"A": subA.Subscription, "B": subB.Subscription}[name]; res.Subscription != want {
				t.Fatalf("server %s: subscription changed to %s", name, res.Subscription)
			}
			if len(res.Messages) == 0 {
				t.Fatalf("server %s: no message within 20s (got %q)", name, got)
			}
			got = append(got, strings.Split(messages(res), ",")...)
		}
		slices.Sort(got) // the two publishers' messages may interleave either way
		if strings.Join(got, ",") != `"from A","from B"` {
			t.Errorf("server %s got %s", name, got)
		}
	}
}

// TestAMQPBackendDown: the server starts without its AMQP server (it
// keeps reconnecting); publishing answers an error, polling still works.
func TestAMQPBackendDown(t *testing.T) {
	body := fmt.Sprintf(amqpRoutes, "amqp://guest:guest@127.0.0.1:1/")
	base, logs := start(t, config.EngineWazero, body)
	p := newPoller(t, base)
	if res, _ := p.poll("0.01"); len(res.Subscription) != 22 {
		t.Fatalf("poll: %+v", res)
	}
	status, resp := do(t, "POST", base+"/news", "x")
	if status < 500 {
		t.Errorf("publish while the AMQP server is down: %d %q, want a 5xx", status, resp)
	}
	waitLog(t, logs, "AMQP server unavailable")
}
