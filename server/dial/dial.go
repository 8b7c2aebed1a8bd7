// Package dial is the outbound side of the request/reply pattern: a route
// names worker targets,
//
//	dial = { worker = "unix:///run/worker.sock", remote = "amqp://guest:guest@127.0.0.1:5672/?queue=worker" }
//
// and its module calls them by name through the bubblewasm_dial_v1
// extension (abi.Dial): one request, one reply, bounded by the call's
// timeout and the exchange's deadline.
//
// # Targets
//
// unix:// and tcp:// targets speak the line and json transports' framing:
// a connection per call, the request followed by "\n" (unless it already
// ends with one; a request holding any other newline is refused, as it
// would be several messages), and the reply is the first line the worker
// sends back, its "\n" included. A worker whose output ends with a newline
// (a JSON line, say) therefore gives the same bytes over a socket as over
// a queue. Line transports carry no status: the status is 0.
//
// amqp:// and amqps:// targets (the address of a server/amqp listener: the
// broker plus ?queue=NAME) publish the request to the queue through the
// default exchange, mandatory, with reply_to amq.rabbitmq.reply-to (direct
// reply-to), a fresh correlation id and, when the call has a deadline, a
// per-message TTL of the time left, so that a worker never serves a
// request its caller has given up on. The reply is the body of the message
// that comes back with that correlation id; its status the x-bubble-status
// header (0 when absent). Each target keeps one connection, made on first
// use and remade on the call after it is lost; calls share it.
//
// # Errors
//
// A call maps its failures onto the ABI's: the context's end
// (context.DeadlineExceeded: ERR_TIMEOUT; context.Canceled: ERR_CLOSED),
// a worker that closes the connection or a broker connection lost
// mid-call (ERR_CLOSED), a worker that cannot be reached: refused
// connection, missing socket, unreachable broker, a queue that does not
// exist (ERR_IO), a reply over the size limit (abi.ErrInputTooLarge:
// ERR_TOO_LARGE), a request a line target cannot frame
// (abi.ErrInvalidName: ERR_INVALID).
package dial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/amqp"
)

// DefaultMaxReply is the largest reply a call accepts by default: an AMQP
// listener's default max_body.
const DefaultMaxReply = 1 << 20

// Reply is a worker's answer.
type Reply struct {
	Body []byte
	// Status is the reply's status when the transport carries one (an
	// AMQP worker's x-bubble-status), else 0.
	Status int
}

// Dialer sends one request to a worker and waits for its reply until ctx
// ends.
type Dialer interface {
	Call(ctx context.Context, req []byte) (Reply, error)
	// Close releases the dialer's connections; calls after it fail.
	Close() error
}

// Options tune New.
type Options struct {
	// MaxReply bounds a reply's size; 0 means DefaultMaxReply.
	MaxReply int
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Name names the dialer in logs and AMQP connection names.
	Name string
}

func (o Options) withDefaults() Options {
	if o.MaxReply <= 0 {
		o.MaxReply = DefaultMaxReply
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// New returns the dialer of a target address (see the package
// documentation). It connects nothing yet.
func New(address string, opts Options) (Dialer, error) {
	opts = opts.withDefaults()
	if amqp.IsAddress(address) {
		set, err := amqp.ParseURL(address)
		if err != nil {
			return nil, err
		}
		return newAMQP(set, opts), nil
	}
	a, err := server.ParseAddress(address)
	if err != nil {
		return nil, err
	}
	return &lineDialer{addr: a, max: opts.MaxReply}, nil
}

// Targets are a route's named dialers.
type Targets struct {
	dialers map[string]Dialer
	log     *slog.Logger
}

// NewTargets makes a dialer for each name = address of a route's dial
// table.
func NewTargets(route string, targets map[string]string, opts Options) (*Targets, error) {
	opts = opts.withDefaults()
	t := &Targets{dialers: map[string]Dialer{}, log: opts.Logger.With("route", route)}
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := opts
		o.Name = route + "." + name
		o.Logger = t.log.With("target", name)
		d, err := New(targets[name], o)
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("dial.%s: %w", name, err)
		}
		t.dialers[name] = d
	}
	return t, nil
}

// Close closes every dialer.
func (t *Targets) Close() error {
	var errs []error
	for _, d := range t.dialers {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// Bind returns the targets as one exchange sees them: calls end with ctx
// at the latest, and the last reply is kept for abi.Dial.Last.
func (t *Targets) Bind(ctx context.Context) abi.Dial { return &binding{t: t, ctx: ctx} }

type binding struct {
	t    *Targets
	ctx  context.Context
	last *Reply
}

func (b *binding) Call(target string, req []byte, timeout time.Duration) ([]byte, int, error) {
	b.last = nil
	d, ok := b.t.dialers[target]
	if !ok {
		b.t.log.WarnContext(b.ctx, "guest called a dial target its route does not name", "target", target)
		return nil, 0, fmt.Errorf("dial target %q: %w", target, abi.ErrNotGranted)
	}
	ctx := b.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	r, err := d.Call(ctx, req)
	if err != nil {
		b.t.log.Info("dial call failed", "target", target, "err", err)
		return nil, 0, fmt.Errorf("dial %s: %w", target, err)
	}
	b.last = &r
	return r.Body, r.Status, nil
}

func (b *binding) Last() ([]byte, int, bool) {
	if b.last == nil {
		return nil, 0, false
	}
	return b.last.Body, b.last.Status, true
}

// ctxError is the error of a call whose context ended: ctx's own, so that
// a deadline reads as a timeout and a cancellation as closed, whatever
// the I/O error that the end caused.
func ctxError(ctx context.Context, err error) error {
	// The connection's deadline is the context's: it can fire a moment
	// before the context's own timer does.
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		if cause := context.Cause(ctx); cause != nil && cause != cerr {
			return fmt.Errorf("%w: %v", cerr, cause)
		}
		return cerr
	}
	return err
}
