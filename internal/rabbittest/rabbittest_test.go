package rabbittest

import (
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestMissingServerNamesPackage(t *testing.T) {
	_, err := findServer([]string{"/nonexistent/rabbitmq-server", "rabbitmq-server-not-on-path"})
	if err == nil || !strings.Contains(err.Error(), "rabbitmq-server") || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("err = %v, want one naming the package and make deps", err)
	}
}

// TestBroker starts a node, uses it, restarts it (a durable queue and a
// persistent message survive), and checks that nothing is left after
// cleanup.
func TestBroker(t *testing.T) {
	var node, epmd int
	t.Run("node", func(t *testing.T) {
		b := Start(t)
		t.Logf("node started in %v on %s", b.StartDuration(), b.URL())
		conn, err := amqp.Dial(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare("keep", true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		// A publisher confirm says the broker has the message (on disk, for
		// a persistent message in a durable queue) before the restart.
		if err := ch.Confirm(false); err != nil {
			t.Fatal(err)
		}
		conf, err := ch.PublishWithDeferredConfirm("", "keep", false, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("survives")})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := conf.WaitContext(t.Context()); !ok || err != nil {
			t.Fatalf("publish not confirmed: %v %v", ok, err)
		}
		conn.Close()

		b.Restart()
		t.Logf("node restarted in %v", b.StartDuration())
		conn, err = amqp.Dial(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err = conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		d, ok, err := ch.Get("keep", true)
		if err != nil || !ok || string(d.Body) != "survives" {
			t.Fatalf("after restart: get = %q, %v, %v", d.Body, ok, err)
		}
		node, epmd = b.PIDs()
		if node == 0 || epmd == 0 {
			t.Fatalf("pids = %d, %d", node, epmd)
		}
	})
	if node == 0 || epmd == 0 {
		return // the subtest failed before it learnt them
	}
	if ProcessGroupsAlive(node, epmd) {
		t.Fatalf("processes of node group %d or epmd group %d are alive after cleanup", node, epmd)
	}
	_ = time.Second
}

// portTaken tells a start that lost a port race (RabbitMQ's listener
// error, epmd's bind error) from other failures, which are not retried.
func TestPortTaken(t *testing.T) {
	for msg, want := range map[string]bool{
		"node x exited during start\n{listen_error,{acceptor,{127,0,0,1},40407},eaddrinuse}": true,
		"epmd: bind: address already in use":                                                 true,
		"node x did not accept AMQP connections within 2m0s":                                 false,
		"node x exited during start (exit status 1)":                                         false,
	} {
		if got := portTaken(errors.New(msg)); got != want {
			t.Errorf("portTaken(%q) = %v, want %v", msg, got, want)
		}
	}
}
