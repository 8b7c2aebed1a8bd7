package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrUnavailable: a networked backend cannot reach its server (not
// connected yet, or the connection was lost and is being re-established).
// Nothing was sent; the call may succeed later.
var ErrUnavailable = errors.New("events: broker unavailable")

// DefaultExchange is the AMQP exchange AMQPBroker publishes to when
// AMQPOptions.Exchange is empty.
const DefaultExchange = "bubblewasm.pubsub"

// MaxAMQPChannelBytes is the longest channel name AMQPBroker accepts: an
// AMQP routing key is a short string of at most 255 bytes (one byte less
// than MaxNameBytes).
const MaxAMQPChannelBytes = 255

// AMQPOptions configure an AMQPBroker. Zero fields take the defaults
// documented on each.
type AMQPOptions struct {
	// URL is the server, "amqp://user:pass@host:port/vhost" (or amqps://).
	// Required.
	URL string
	// Exchange is the durable topic exchange shared by every process
	// (default DefaultExchange). It is declared on each connection.
	Exchange string
	// Broker are the local subscriptions' limits, as for MemoryBroker.
	Broker BrokerOptions
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from MinBackoff up to MaxBackoff, with jitter
	// (defaults 100ms and 5s).
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds the TCP connect and AMQP handshake (default 5s).
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval, which bounds how long a
	// silently dead connection goes unnoticed (default 10s).
	Heartbeat time.Duration
}

func (o AMQPOptions) withDefaults() AMQPOptions {
	if o.Exchange == "" {
		o.Exchange = DefaultExchange
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	return o
}

// AMQPBroker is a Broker shared by several processes through an AMQP 0-9-1
// server (RabbitMQ): a message published on one process reaches the
// subscribers of every process.
//
// Subscriptions are local: they live in an embedded MemoryBroker, with its
// bounded queues, overflow policies, idle timeouts and bearer IDs, so a
// subscription ID is only valid on the process that issued it (route a
// client's long polls to the same process, or subscribe again after
// ErrSubscriptionGone, as the chat already does).
//
// Publish sends the message to a durable topic exchange with the channel as
// routing key; it does not deliver locally. Each process has one
// connection, one exclusive auto-delete queue and one consumer; the queue
// is bound to the channels that have local subscribers, and every message
// the consumer receives is handed to the embedded MemoryBroker's Publish.
// A process's own messages therefore come back through the server too,
// which keeps one order per channel for all the subscribers of a process.
//
// Delivery is at most once: messages are transient and unconfirmed, so a
// message in flight when the connection drops may be lost, and messages
// published while a process is disconnected do not reach it. When the
// connection is lost the broker reconnects with exponential backoff,
// declares a new queue and binds it to the channels that have local
// subscribers; meanwhile Publish returns an error wrapping ErrUnavailable,
// and subscriptions stay alive (they idle out as usual if nobody fetches).
//
// Ordering: messages from one publishing process to one channel reach every
// subscriber in publish order. Messages from different processes to one
// channel may interleave differently on different processes.
//
// A binding is added by the first local Subscribe to its channel (before
// Subscribe returns, when connected) and removed when the channel has no
// local subscriber left: at once after Unsubscribe, and after an overflow or
// idle drop when the next message for the channel arrives.
type AMQPBroker struct {
	local *MemoryBroker
	opts  AMQPOptions
	where string // the redacted URL, for logs and errors
	log   *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	closed atomic.Bool

	cur atomic.Pointer[session] // the connected session, nil while down

	bmu   sync.Mutex // serialises binding changes and session changes
	sess  *session   // == cur; guarded by bmu
	bound map[string]bool

	stale chan string // channels that may have lost their last subscriber
}

// session is one connection and what was declared on it.
type session struct {
	conn  *amqp.Connection
	pub   *amqp.Channel // publishes
	ctl   *amqp.Channel // queue, bindings, consumer
	queue string
	dead  chan struct{} // closed by kill
	once  sync.Once

	// blocked is set while the server refuses publishes (a memory or disk
	// alarm): Publish fails instead of waiting for the alarm to clear.
	blocked atomic.Bool
}

// kill makes the run loop drop the session and reconnect.
func (s *session) kill() { s.once.Do(func() { close(s.dead) }) }

// staleBuffer bounds the pending unbind checks; beyond it they are dropped
// and done lazily when a message for the channel arrives.
const staleBuffer = 1024

// NewAMQPBroker returns a broker that connects to opts.URL in the
// background and keeps reconnecting until Close. It fails only on invalid
// options: a server that is down is not an error (Publish reports it).
func NewAMQPBroker(opts AMQPOptions, logger *slog.Logger) (*AMQPBroker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.URL == "" {
		return nil, fmt.Errorf("%w: AMQP URL is empty", ErrBadOption)
	}
	if _, err := amqp.ParseURI(opts.URL); err != nil { // its errors do not quote the URL
		return nil, fmt.Errorf("%w: AMQP URL: %v", ErrBadOption, err)
	}
	opts = opts.withDefaults()
	if len(opts.Exchange) > MaxAMQPChannelBytes {
		return nil, fmt.Errorf("%w: exchange name of %d bytes", ErrBadOption, len(opts.Exchange))
	}
	where := opts.URL
	if pu, err := url.Parse(opts.URL); err == nil {
		where = pu.Redacted()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &AMQPBroker{
		local:  NewMemoryBroker(opts.Broker, logger),
		opts:   opts,
		where:  where,
		log:    logger.With("amqp", where, "exchange", opts.Exchange),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		stale:  make(chan string, staleBuffer),
	}
	go b.run()
	return b, nil
}

// Connected reports whether the broker is connected to the server now.
func (b *AMQPBroker) Connected() bool { return b.cur.Load() != nil }

func (b *AMQPBroker) checkChannel(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if len(name) > MaxAMQPChannelBytes {
		return fmt.Errorf("%w: channel of %d bytes exceeds the AMQP routing key limit of %d", ErrBadName, len(name), MaxAMQPChannelBytes)
	}
	return nil
}

// Publish implements Broker. It returns once the message is handed to the
// connection, not once it is delivered; the count is the number of this
// process's subscriptions to channel when it was sent (other processes'
// subscriptions are not counted). While disconnected it returns an error
// wrapping ErrUnavailable.
func (b *AMQPBroker) Publish(ctx context.Context, channel string, msg []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := b.checkChannel(channel); err != nil {
		return 0, err
	}
	if len(msg) > b.local.opts.MaxMessageBytes {
		return 0, fmt.Errorf("%w: message of %d bytes exceeds %d", ErrTooLarge, len(msg), b.local.opts.MaxMessageBytes)
	}
	if b.closed.Load() {
		return 0, ErrClosed
	}
	s := b.cur.Load()
	if s == nil {
		return 0, fmt.Errorf("%w: not connected to %s", ErrUnavailable, b.where)
	}
	if s.blocked.Load() {
		return 0, fmt.Errorf("%w: %s is refusing publishes (resource alarm)", ErrUnavailable, b.where)
	}
	// The body is written to the connection before PublishWithContext
	// returns, so the caller may reuse msg.
	err := s.pub.PublishWithContext(ctx, b.opts.Exchange, channel, false, false, amqp.Publishing{
		DeliveryMode: amqp.Transient,
		Body:         msg,
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		s.kill()
		return 0, fmt.Errorf("%w: publishing to %s: %v", ErrUnavailable, b.where, err)
	}
	return b.localSubscribers(channel), nil
}

// localSubscribers is the number of live local subscriptions of channel.
func (b *AMQPBroker) localSubscribers(channel string) int {
	l := b.local
	l.mu.RLock()
	defer l.mu.RUnlock()
	if ch := l.channels[channel]; ch != nil {
		return ch.refs
	}
	return 0
}

// Subscribe implements Broker. When connected, the channel's binding exists
// before Subscribe returns, so every message published afterwards (on any
// process) reaches the subscription. While disconnected it succeeds and the
// binding is made on reconnection.
func (b *AMQPBroker) Subscribe(ctx context.Context, channel string, opts SubscribeOptions) (SubID, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := b.checkChannel(channel); err != nil {
		return "", err
	}
	id, err := b.local.Subscribe(ctx, channel, opts)
	if err != nil {
		return "", err
	}
	b.bind(channel)
	return id, nil
}

// Fetch implements Broker.
func (b *AMQPBroker) Fetch(ctx context.Context, id SubID, max int, timeout time.Duration) ([][]byte, error) {
	return b.local.Fetch(ctx, id, max, timeout)
}

// Watch implements Broker: subscriptions are local.
func (b *AMQPBroker) Watch(id SubID) (Watch, error) { return b.local.Watch(id) }

// Info implements Broker.
func (b *AMQPBroker) Info(id SubID) (SubInfo, error) { return b.local.Info(id) }

// Unsubscribe implements Broker.
func (b *AMQPBroker) Unsubscribe(ctx context.Context, id SubID) error {
	var name string
	if s, err := b.local.lookup(id); err == nil {
		name = s.ch.name
	}
	if err := b.local.Unsubscribe(ctx, id); err != nil {
		return err
	}
	b.markStale(name)
	return nil
}

// Close implements Broker: it ends every subscription, closes the
// connection (deleting the queue and its bindings) and waits for the
// broker's goroutines to end.
func (b *AMQPBroker) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	b.cancel()
	<-b.done
	return b.local.Close()
}

func (b *AMQPBroker) markStale(name string) {
	select {
	case b.stale <- name:
	default: // dropped: the next message for it unbinds lazily
	}
}

func (b *AMQPBroker) hasLocal(name string) bool {
	l := b.local
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.channels[name] != nil
}

// bind makes sure the session's queue is bound to channel.
func (b *AMQPBroker) bind(channel string) {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	s := b.sess
	if s == nil || b.bound[channel] {
		return
	}
	if err := s.ctl.QueueBind(s.queue, channel, b.opts.Exchange, false, nil); err != nil {
		b.log.Warn("events: AMQP bind failed; reconnecting", "channel", channel, "err", err)
		s.kill()
		return
	}
	b.bound[channel] = true
}

// unbindIfUnused removes channel's binding when it has no local
// subscriber. Holding bmu orders it with bind: a Subscribe that created
// the channel again binds after this.
func (b *AMQPBroker) unbindIfUnused(channel string) {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	s := b.sess
	if s == nil || !b.bound[channel] || b.hasLocal(channel) {
		return
	}
	if err := s.ctl.QueueUnbind(s.queue, channel, b.opts.Exchange, nil); err != nil {
		b.log.Warn("events: AMQP unbind failed; reconnecting", "channel", channel, "err", err)
		s.kill()
		return
	}
	delete(b.bound, channel)
}

// bindings returns the channels the current queue is bound to (for tests).
func (b *AMQPBroker) bindings() map[string]bool {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	out := make(map[string]bool, len(b.bound))
	for k := range b.bound {
		out[k] = true
	}
	return out
}

// run connects, serves and reconnects until Close.
func (b *AMQPBroker) run() {
	defer close(b.done)
	backoff := b.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		s, deliveries, err := b.connect()
		if err == nil {
			b.log.Info("events: AMQP connected", "server", b.where, "attempts", attempt)
			attempt, backoff = 0, b.opts.MinBackoff
			b.serve(s, deliveries)
			b.detach(s)
			if b.ctx.Err() != nil {
				return
			}
			continue
		}
		if b.ctx.Err() != nil {
			return
		}
		// Jitter in [backoff/2, backoff] keeps a fleet from reconnecting in
		// step after a server restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		if attempt == 1 || attempt%10 == 0 {
			b.log.Warn("events: AMQP server unavailable; retrying", "err", err, "attempt", attempt, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, b.opts.MaxBackoff)
	}
}

// connect dials, declares the exchange and a private queue, binds the
// queue to every channel with local subscribers and starts consuming. On
// success the session is current.
func (b *AMQPBroker) connect() (s *session, deliveries <-chan amqp.Delivery, err error) {
	dialer := &net.Dialer{Timeout: b.opts.DialTimeout}
	conn, err := amqp.DialConfig(b.opts.URL, amqp.Config{
		Heartbeat: b.opts.Heartbeat,
		Locale:    "en_US",
		Properties: amqp.Table{
			"connection_name": "bubblewasm pubsub",
			"product":         "bubblewasm",
		},
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(b.ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// Bound the handshake; amqp091 clears the deadline after it.
			if err := c.SetDeadline(time.Now().Add(b.opts.DialTimeout)); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	s = &session{conn: conn, dead: make(chan struct{})}
	defer func() {
		if err != nil {
			conn.CloseDeadline(time.Now().Add(time.Second))
		}
	}()
	if s.pub, err = conn.Channel(); err != nil {
		return nil, nil, err
	}
	if s.ctl, err = conn.Channel(); err != nil {
		return nil, nil, err
	}
	if err = s.ctl.ExchangeDeclare(b.opts.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return nil, nil, fmt.Errorf("declaring exchange %q: %w", b.opts.Exchange, err)
	}
	// Server-named, exclusive (deleted with the connection), auto-delete.
	q, err := s.ctl.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("declaring queue: %w", err)
	}
	s.queue = q.Name

	b.bmu.Lock()
	defer b.bmu.Unlock()
	bound := map[string]bool{}
	for _, name := range b.localChannels() {
		if err = s.ctl.QueueBind(s.queue, name, b.opts.Exchange, false, nil); err != nil {
			return nil, nil, fmt.Errorf("binding %q: %w", name, err)
		}
		bound[name] = true
	}
	if deliveries, err = s.ctl.Consume(s.queue, "", true, true, false, false, nil); err != nil {
		return nil, nil, fmt.Errorf("consuming: %w", err)
	}
	if err = b.ctx.Err(); err != nil { // closed meanwhile
		return nil, nil, err
	}
	b.sess, b.bound = s, bound
	b.cur.Store(s)
	return s, deliveries, nil
}

// localChannels lists the channels with live local subscriptions.
func (b *AMQPBroker) localChannels() []string {
	l := b.local
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.channels))
	for name := range l.channels {
		out = append(out, name)
	}
	return out
}

// serve hands deliveries to the local broker until the session dies or
// the broker closes.
func (b *AMQPBroker) serve(s *session, deliveries <-chan amqp.Delivery) {
	connClosed := s.conn.NotifyClose(make(chan *amqp.Error, 1))
	pubClosed := s.pub.NotifyClose(make(chan *amqp.Error, 1))
	blocking := s.conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-s.dead:
			return
		case err := <-connClosed:
			b.log.Warn("events: AMQP connection lost; reconnecting", "err", err)
			return
		case err := <-pubClosed:
			b.log.Warn("events: AMQP publishing channel closed; reconnecting", "err", err)
			return
		case d, ok := <-deliveries:
			if !ok {
				b.log.Warn("events: AMQP consumer ended; reconnecting")
				return
			}
			b.deliver(d)
		case bl, ok := <-blocking:
			if !ok {
				blocking = nil // closed with the connection, which connClosed reports
				continue
			}
			s.blocked.Store(bl.Active)
			b.log.Warn("events: AMQP server flow control", "blocked", bl.Active, "reason", bl.Reason)
		case name := <-b.stale:
			b.unbindIfUnused(name)
		}
	}
}

// deliver queues one consumed message on the local subscriptions.
func (b *AMQPBroker) deliver(d amqp.Delivery) {
	name := d.RoutingKey
	_, err := b.local.Publish(b.ctx, name, d.Body)
	switch {
	case err != nil:
		// A bad name or a message above this process's limit, sent by a
		// process configured differently; or Close.
		b.log.Debug("events: AMQP message dropped", "channel", name, "bytes", len(d.Body), "err", err)
	case !b.hasLocal(name):
		// Its last subscriber went away (an overflow, say): stop
		// receiving the channel.
		b.unbindIfUnused(name)
	}
}

// detach drops a dead session: Publish fails from now on, and the next
// session binds afresh.
func (b *AMQPBroker) detach(s *session) {
	b.bmu.Lock()
	if b.sess == s {
		b.sess, b.bound = nil, nil
		b.cur.Store(nil)
	}
	b.bmu.Unlock()
	s.kill()
	if err := s.conn.CloseDeadline(time.Now().Add(time.Second)); err != nil && !errors.Is(err, amqp.ErrClosed) {
		b.log.Debug("events: AMQP close", "err", err)
	}
}

var _ Broker = (*AMQPBroker)(nil)
