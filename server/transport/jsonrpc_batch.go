package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Defaults of the jsonrpc transport's batch limits.
const (
	// DefaultMaxBatch is Options.MaxBatch's default: the most calls one
	// batch may hold.
	DefaultMaxBatch = 100
	// DefaultBatchConcurrency is Options.BatchConcurrency's default: the
	// most calls of one batch that run at once.
	DefaultBatchConcurrency = 8
)

// rpcSink receives a response while it is made: a connection's buffered
// writer, flushed whenever the next part is not ready yet, or a buffer.
type rpcSink interface {
	io.Writer
	Flush() error
}

// bufferSink is the rpcSink of a response sent whole (over HTTP).
type bufferSink struct{ bytes.Buffer }

func (*bufferSink) Flush() error { return nil }

// handle answers one request or batch, writing the response to w; it
// reports whether there was one.
func (t *jsonrpc) handle(ctx context.Context, outer server.Env, payload []byte, w rpcSink) bool {
	payload = trimJSONSpace(payload)
	if !json.Valid(payload) {
		w.Write(rpcErrorResponse(nullID, rpcParseError, "", jsonString(jsonSyntaxError(payload))))
		return true
	}
	if payload[0] != '[' {
		r := t.call(ctx, outer, payload)
		if r.stopped {
			t.logStopped(ctx, 1, 0, 1, 0)
		}
		w.Write(r.resp)
		return r.resp != nil
	}
	batch, over := splitBatch(payload, t.opts.MaxBatch)
	switch {
	case over:
		t.opts.Logger.Warn("jsonrpc batch refused: too many calls", "listener", outer[abi.EnvListener], "limit", t.opts.MaxBatch)
		w.Write(rpcErrorResponse(nullID, rpcInvalidRequest,
			fmt.Sprintf("Invalid Request: batch too large (limit %d calls)", t.opts.MaxBatch), nil))
		return true
	case len(batch) == 0:
		w.Write(rpcErrorResponse(nullID, rpcInvalidRequest, "", jsonString("empty batch")))
		return true
	}
	return t.runBatch(ctx, outer, batch, w)
}

// splitBatch returns the elements of payload, a valid JSON array, or over
// when it has more than max: then it stops counting.
func splitBatch(payload []byte, max int) (elems []json.RawMessage, over bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if _, err := dec.Token(); err != nil { // '['
		return nil, false
	}
	for dec.More() {
		if len(elems) == max {
			return nil, true
		}
		var e json.RawMessage
		if err := dec.Decode(&e); err != nil {
			break // cannot happen: payload is valid
		}
		elems = append(elems, e)
	}
	return elems, false
}

// runBatch serves the calls of a batch, at most BatchConcurrency at once
// and at most 2*BatchConcurrency ahead of the first unanswered one, and
// writes their responses to w as one JSON array in request order, each
// as soon as it and those before it are done. w is flushed whenever the
// next response is not ready yet, so a client that has gone away is
// noticed by a write that fails, and a client that stays gets its answers
// as they come.
//
// The batch stops when ctx ends (the client went away, the request timed
// out) or a write fails: calls not started yet never start, and are
// answered (if the answer can still be sent) with an Internal error saying
// they did not run; calls running are cancelled. One log line sums up a
// stopped batch, rather than one per call. runBatch reports whether it
// wrote anything.
func (t *jsonrpc) runBatch(ctx context.Context, outer server.Env, batch []json.RawMessage, w rpcSink) bool {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n := len(batch)
	results := make([]callResult, n)
	notRun := make([]bool, n)
	ready := make([]chan struct{}, n) // closed once results[i] is set
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	// A call starts when fewer than BatchConcurrency run and fewer than
	// 2*BatchConcurrency are started and not yet written: a call whose
	// response cannot be written (the client is gone) is never far ahead,
	// and neither are the responses held in memory.
	window := make(chan struct{}, 2*t.opts.BatchConcurrency)
	go func() {
		sem := make(chan struct{}, t.opts.BatchConcurrency)
		for i, req := range batch {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() == nil {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
				}
			}
			if ctx.Err() != nil {
				for j := i; j < n; j++ {
					results[j], notRun[j] = notRunResult(ctx, batch[j]), true
					close(ready[j])
				}
				return
			}
			go func() {
				defer func() { <-sem; close(ready[i]) }()
				results[i] = t.call(ctx, outer, req)
			}()
		}
	}()

	var (
		wrote            bool
		werr             error
		stopped, skipped int
	)
	write := func(parts ...[]byte) {
		for _, p := range parts {
			if werr != nil {
				return
			}
			if _, werr = w.Write(p); werr != nil {
				cancel(werr)
			}
		}
	}
	for i := range n {
		select {
		case <-ready[i]:
		default:
			if wrote && werr == nil {
				if werr = w.Flush(); werr != nil {
					cancel(werr)
				}
			}
			<-ready[i]
		}
		r := results[i]
		switch {
		case notRun[i]:
			skipped++
		case r.stopped:
			stopped++
		}
		if !notRun[i] {
			<-window
		}
		if r.resp == nil {
			continue
		}
		sep := []byte(",")
		if !wrote {
			sep = []byte("[")
		}
		write(sep, r.resp)
		wrote = true
	}
	if wrote {
		write([]byte("]"))
	}
	if stopped+skipped > 0 {
		t.logStopped(ctx, n, n-stopped-skipped, stopped, skipped)
	}
	return wrote
}

// notRunResult answers a call that the stopped batch did not start.
func notRunResult(ctx context.Context, raw []byte) callResult {
	req, id, problem := parseRequest(raw)
	switch {
	case problem != "":
		return callResult{resp: rpcErrorResponse(id, rpcInvalidRequest, "", jsonString(problem))}
	case req.id == nil:
		return callResult{}
	}
	why := "call not run: the request was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "call not run: the request timed out"
	}
	return callResult{resp: rpcErrorResponse(id, rpcInternalError, "", jsonString(why))}
}

// logStopped writes the one line that sums up a request whose calls were
// cut short because ctx ended. The transport's logger says which listener
// or route it serves.
func (t *jsonrpc) logStopped(ctx context.Context, calls, finished, cancelled, notStarted int) {
	t.opts.Logger.Info("jsonrpc request stopped", "calls", calls,
		"finished", finished, "cancelled", cancelled, "not_started", notStarted, "cause", context.Cause(ctx))
}
