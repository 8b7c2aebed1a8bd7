package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// Call sends req to target, a worker the route names in its dial table
// (dial = { worker = "unix:///run/worker.sock" } or an amqp:// queue), and
// returns its reply. It waits up to timeoutMs milliseconds (≤ 0: until the
// exchange's deadline). The reply is the same whatever the target's
// transport: over a socket, the line the worker answered, its newline
// included; over AMQP, the reply message's body. A worker's own error
// answer is a reply, not an error: see CallStatus.
//
// Errors: ErrDenied (target not in the route's dial table), ErrTimeout,
// ErrClosed (the worker or broker went away mid-call, or the exchange was
// cancelled), ErrIO (the worker cannot be reached), ErrTooLarge (reply
// over the host's limit), ErrInvalid (a request with a newline inside, to
// a socket target).
func Call(target string, req []byte, timeoutMs int) ([]byte, error) {
	d := host.DialHost()
	buf := scratchBuf()
	n := d.DialCall(target, req, millis(timeoutMs), buf)
	switch {
	case n < 0:
		return nil, callError("dial.call", n)
	case int(n) <= len(buf):
		return append(make([]byte, 0, n), buf[:n]...), nil
	}
	v, m := negotiate(func(buf []byte) int32 { return d.DialReply(buf) })
	if m < 0 {
		return nil, callError("dial.reply", m)
	}
	return v, nil
}

// CallStatus returns the status of the last successful Call's reply in
// this exchange: an AMQP worker's x-bubble-status (200, 400, ...), or 0
// when the target's transport carries none (unix and tcp line targets).
// It is -1 when there is no such reply.
func CallStatus() int {
	n := host.DialHost().DialStatus()
	if n < 0 {
		return -1
	}
	return int(n)
}
