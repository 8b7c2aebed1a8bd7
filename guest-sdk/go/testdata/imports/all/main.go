// Command all calls every extension function, so it imports all of them.
package main

import bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"

func init() {
	bubble.HandleStream(func(x *bubble.Exchange) error {
		id, err := bubble.Subscribe("c")
		if err != nil {
			return err
		}
		bubble.Publish("c", []byte("m"))
		msg, _ := bubble.Fetch(id, 0)
		bubble.Unsubscribe(id)
		bubble.SendSignal("s", msg)
		p, _ := bubble.WaitSignal("s", 0)
		bubble.KVSet("k", p, 0)
		bubble.KVGet("k")
		bubble.KVDelete("k")
		bubble.Call("w", p, 0)
		bubble.CallStatus()
		if resp, err := bubble.FetchHTTP(&bubble.HTTPRequest{URL: "https://api.example.com/"}); err == nil {
			resp.Body.Read(p)
			resp.Body.Close()
		}
		bubble.Stash(p)
		bubble.State()
		bubble.WakePayload()
		bubble.ParkSignal("s", 1)
		bubble.Unpark()
		bubble.ParkTimeout(1)
		bubble.Unpark()
		return bubble.ParkMessage(id, 1)
	})
}

func main() {}
