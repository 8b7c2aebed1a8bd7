package chat_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestChatSurvivesCookielessFlood is the lock: every GET / without
// a cookie stored a session for a day, so that after about 11,000 of them
// the namespace was full and every new visitor got 500 for a day. On
// bubble.toml as written (eviction "soonest-expiry", short-lived visitor
// sessions, the page route's subscription cap), with the namespace cut to
// 200 keys and the page route's cap to 50 so that the test floods past both
// quickly, three times as many cookieless page loads as the namespace
// holds are all served, a participant who joined before the flood keeps
// its session, and a new visitor after it loads the page, pulls and
// pushes.
func TestChatSurvivesCookielessFlood(t *testing.T) {
	const (
		maxKeys = 200
		pageCap = 50
		flood   = 3 * maxKeys
	)
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base := startChat(t, engine, func(cfg *config.Config) {
				if cfg.KV.Eviction != config.EvictSoonestExpiry {
					t.Fatalf("bubble.toml: [kv] eviction = %q, want %q", cfg.KV.Eviction, config.EvictSoonestExpiry)
				}
				cfg.KV.MaxKeys = maxKeys
				for i, r := range cfg.Routes {
					if r.Name == "page" {
						cfg.Routes[i].Guest.MaxSubscriptions = pageCap
					}
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			tr := &http.Transport{MaxIdleConnsPerHost: 16}
			defer tr.CloseIdleConnections()

			// A participant joins before the flood: its page, a pull that
			// gets its own first message.
			old := newParticipant(t, base, tr)
			if err := old.open(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := old.push(ctx, "before"); err != nil || n != 1 {
				t.Fatalf("push before the flood: %d, %v", n, err)
			}
			if msgs, rejoined, err := old.pull(ctx); err != nil || rejoined || strings.Join(msgs, "|") != old.me+": before" {
				t.Fatalf("pull before the flood: %q, %v, %v", msgs, rejoined, err)
			}

			// The flood: cookieless page loads, 8 at a time.
			statuses := make(chan int, flood)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					c := &http.Client{Transport: tr, Timeout: time.Minute} // no jar: no cookie
					for i := w; i < flood; i += 8 {
						resp, err := c.Get(base + "/")
						if err != nil {
							statuses <- 0
							continue
						}
						resp.Body.Close()
						statuses <- resp.StatusCode
					}
				})
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			if count[200] != flood {
				t.Fatalf("cookieless page loads: %v, want all %d 200", count, flood)
			}

			// The participant is still who it was.
			if n, err := old.push(ctx, "after"); err != nil || n < 1 {
				t.Fatalf("push after the flood: %d, %v", n, err)
			}
			if msgs, rejoined, err := old.pull(ctx); err != nil || rejoined || strings.Join(msgs, "|") != old.me+": after" {
				t.Fatalf("pull after the flood: %q (rejoined %v), %v; want its session kept", msgs, rejoined, err)
			}

			// A new visitor: the page (no subscription at load: the page
			// route is at its cap), a first pull that subscribes, and a
			// message that reaches it.
			visitor := newParticipant(t, base, tr)
			if err := visitor.open(ctx); err != nil {
				t.Fatalf("a new visitor after the flood: %v", err)
			}
			type result struct {
				msgs     []string
				rejoined bool
				err      error
			}
			done := make(chan result, 1)
			go func() {
				msgs, rejoined, err := visitor.pull(ctx)
				done <- result{msgs, rejoined, err}
			}()
			var r result
		push:
			for i := 0; ; i++ {
				if i == 1000 {
					t.Fatal("the visitor's pull got nothing")
				}
				if _, err := old.push(ctx, fmt.Sprint("hello ", i)); err != nil {
					t.Fatal(err)
				}
				if _, _, err := old.pull(ctx); err != nil {
					t.Fatal(err)
				}
				select {
				case r = <-done:
					break push
				case <-time.After(10 * time.Millisecond):
				}
			}
			if r.err != nil || r.rejoined || len(r.msgs) == 0 || !strings.HasPrefix(r.msgs[0], old.me+": hello ") {
				t.Fatalf("the visitor's first pull: %q (rejoined %v), %v", r.msgs, r.rejoined, r.err)
			}
			if n, err := visitor.push(ctx, "hi"); err != nil || n < 2 {
				t.Fatalf("the visitor's push: %d, %v", n, err)
			}
		})
	}
}
