package spec

import "strings"

// Rules of channel names, signal names and key-value namespaces, and of
// the grant patterns that name what a route may use (ABI.md, Extensions).

// NameRule is a rule of names and grant patterns, as CheckName and
// CheckPattern report the one a name breaks.
type NameRule uint8

// The rules a name or pattern can break, in the order they are checked.
const (
	// NameValid: the name breaks no rule.
	NameValid NameRule = iota
	// NameEmpty: the name is empty.
	NameEmpty
	// NameTooLong: the name is longer than MaxNameBytes.
	NameTooLong
	// NameBadByte: a byte is not printable ASCII (0x21–0x7E), such as a
	// space or a control character.
	NameBadByte
	// NameForbiddenChar: a character the name may not hold: one of the
	// glob characters * ? [ ] \ in a name, one of [ ] \ in a pattern.
	NameForbiddenChar
	// NameEmptySegment: a dot at the start or the end, or two dots in a
	// row; dots separate non-empty segments.
	NameEmptySegment
)

// CheckName reports which rule name breaks, and at which byte offset (0 for
// NameEmpty and NameTooLong); NameValid if none. A valid channel name,
// signal name or key-value namespace is 1 to MaxNameBytes bytes of
// printable ASCII (0x21–0x7E, so no spaces or control characters) without
// any of the glob characters * ? [ ] \, in one or more non-empty segments
// separated by single dots ("chat", "chat.room1"; not "chat.", ".chat" or
// "chat..x"). The segments are the levels of a hierarchy that grant
// patterns (Granted) match. Since a name holds no glob character, it can
// never be mistaken for a pattern.
func CheckName(name string) (rule NameRule, at int) {
	return check(name, "*?[]\\")
}

// CheckPattern is CheckName for a grant pattern: the same rules, except
// that '*' and '?' are allowed ('[', ']' and '\' are not: there are no
// character classes or escapes).
func CheckPattern(p string) (rule NameRule, at int) {
	return check(p, "[]\\")
}

// ValidName reports whether name breaks none of CheckName's rules.
func ValidName(name string) bool {
	rule, _ := CheckName(name)
	return rule == NameValid
}

func check(s, forbidden string) (NameRule, int) {
	switch {
	case s == "":
		return NameEmpty, 0
	case len(s) > MaxNameBytes:
		return NameTooLong, 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return NameBadByte, i
		}
		if strings.IndexByte(forbidden, c) >= 0 {
			return NameForbiddenChar, i
		}
		if c == '.' && (i == 0 || i == len(s)-1 || s[i+1] == '.') {
			return NameEmptySegment, i
		}
	}
	return NameValid, 0
}

// Granted reports whether name is valid (CheckName) and matches at least
// one of patterns, a route's grant ("this route may publish to chat.*").
// Names and patterns are dot-separated non-empty segments; the pattern
// forms are those of route patterns with '.' as the separator instead of
// '/':
//
//   - "*" alone matches every name.
//   - exact: no '*' or '?'; the name must be equal.
//   - prefix: "BASE.*" where BASE has no '*' or '?'; matches BASE itself and
//     every name below it, one or more whole segments deeper ("chat.*"
//     matches "chat", "chat.a", "chat.a.b"; not "chatroom").
//   - glob: anything else, matched segment by segment: the name has as
//     many segments as the pattern, and each matches its pattern segment,
//     in which '*' matches any run of characters (possibly empty, never a
//     '.'), '?' matches one character (not '.') and every other character
//     matches itself. A segment that is "*" alone so matches exactly one
//     segment: "chat.*.log" matches "chat.a.log" but not "chat.a.b.log",
//     and "*.x" matches "a.x" but not "a.b.x" or "x".
//
// An invalid pattern (see CheckPattern) matches nothing.
func Granted(patterns []string, name string) bool {
	if !ValidName(name) {
		return false
	}
	for _, p := range patterns {
		if rule, _ := CheckPattern(p); rule == NameValid && matchPattern(p, name) {
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
