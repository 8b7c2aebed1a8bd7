package events

import (
	"fmt"
	"strings"
)

// MaxNameBytes is the longest channel name, signal name or KV namespace.
const MaxNameBytes = 256

// globChars may appear in grant patterns but never in names, so a name can
// never be mistaken for a pattern.
const globChars = `*?[]\`

// CheckName reports whether name is a valid channel name, signal name or KV
// namespace: 1 to MaxNameBytes bytes of printable ASCII (0x21–0x7E, so no
// spaces or control characters) without any of the glob characters
// * ? [ ] \, in one or more non-empty segments separated by single dots
// ("chat", "chat.room1"; not "chat.", ".chat" or "chat..x"). The segments
// are the levels of a hierarchy that grant patterns (ChannelAllowed) match.
// The error wraps ErrBadName and says which rule was broken.
func CheckName(name string) error {
	return checkName(name, globChars, "name")
}

// CheckPattern reports whether p is a valid grant pattern for
// ChannelAllowed: the rules of CheckName (non-empty segments included),
// except that '*' and '?' are allowed ('[', ']' and '\' are not: there are
// no character classes or escapes). The error wraps ErrBadName.
func CheckPattern(p string) error {
	return checkName(p, `[]\`, "pattern")
}

func checkName(s, forbidden, what string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrBadName, what)
	case len(s) > MaxNameBytes:
		return fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrBadName, what, len(s), MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%w: %s %q: byte %d (0x%02x) is not printable ASCII or is a space", ErrBadName, what, s, i, c)
		}
		if strings.IndexByte(forbidden, c) >= 0 {
			return fmt.Errorf("%w: %s %q: character %q is not allowed", ErrBadName, what, s, c)
		}
		if c == '.' && (i == 0 || i == len(s)-1 || s[i+1] == '.') {
			return fmt.Errorf("%w: %s %q: empty segment at byte %d (dots separate non-empty segments)", ErrBadName, what, s, i)
		}
	}
	return nil
}

// ChannelAllowed reports whether channel matches at least one of patterns.
// It is meant for grants ("this route may publish to chat.*"). Names and
// patterns are dot-separated non-empty segments (CheckName, CheckPattern);
// the pattern forms are those of server.ParsePattern with '.' as the
// separator instead of '/':
//
//   - "*" alone matches every channel.
//   - exact: no '*' or '?'; the channel must be equal.
//   - prefix: "BASE.*" where BASE has no '*' or '?'; matches BASE itself and
//     every channel below it, one or more whole segments deeper
//     ("chat.*" matches "chat", "chat.a", "chat.a.b"; not "chatroom").
//   - glob: anything else, matched segment by segment: the channel has as
//     many segments as the pattern, and each matches its pattern segment,
//     in which '*' matches any run of characters (possibly empty, never a
//     '.'), '?' matches one character (not '.') and every other character
//     matches itself. A segment that is "*" alone so matches exactly one
//     segment: "chat.*.log" matches "chat.a.log" but not "chat.a.b.log",
//     and "*.x" matches "a.x" but not "a.b.x" or "x".
//
// An invalid pattern (see CheckPattern) matches nothing, and an invalid
// channel name is never allowed. Validate patterns with CheckPattern when
// the grants are loaded so that a typo is reported rather than ignored.
func ChannelAllowed(patterns []string, channel string) bool {
	if CheckName(channel) != nil {
		return false
	}
	for _, p := range patterns {
		if CheckPattern(p) == nil && matchPattern(p, channel) {
			return true
		}
	}
	return false
}

// matchPattern matches a valid name against a valid pattern.
func matchPattern(p, name string) bool {
	switch {
	case p == "*":
		return true
	case !strings.ContainsAny(p, "*?"):
		return p == name
	case strings.HasSuffix(p, ".*") && !strings.ContainsAny(p[:len(p)-2], "*?"):
		base := p[:len(p)-2]
		return name == base || strings.HasPrefix(name, base+".")
	}
	// Glob: the same number of dot-separated segments, each matching.
	for {
		ps, prest, pmore := strings.Cut(p, ".")
		ns, nrest, nmore := strings.Cut(name, ".")
		if !matchSegment(ps, ns) {
			return false
		}
		if !pmore || !nmore {
			return pmore == nmore
		}
		p, name = prest, nrest
	}
}

// matchSegment matches a segment (no '.') against a segment pattern with
// '*' and '?' in linear time: on a mismatch only the last '*' needs to
// absorb one more character, because any earlier '*' could not do better.
func matchSegment(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
