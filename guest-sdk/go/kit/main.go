// Command kit is the Go SDK's conformance kit module: one handler that
// implements every case of guest-sdk/CONFORMANCE.md with the SDK's public
// API only (the extension cases are in ext.go). The case is PATH_INFO; without PATH_INFO (the line transport)
// the module behaves as /echo. Build it with
//
//	guest-sdk/go/build-kit.sh OUT.wasm
//
// and test it with go test ./guest-sdk/conformance/.
package main

import (
	"errors"
	"io"
	"strconv"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.HandleStream(serve) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func serve(x *bubble.Exchange) error {
	path, ok := x.Env("PATH_INFO")
	if !ok {
		path = "/echo"
	}
	switch path {
	case "/env":
		return env(x)
	case "/keys":
		return keys(x)
	case "/echo":
		return echo(x)
	case "/status":
		return status(x)
	case "/log":
		bubble.Log(bubble.LevelDebug, "kit debug")
		bubble.Log(bubble.LevelInfo, "kit info")
		bubble.Log(bubble.LevelWarn, "kit warn")
		bubble.Log(bubble.LevelError, "kit error")
		return write(x, "logged")
	case "/fail":
		// The SDK's error path: the error is logged and bubble_handle
		// returns non-zero.
		return errors.New("kit: /fail asks the exchange to fail")
	case "/trap":
		panic("kit: /trap asks the instance to abort")
	case "/committed":
		return committed(x)
	case "/invalid":
		return invalid(x)
	case "/flush":
		return flush(x)
	case "/park":
		return park(x)
	case "/pubsub", "/signal", "/kv", "/dial", "/http":
		return extension(x, path)
	}
	if err := x.SetStatus(404); err != nil {
		return err
	}
	return write(x, "kit: unknown case "+path)
}

// env responds with the value of the key named by QUERY_STRING.
func env(x *bubble.Exchange) error {
	key, _ := x.Env("QUERY_STRING")
	v, ok := x.Env(key)
	if !ok {
		if err := x.SetStatus(404); err != nil {
			return err
		}
		return write(x, "missing")
	}
	return write(x, v)
}

// keys lists every env key, one a line, in the order the SDK returns them.
func keys(x *bubble.Exchange) error {
	var out []byte
	for _, k := range x.EnvKeys() {
		out = append(out, k...)
		out = append(out, '\n')
	}
	_, err := x.Write(out)
	return err
}

// buf is reused by every exchange of an instance; exchanges never overlap.
var buf [32 << 10]byte

// echo streams the input back, chunk by chunk, with its Content-Type.
func echo(x *bubble.Exchange) error {
	if ct, ok := x.Env("CONTENT_TYPE"); ok {
		if err := x.SetHeader("Content-Type", ct); err != nil {
			return err
		}
	}
	for {
		n, err := x.Read(buf[:])
		if n > 0 {
			if _, werr := x.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// status sets the status named by QUERY_STRING and two X-Kit values.
func status(x *bubble.Exchange) error {
	q, _ := x.Env("QUERY_STRING")
	code, err := strconv.Atoi(q)
	if err != nil {
		return err
	}
	if err := x.SetStatus(code); err != nil {
		return err
	}
	if err := x.SetHeader("X-Kit", "a"); err != nil {
		return err
	}
	if err := x.AddHeader("X-Kit", "b"); err != nil {
		return err
	}
	return write(x, "ok")
}

// committed checks that the status cannot change after the first write.
func committed(x *bubble.Exchange) error {
	if err := write(x, "x"); err != nil {
		return err
	}
	err := x.SetStatus(500)
	switch {
	case errors.Is(err, bubble.ErrCommitted):
		return write(x, "committed-ok")
	case err == nil:
		return write(x, "committed-wrong: no error")
	}
	return write(x, "committed-wrong: "+err.Error())
}

// invalid checks that a header name that is not a token is refused.
func invalid(x *bubble.Exchange) error {
	err := x.SetHeader("bad name", "v")
	switch {
	case errors.Is(err, bubble.ErrInvalid):
		return write(x, "invalid-ok")
	case err == nil:
		return write(x, "invalid-wrong: no error")
	}
	return write(x, "invalid-wrong: "+err.Error())
}

// flush sends "first" before reading the input, then echoes the input.
func flush(x *bubble.Exchange) error {
	if err := write(x, "first"); err != nil {
		return err
	}
	if err := x.Flush(); err != nil {
		return err
	}
	body, err := io.ReadAll(x)
	if err != nil {
		return err
	}
	_, err = x.Write(body)
	return err
}

func write(x *bubble.Exchange, s string) error {
	_, err := io.WriteString(x, s)
	return err
}

// park parks the exchange twice for 1 ms, keeping "kit" in the stash; each
// resumed run reports its count, why it woke and the stash.
func park(x *bubble.Exchange) error {
	n, wake := bubble.Resumed()
	if n == 0 {
		if err := bubble.ParkTimeout(0); !errors.Is(err, bubble.ErrInvalid) {
			return write(x, "bad")
		}
		if err := x.SetHeader("X-Kit-Park", "1"); err != nil {
			return err
		}
		if err := bubble.Stash([]byte("kit")); err != nil {
			return err
		}
		if err := write(x, "0;"); err != nil {
			return err
		}
		return bubble.ParkTimeout(1)
	}
	state, _ := bubble.State()
	if err := write(x, strconv.Itoa(n)+":"+string(wake)+":"+string(state)+";"); err != nil {
		return err
	}
	if n < 2 {
		return bubble.ParkTimeout(1)
	}
	return nil
}
