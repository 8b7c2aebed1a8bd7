package events

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"chat", true},
		{"chat.room1", true},
		{"a-b_c:d/e#f@g", true},
		{"~!\"$%&'()+,;<=>^`{|}", true},
		{strings.Repeat("x", MaxNameBytes), true},
		{"", false},
		{strings.Repeat("x", MaxNameBytes+1), false},
		{"chat room", false},
		{"chat\tx", false},
		{"chat\n", false},
		{"caf\u00e9", false},
		{"\x7f", false},
		{"chat.*", false},
		{"chat?", false},
		{"[chat]", false},
		{`chat\x`, false},
		// segments are non-empty
		{"a.b.c", true},
		{"chat.", false},
		{".chat", false},
		{"chat..x", false},
		{".", false},
		{"..", false},
		{"a.b.", false},
		{strings.Repeat("x", MaxNameBytes-1) + ".", false},
	} {
		err := CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, not ErrBadName", tc.name, err)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"*", true},
		{"chat.*", true},
		{"chat.?x.*", true},
		{"", false},
		{"chat .*", false},
		{"chat.[ab]", false},
		{`chat\.x`, false},
		{".*", false},
		{"chat..*", false},
		{"chat.*.", false},
		{"*.", false},
		{"*..x", false},
	} {
		if err := CheckPattern(tc.p); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadName)) {
			t.Errorf("CheckPattern(%q) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestChannelAllowed(t *testing.T) {
	for _, tc := range []struct {
		pattern, channel string
		want             bool
	}{
		// any
		{"*", "chat", true},
		{"*", "chat.room.x", true},
		// exact
		{"chat", "chat", true},
		{"chat", "chat.room", false},
		{"chat", "cha", false},
		{"chat.room", "chat.room", true},
		// prefix: BASE itself and everything below, at any depth
		{"chat.*", "chat", true},
		{"chat.*", "chat.room", true},
		{"chat.*", "chat.room.x", true},
		{"chat.*", "chatroom", false},
		{"chat.*", "chat.", false}, // not a name: empty segment
		{"chat.*", "chat..x", false},
		{"chat.*", "chat.a.", false},
		{"a.b.*", "a.b.c.d", true},
		{"a.b.*", "a.bc", false},
		// glob: '*' does not cross '.'
		{"chat.*.log", "chat.a.log", true},
		{"chat.*.log", "chat..log", false}, // not a name: empty segment
		{"chat.*.log", "chat.a.b.log", false},
		{"*.x", "a.x", true},
		{"*.x", "a.b.x", false},
		{"*.*", "a.b", true},
		{"*.*", "a", false},
		{"*.x", "x", false},
		{"*.x", ".x", false},
		{"*.*", "a.b.c", false},
		{"room-*", "room-1", true},
		{"room-*", "room-", true}, // '*' may match nothing inside a segment
		{"room-*", "room-1.x", false},
		{"*-log", "a-b-log", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*b*c.d", "abbbc.d", true},
		{"?", "a", true},
		{"?", "", false},
		{"?", "ab", false},
		{"??.x", "ab.x", true},
		{"?.x", "..x", false},
		{"c?at", "chat", true},
		{"c?t", "chat", false},
		{"ch?t", "chat", true},
		{"*x*", "x", true},
		{"*x*", "abc", false},
		// invalid patterns and names match nothing
		{"", "chat", false},
		{"chat.[a]", "chat.a", false},
		{"chat room", "chat room", false},
		{"*", "", false},
		{"*", "bad name", false},
	} {
		if got := ChannelAllowed([]string{tc.pattern}, tc.channel); got != tc.want {
			t.Errorf("ChannelAllowed([%q], %q) = %v, want %v", tc.pattern, tc.channel, got, tc.want)
		}
	}
	if ChannelAllowed(nil, "chat") {
		t.Error("no patterns allowed a channel")
	}
	if !ChannelAllowed([]string{"bad pattern", "news", "chat.*"}, "chat.x") {
		t.Error("a later pattern was not consulted")
	}
}
