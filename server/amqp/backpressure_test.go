package amqp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	bubbleamqp "github.com/bubblewasm/bubblewasm/server/amqp"
)

// backpressureCases are TestConsumer's cases of overload and poison
// messages, on its broker.
func backpressureCases(t *testing.T, b *rabbittest.Broker, cl *client) {
	t.Run("overloaded handler requeues, never dead-letters", func(t *testing.T) {
		// on_error=reject (the default) would dead-letter a failure: an
		// overloaded handler is not one.
		cl.declare(t, "busy-dlq", nil)
		cl.declare(t, "busy", amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "busy-dlq"})
		h := secondTimeLucky(fmt.Errorf("%w: 1 exchanges running and 0 waiting", server.ErrOverloaded))
		c := startConsumer(t, b.URL()+"?queue=busy", "q-busy", h)
		h.expectRetried(t, cl, "busy") // the overloaded delivery did not answer
		shutdown(t, c)
		if m, d := cl.messages(t, "busy"), cl.messages(t, "busy-dlq"); m != 0 || d != 0 {
			t.Errorf("queue %d, dead letters %d; want 0, 0", m, d)
		}
		if c.OverloadRequeued() != 1 || c.DeadLettered() != 0 {
			t.Errorf("OverloadRequeued %d DeadLettered %d, want 1 and 0", c.OverloadRequeued(), c.DeadLettered())
		}
	})

	for _, queueType := range []string{"classic", "quorum"} {
		for _, id := range []string{"m-poison", ""} { // counted by message id, or by body
			name := fmt.Sprintf("poison message on a %s queue, message id %q", queueType, id)
			t.Run(name, func(t *testing.T) {
				const max = 3
				q := "poison-" + queueType + "-" + fmt.Sprint(len(id))
				cl.declare(t, q+"-dlq", nil)
				cl.declare(t, q, amqp.Table{"x-queue-type": queueType, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q + "-dlq"})
				logger, logs := testutil.CaptureLogger(t)
				var calls, fine atomic.Int32
				var count atomic.Value // the last failed delivery's x-delivery-count
				c, _ := startConsumerLogged(t, fmt.Sprintf("%s?queue=%s&on_error=requeue&max_deliveries=%d", b.URL(), q, max), "q-"+q, server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
					body, _ := io.ReadAll(x.Reader)
					if string(body) == "fine" {
						fine.Add(1)
						return nil
					}
					calls.Add(1)
					count.Store(x.Env[bubbleamqp.EnvHeaderPrefix+"x-delivery-count"])
					return errors.New("this message always fails")
				}), logger)
				cl.publish(t, q, amqp.Publishing{Body: []byte("poison"), MessageId: id})
				testutil.Eventually(t, "the poison message dead-lettered", func() bool { return cl.messages(t, q+"-dlq") == 1 })
				// A message after it is served: the consumer goes on.
				cl.publish(t, q, amqp.Publishing{Body: []byte("fine")})
				testutil.Eventually(t, "the next message served", func() bool { return fine.Load() == 1 })
				shutdown(t, c)
				if n := calls.Load(); n != max {
					t.Errorf("the poison message ran %d times, want max_deliveries %d", n, max)
				}
				// A quorum queue counts for the consumer; a classic one does not.
				if want := map[string]string{"quorum": fmt.Sprint(max - 1), "classic": ""}[queueType]; count.Load() != want {
					t.Errorf("x-delivery-count of the last delivery %q, want %q", count.Load(), want)
				}
				if c.DeadLettered() != 1 {
					t.Errorf("DeadLettered %d, want 1", c.DeadLettered())
				}
				if n := strings.Count(logs.String(), "amqp message dead-lettered"); n != 1 {
					t.Errorf("dead-lettering logged %d times, want once:\n%s", n, logs.String())
				}
				if m := cl.messages(t, q); m != 0 {
					t.Errorf("queue still holds %d", m)
				}
			})
		}
	}
}
