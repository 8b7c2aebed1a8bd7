package fakehost

import (
	"testing"

	"github.com/bubblewasm/bubblewasm/server/events"
)

// The fake checks names and grants as the server does.
func TestNamesMatchServer(t *testing.T) {
	names := []string{"", "a", "chat", "chat.a", "chat.a.b", "chat.a.log", "chat.a.b.log", "a.x", "a.b.x",
		"x y", "a*", "a?", "a[", "a]", `a\`, "\x7f", "ü", "news", "news.sports", "c.ab.d",
		"chat.", ".chat", "chat..x", ".", "x.", "chat..log"}
	patterns := []string{"*", "chat", "chat.*", "chat.*.log", "*.x", "a?", "c.a*.d", "c.*b.?", "news"}
	for _, n := range names {
		if got, want := validName(n), events.CheckName(n) == nil; got != want {
			t.Errorf("validName(%q) = %v, server says %v", n, got, want)
		}
		for _, p := range patterns {
			got := validName(n) && allowed([]string{p}, n)
			if want := events.ChannelAllowed([]string{p}, n); got != want {
				t.Errorf("%q under %q: allowed %v, server says %v", n, p, got, want)
			}
		}
	}
}
