package dial

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/abi"
	bamqp "github.com/bubblewasm/bubblewasm/server/amqp"
)

// directReplyTo is RabbitMQ's pseudo-queue for RPC replies: no reply
// queue to declare, the broker routes the reply to the consumer on the
// publishing channel.
const directReplyTo = "amq.rabbitmq.reply-to"

// errClosed is the error of calls after Close.
var errClosed = errors.New("dialer closed")

// amqpDialer calls a worker that consumes a queue (a server/amqp
// listener): the RPC pattern with direct reply-to. One connection and one
// channel per target, shared by its calls and remade after a loss.
type amqpDialer struct {
	url   string // the broker's, without the listener parameters
	shown string // redacted, for errors and logs
	queue string
	max   int
	name  string
	log   *slog.Logger

	mu     sync.Mutex // guards sess and closed; held while connecting
	sess   *rpcSession
	closed bool
}

func newAMQP(set bamqp.Settings, opts Options) *amqpDialer {
	return &amqpDialer{url: set.DialURL, shown: set.Redacted, queue: set.Queue, max: opts.MaxReply, name: opts.Name, log: opts.Logger}
}

// rpcSession is one connection's channel and the calls waiting on it.
type rpcSession struct {
	conn *amqp.Connection
	ch   *amqp.Channel

	mu      sync.Mutex
	pending map[string]chan result
	done    chan struct{} // closed when the session is lost
	err     error         // why, set before done is closed
}

type result struct {
	d   amqp.Delivery
	err error
}

func (d *amqpDialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.sess != nil {
		err := d.sess.conn.Close()
		d.sess = nil
		if errors.Is(err, amqp.ErrClosed) {
			err = nil
		}
		return err
	}
	return nil
}

// session returns the live session, connecting when there is none.
func (d *amqpDialer) session(ctx context.Context) (*rpcSession, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	if s := d.sess; s != nil {
		select {
		case <-s.done:
		default:
			return s, nil
		}
	}
	d.sess = nil
	s, err := d.connect(ctx)
	if err != nil {
		return nil, ctxError(ctx, fmt.Errorf("cannot reach the broker %s: %w", d.shown, err))
	}
	d.sess = s
	return s, nil
}

func (d *amqpDialer) connect(ctx context.Context) (*rpcSession, error) {
	conn, err := amqp.DialConfig(d.url, amqp.Config{
		Dial: func(network, addr string) (net.Conn, error) {
			nd := net.Dialer{Timeout: 10 * time.Second}
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			dl := time.Now().Add(10 * time.Second)
			if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
				dl = cdl
			}
			return c, c.SetDeadline(dl) // until the handshake is done (the library clears it)
		},
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "bubblewasm dial " + d.name},
	})
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, err
	}
	replies, err := ch.Consume(directReplyTo, "", true, true, false, false, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("consume %s: %w", directReplyTo, err)
	}
	s := &rpcSession{conn: conn, ch: ch, pending: map[string]chan result{}, done: make(chan struct{})}
	returns := ch.NotifyReturn(make(chan amqp.Return, 16))
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	d.log.Info("dial: amqp connected", "broker", d.shown, "queue", d.queue)
	go s.dispatch(replies, returns, closed, d.queue, d.log)
	return s, nil
}

// dispatch hands each reply (and each returned, unroutable request) to its
// call, until the connection or channel is lost.
func (s *rpcSession) dispatch(replies <-chan amqp.Delivery, returns <-chan amqp.Return, closed <-chan *amqp.Error, queue string, log *slog.Logger) {
	lost := errors.New("connection to the broker lost")
	for replies != nil || returns != nil {
		select {
		case m, ok := <-replies:
			if !ok {
				replies = nil
				continue
			}
			s.deliver(m.CorrelationId, result{d: m}, log)
		case r, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			s.deliver(r.CorrelationId, result{err: fmt.Errorf("the broker returned the request: no queue %q (%d %s)", queue, r.ReplyCode, r.ReplyText)}, log)
		}
	}
	select {
	case e := <-closed:
		if e != nil { // nil: closed by Close
			lost = fmt.Errorf("%w: %v", lost, e)
			log.Warn("dial: amqp connection lost", "err", e)
		}
	default:
	}
	s.conn.Close()
	s.mu.Lock()
	s.err = lost
	close(s.done)
	s.mu.Unlock()
}

func (s *rpcSession) deliver(id string, r result, log *slog.Logger) {
	s.mu.Lock()
	c, ok := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !ok {
		log.Debug("dial: a reply nobody waits for (its call ended)", "correlation_id", id)
		return
	}
	c <- r // buffered, one per call
}

func (d *amqpDialer) Call(ctx context.Context, req []byte) (Reply, error) {
	if err := ctx.Err(); err != nil {
		return Reply{}, err
	}
	s, err := d.session(ctx)
	if err != nil {
		return Reply{}, err
	}
	id := randomID()
	c := make(chan result, 1)
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("%w: %w", net.ErrClosed, s.err)
	default:
	}
	s.pending[id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()

	p := amqp.Publishing{CorrelationId: id, ReplyTo: directReplyTo, Body: req, Timestamp: time.Now()}
	if dl, ok := ctx.Deadline(); ok {
		p.Expiration = strconv.FormatInt(max(time.Until(dl).Milliseconds(), 1), 10)
	}
	if err := s.ch.PublishWithContext(ctx, "", d.queue, true, false, p); err != nil {
		if errors.Is(err, amqp.ErrClosed) {
			err = fmt.Errorf("%w: %w", net.ErrClosed, err)
		}
		return Reply{}, ctxError(ctx, fmt.Errorf("publish to queue %s: %w", d.queue, err))
	}
	select {
	case r := <-c:
		if r.err != nil {
			return Reply{}, r.err
		}
		if len(r.d.Body) > d.max {
			return Reply{}, fmt.Errorf("%w: reply of %d bytes, over %d", abi.ErrInputTooLarge, len(r.d.Body), d.max)
		}
		return Reply{Body: r.d.Body, Status: status(r.d.Headers[bamqp.HeaderStatus])}, nil
	case <-s.done:
		return Reply{}, fmt.Errorf("%w: %w (the request may still be served)", net.ErrClosed, s.err)
	case <-ctx.Done():
		return Reply{}, ctxError(ctx, nil)
	}
}

// status reads an x-bubble-status header of any integer type.
func status(v any) int {
	switch v := v.(type) {
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int16:
		return int(v)
	case int8:
		return int(v)
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		return int(v)
	case int:
		return v
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func randomID() string {
	p := make([]byte, 12)
	rand.Read(p)
	return hex.EncodeToString(p)
}
