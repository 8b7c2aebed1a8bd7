// Command client calls examples/worker over AMQP, RPC style: each argument
// (or, with none, each line of stdin) is published to the worker's queue
// with a reply_to queue and a correlation id, and the reply's body is
// printed. A reply whose x-bubble-status is not 200 is also reported on
// stderr, and the exit status is then 1.
//
//	go run ./examples/worker/client '{"text":"hello wasm world"}'
//	{"words":3,"chars":16,"upper":"HELLO WASM WORLD"}
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "the broker")
	queue := flag.String("queue", "worker", "the worker's queue (the listener's ?queue=)")
	timeout := flag.Duration("timeout", 30*time.Second, "how long to wait for each reply")
	flag.Parse()
	inputs := flag.Args()
	if len(inputs) == 0 {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				inputs = append(inputs, line)
			}
		}
	}
	failed, err := run(*url, *queue, *timeout, inputs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func run(url, queue string, timeout time.Duration, inputs []string) (failed bool, err error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return false, err
	}
	// Declared as the server declares it (durable, no arguments), so a
	// request sent before the server is up waits in the queue instead of
	// being dropped.
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return false, err
	}
	// The reply queue: server-named, exclusive, gone with the connection.
	replies, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return false, err
	}
	msgs, err := ch.Consume(replies.Name, "", true, true, false, false, nil)
	if err != nil {
		return false, err
	}
	for _, in := range inputs {
		id := randomID()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{
			ContentType: "application/json", CorrelationId: id, ReplyTo: replies.Name, Body: []byte(in),
		})
		if err != nil {
			cancel()
			return failed, err
		}
		m, err := await(ctx, msgs, id)
		cancel()
		if err != nil {
			return failed, err
		}
		fmt.Println(strings.TrimSuffix(string(m.Body), "\n"))
		if status := Status(m); status != 200 {
			failed = true
			msg := fmt.Sprintf("status %d", status)
			if e, ok := m.Headers["x-bubble-error"].(string); ok { // a failure of the host's, not an answer of the module's
				msg += ": " + e
			}
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	return failed, nil
}

// await returns the reply with correlation id id; replies to earlier
// requests that timed out are skipped.
func await(ctx context.Context, msgs <-chan amqp.Delivery, id string) (amqp.Delivery, error) {
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return m, errors.New("reply queue closed")
			}
			if m.CorrelationId == id {
				return m, nil
			}
		case <-ctx.Done():
			return amqp.Delivery{}, fmt.Errorf("no reply: %w", ctx.Err())
		}
	}
}

// Status is the reply's x-bubble-status header (0 if absent).
func Status(m amqp.Delivery) int {
	switch v := m.Headers["x-bubble-status"].(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int16:
		return int(v)
	case int:
		return v
	}
	return 0
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
