// Command session uses sessions, so it imports bubblewasm_kv_v1 and no other
// extension.
package main

import bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

func init() {
	bubble.HandleStream(func(x *bubble.Exchange) error {
		s, err := bubble.LoadSession(x)
		if err != nil {
			return err
		}
		s.Set("seen", "yes")
		return s.Save(60_000)
	})
}

func main() {}
