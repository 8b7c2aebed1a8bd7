package events

import (
	"fmt"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// MaxNameBytes is the longest channel name, signal name or KV namespace.
const MaxNameBytes = spec.MaxNameBytes

// CheckName reports whether name is a valid channel name, signal name or KV
// namespace: 1 to MaxNameBytes bytes of printable ASCII (0x21–0x7E, so no
// spaces or control characters) without any of the glob characters
// * ? [ ] \, in one or more non-empty segments separated by single dots
// ("chat", "chat.room1"; not "chat.", ".chat" or "chat..x"). The segments
// are the levels of a hierarchy that grant patterns (ChannelAllowed) match.
// The rules are those of the ABI (spec.CheckName); the error wraps
// ErrBadName and says which rule was broken.
func CheckName(name string) error {
	rule, at := spec.CheckName(name)
	return nameError(name, rule, at, "name")
}

// CheckPattern reports whether p is a valid grant pattern for
// ChannelAllowed: the rules of CheckName (non-empty segments included),
// except that '*' and '?' are allowed ('[', ']' and '\' are not: there are
// no character classes or escapes). The error wraps ErrBadName.
func CheckPattern(p string) error {
	rule, at := spec.CheckPattern(p)
	return nameError(p, rule, at, "pattern")
}

// nameError describes the rule s broke at byte at; what is "name" or
// "pattern".
func nameError(s string, rule spec.NameRule, at int, what string) error {
	switch rule {
	case spec.NameValid:
		return nil
	case spec.NameEmpty:
		return fmt.Errorf("%w: empty %s", ErrBadName, what)
	case spec.NameTooLong:
		return fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrBadName, what, len(s), MaxNameBytes)
	case spec.NameBadByte:
		return fmt.Errorf("%w: %s %q: byte %d (0x%02x) is not printable ASCII or is a space", ErrBadName, what, s, at, s[at])
	case spec.NameForbiddenChar:
		return fmt.Errorf("%w: %s %q: character %q is not allowed", ErrBadName, what, s, s[at])
	case spec.NameEmptySegment:
		return fmt.Errorf("%w: %s %q: empty segment at byte %d (dots separate non-empty segments)", ErrBadName, what, s, at)
	}
	return fmt.Errorf("%w: %s %q", ErrBadName, what, s)
}

// ChannelAllowed reports whether channel matches at least one of patterns.
// It is meant for grants ("this route may publish to chat.*"). Names and
// patterns are dot-separated non-empty segments (CheckName, CheckPattern);
// the pattern forms, those of server.ParsePattern with '.' as the separator
// instead of '/', are documented at spec.Granted, which decides:
//
//   - "*" alone matches every channel;
//   - exact: no '*' or '?'; the channel must be equal;
//   - prefix: "BASE.*" matches BASE itself and every channel below it
//     ("chat.*" matches "chat", "chat.a", "chat.a.b"; not "chatroom");
//   - glob: segment by segment, '*' matching a run of characters within a
//     segment and '?' one ("chat.*.log" matches "chat.a.log", not
//     "chat.a.b.log").
//
// An invalid pattern (see CheckPattern) matches nothing, and an invalid
// channel name is never allowed. Validate patterns with CheckPattern when
// the grants are loaded so that a typo is reported rather than ignored.
func ChannelAllowed(patterns []string, channel string) bool {
	return spec.Granted(patterns, channel)
}
