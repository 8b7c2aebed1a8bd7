package bubble

import (
	"io"
	"strings"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Exchange is one unit of work: the environment, the input stream and the
// output with its status and headers. It is an io.Reader and an io.Writer.
// An Exchange is valid only until the handler that received it returns.
type Exchange struct {
	scratch []byte // reused for env lookups
	eof     bool
	session *Session // loaded by LoadSession
}

// buf returns the scratch buffer, at least n bytes long.
func (x *Exchange) buf(n int) []byte {
	if len(x.scratch) < n {
		x.scratch = make([]byte, max(n, 256))
	}
	return x.scratch
}

// Env returns the value of the env key and whether it exists. ENV.md in the
// bubblewasm repository lists the keys, such as "REQUEST_METHOD".
func (x *Exchange) Env(key string) (string, bool) {
	b := x.buf(0)
	for {
		n := host.Current.EnvGet(key, b)
		if n < 0 {
			return "", false
		}
		if int(n) <= len(b) {
			return string(b[:n]), true
		}
		b = x.buf(int(n))
	}
}

// EnvKeys returns every env key in ascending byte order.
func (x *Exchange) EnvKeys() []string {
	b := x.buf(0)
	for {
		n := host.Current.EnvKeys(b)
		if n <= 0 {
			return nil
		}
		if int(n) <= len(b) {
			return strings.Split(string(b[:n-1]), "\x00")
		}
		b = x.buf(int(n))
	}
}

// Environ returns the whole env as a new map. It asks the host once
// (env_all), and the keys and values share one string.
func (x *Exchange) Environ() map[string]string {
	b := x.buf(0)
	for {
		n := host.Current.EnvAll(b)
		if n <= 0 {
			return map[string]string{}
		}
		if int(n) <= len(b) {
			return parseEnvAll(string(b[:n]))
		}
		b = x.buf(int(n))
	}
}

// parseEnvAll reads env_all's pairs: key, NUL, the value's length (u32
// little-endian), the value. It stops at the first malformed pair.
func parseEnvAll(all string) map[string]string {
	m := make(map[string]string, envPairs(all, nil))
	envPairs(all, m)
	return m
}

// envPairs walks the pairs of all, storing each in m when m is not nil,
// and returns how many it found.
func envPairs(all string, m map[string]string) int {
	pairs := 0
	for all != "" {
		k, rest, ok := strings.Cut(all, "\x00")
		if !ok || len(rest) < 4 {
			break
		}
		n := uint64(rest[0]) | uint64(rest[1])<<8 | uint64(rest[2])<<16 | uint64(rest[3])<<24
		if n > uint64(len(rest)-4) {
			break
		}
		if m != nil {
			m[k] = rest[4 : 4+n]
		}
		pairs++
		all = rest[4+n:]
	}
	return pairs
}

// Read reads input into p. It returns io.EOF at the end of the input and an
// *Error (such as "bubble: read: ERR_TIMEOUT") when the host reports one.
func (x *Exchange) Read(p []byte) (int, error) {
	if x.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := host.Current.Read(p)
	switch {
	case n > 0:
		return int(n), nil
	case n == 0:
		x.eof = true
		return 0, io.EOF
	}
	return 0, callError("read", n)
}

// Write writes p to the output. The first Write commits the status and
// headers. The host may buffer output until Flush or the end of the exchange.
func (x *Exchange) Write(p []byte) (int, error) {
	if n := host.Current.Write(p); n < 0 {
		return 0, callError("write", n)
	}
	return len(p), nil
}

// Flush commits the status and headers and pushes buffered output to the
// peer now, which makes an HTTP response stream.
func (x *Exchange) Flush() error {
	if n := host.Current.Flush(); n < 0 {
		return callError("flush", n)
	}
	return nil
}

// SetStatus sets the response status, 200 to 999; the default is 200. It
// fails with ErrCommitted after the first Write or Flush and with ErrInvalid
// for a code out of range.
func (x *Exchange) SetStatus(code int) error {
	if int(int32(code)) != code {
		return callError("set_status", int32(ErrInvalid))
	}
	if n := host.Current.SetStatus(int32(code)); n < 0 {
		return callError("set_status", n)
	}
	return nil
}

// SetHeader replaces every value of the response header name with value.
// It fails with ErrInvalid if name is not an RFC 9110 token or value holds
// CR, LF or NUL, and with ErrCommitted after the first Write or Flush.
func (x *Exchange) SetHeader(name, value string) error {
	if n := host.Current.SetHeader(name, value); n < 0 {
		return callError("set_header", n)
	}
	return nil
}

// AddHeader appends value to the response header name; it fails like
// SetHeader.
func (x *Exchange) AddHeader(name, value string) error {
	if n := host.Current.AddHeader(name, value); n < 0 {
		return callError("add_header", n)
	}
	return nil
}
