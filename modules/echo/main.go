// Command echo is a bubblewasm handler that streams its input back, with the
// request's Content-Type. It holds one 32 KiB buffer however large the input
// is. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm ./modules/echo
package main

import (
	"io"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.HandleStream(echo) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

// buf is reused by every exchange of an instance; exchanges never overlap.
var buf [32 << 10]byte

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
