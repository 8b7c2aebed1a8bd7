package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Binding is a route's outbound grant bound to one exchange: the
// abi.Outbound its module calls. Close closes every response still open.
type Binding struct {
	c   *Client
	ctx context.Context

	mu      sync.Mutex
	open    map[int]*response
	pending int // requests under way, counted against MaxOpenResponses
	last    int // the last handle given out
	closed  bool
}

// response is one open response and the state of its body.
type response struct {
	resp   *http.Response
	ctx    context.Context // the call's: its timeout and the exchange's
	cancel context.CancelFunc
	read   int64 // body bytes delivered
	err    error // sticky: io.EOF, too large, or the failure
}

var _ abi.Outbound = (*Binding)(nil)

// Request implements abi.Outbound.
func (b *Binding) Request(req abi.OutboundRequest) (int, error) {
	if int64(len(req.Body)) > b.c.opts.MaxRequestBytes {
		return 0, fmt.Errorf("request body of %d bytes over the route's %d: %w", len(req.Body), b.c.opts.MaxRequestBytes, abi.ErrInputTooLarge)
	}
	u, err := url.Parse(req.URL)
	switch {
	case err != nil, !u.IsAbs(), u.Opaque != "", u.Host == "":
		return 0, fmt.Errorf("%w: not an absolute URL", abi.ErrInvalidRequest)
	case u.User != nil:
		return 0, fmt.Errorf("%w: a URL with userinfo", abi.ErrInvalidRequest)
	case dotSegments(u.Path):
		return 0, fmt.Errorf("%w: a URL with . or .. path segments", abi.ErrInvalidRequest)
	}
	u.Fragment, u.RawFragment = "", ""
	if !b.c.allow.Covers(u) {
		b.c.log.WarnContext(b.ctx, "guest requested a URL outside its route's outbound list", "url", redact(u))
		return 0, fmt.Errorf("%s: %w", redact(u), abi.ErrNotGranted)
	}
	if err := b.reserve(); err != nil {
		return 0, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = b.c.opts.Timeout
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), bodyOf(req.Body))
	if err != nil {
		cancel()
		b.unreserve()
		return 0, fmt.Errorf("%w: %v", abi.ErrInvalidRequest, err)
	}
	hr.Header = req.Header
	resp, err := b.c.hc.Do(hr)
	if err != nil {
		err = b.callError(ctx, err) // before cancel, which ends ctx
		cancel()
		b.unreserve()
		if errors.Is(err, abi.ErrNotGranted) {
			b.c.log.WarnContext(b.ctx, "guest requested an address its route's outbound list does not allow", "url", redact(u), "err", err)
		}
		return 0, err
	}
	return b.add(&response{resp: resp, ctx: ctx, cancel: cancel})
}

// reserve takes a place among the exchange's open responses.
func (b *Binding) reserve() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return fmt.Errorf("exchange ended: %w", context.Canceled)
	case len(b.open)+b.pending >= abi.MaxOpenResponses:
		return fmt.Errorf("%d responses open: %w", abi.MaxOpenResponses, abi.ErrCapacity)
	}
	b.pending++
	return nil
}

func (b *Binding) unreserve() {
	b.mu.Lock()
	b.pending--
	b.mu.Unlock()
}

// add turns a reserved place into an open response and returns its
// handle; after Close it closes the response instead.
func (b *Binding) add(r *response) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending--
	if b.closed {
		r.close()
		return 0, fmt.Errorf("exchange ended: %w", context.Canceled)
	}
	b.last++
	b.open[b.last] = r
	return b.last, nil
}

func (b *Binding) get(handle int) (*response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.open[handle]
	if !ok {
		return nil, fmt.Errorf("response %d: %w", handle, abi.ErrGone)
	}
	return r, nil
}

// Status implements abi.Outbound.
func (b *Binding) Status(handle int) (int, error) {
	r, err := b.get(handle)
	if err != nil {
		return 0, err
	}
	return r.resp.StatusCode, nil
}

// Header implements abi.Outbound.
func (b *Binding) Header(handle int) (http.Header, error) {
	r, err := b.get(handle)
	if err != nil {
		return nil, err
	}
	return r.resp.Header, nil
}

// Read implements abi.Outbound: it streams the body and fails with
// abi.ErrInputTooLarge once the body passes the route's cap, after the
// bytes up to the cap were delivered. The guest reads one response at a
// time, on its own goroutine; Close may run alongside (the exchange's
// end), which net/http allows.
func (b *Binding) Read(handle int, p []byte) (int, error) {
	r, err := b.get(handle)
	if err != nil {
		return 0, err
	}
	if r.err != nil {
		return 0, r.err
	}
	limit := b.c.opts.MaxResponseBytes
	p = p[:min(int64(len(p)), limit-r.read+1)] // one byte past the cap tells whether there is more
	n, err := r.resp.Body.Read(p)
	if r.read+int64(n) > limit {
		n = int(limit - r.read)
		r.read = limit
		r.err = fmt.Errorf("response body over the route's %d bytes: %w", limit, abi.ErrInputTooLarge)
		r.resp.Body.Close()
		if n > 0 {
			return n, nil
		}
		return 0, r.err
	}
	r.read += int64(n)
	switch {
	case err == io.EOF:
		r.err = io.EOF
		r.resp.Body.Close() // the connection goes back to the pool
	case err != nil:
		r.err = b.callError(r.ctx, err)
		r.resp.Body.Close()
	}
	if n > 0 {
		return n, nil
	}
	return 0, r.err
}

// Close implements abi.Outbound.
func (b *Binding) Close(handle int) error {
	b.mu.Lock()
	r, ok := b.open[handle]
	delete(b.open, handle)
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("response %d: %w", handle, abi.ErrGone)
	}
	r.close()
	return nil
}

// CloseAll closes every response still open; the exchange has ended, and
// later calls fail.
func (b *Binding) CloseAll() {
	b.mu.Lock()
	b.closed = true
	open := b.open
	b.open = map[int]*response{}
	b.mu.Unlock()
	for _, r := range open {
		r.close()
	}
}

// Open returns how many responses are open.
func (b *Binding) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.open)
}

func (r *response) close() {
	r.resp.Body.Close()
	r.cancel()
}

// callError maps a failed call: the exchange's end first (its deadline is
// ERR_TIMEOUT, its cancellation ERR_CLOSED), then the call's timeout
// (ERR_TIMEOUT), a denied address (ERR_DENIED); anything else is ERR_IO,
// whatever the error it wraps.
func (b *Binding) callError(ctx context.Context, err error) error {
	switch {
	case b.ctx.Err() != nil:
		return fmt.Errorf("%w: %v", b.ctx.Err(), err)
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: outbound call timed out: %v", context.DeadlineExceeded, err)
	case errors.Is(err, abi.ErrNotGranted):
		return fmt.Errorf("%w: %v", abi.ErrNotGranted, err)
	}
	return ioError{err}
}

// ioError hides the error it wraps from errors.Is, so that abi.ErrorCode
// maps it to ERR_IO (a reset connection would read as ERR_CLOSED, which
// the extension keeps for the exchange's own end).
type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }
