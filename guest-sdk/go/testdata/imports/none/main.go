// Command none uses the core ABI only, and reflect's MethodByName, which
// makes the linker keep every exported method of types that reach an
// interface (here the SDK's Exchange, Request and Session): the extension
// imports must stay out all the same.
package main

import (
	"reflect"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() {
	bubble.HandleStream(func(x *bubble.Exchange) error {
		name, _ := x.Env("QUERY_STRING")
		for _, v := range []any{x, &bubble.Request{}, (*bubble.Session)(nil)} {
			if m := reflect.ValueOf(v).MethodByName(name); m.IsValid() {
				bubble.Log(bubble.LevelInfo, "has "+name)
			}
		}
		_, err := x.Write([]byte("ok"))
		return err
	})
}

func main() {}
