package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file maps key paths to line numbers. BurntSushi/toml records key
// positions only internally (MetaData.keyInfo, unexported, and keyed without
// array indexes, so every [[route]]'s "timeout" shares one entry), so after
// the library has accepted a document, keyLines re-reads it with a small
// scanner that understands just enough TOML to see where each key, table
// header and array element starts: comments, table and array-of-tables
// headers, bare, quoted and dotted keys, all four string forms, arrays and
// (possibly multi-line) inline tables. It never judges validity; that is the
// library's job.

// keyPath appends key to the path prefix, quoting key when it is not a bare
// TOML key. Paths name positions in the document and appear in errors.
func keyPath(prefix, key string) string {
	if !isBareKey(key) {
		key = strconv.Quote(key)
	}
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// indexPath names the i'th (1-based) element of the array at path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBareKeyChar(s[i]) {
			return false
		}
	}
	return true
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// keyLines returns the 1-based line on which each key path of src is
// defined: keys, table headers (for a [[x]] header, "x[n]"), array elements
// ("x[n]") and the keys of inline tables. Tables created implicitly by a
// dotted key or header get the line where they first appear. src must be a
// document the TOML library accepted; on anything else the result is
// merely incomplete.
func keyLines(src string) map[string]int {
	s := &lineScanner{src: src, line: 1, lines: map[string]int{}, arrays: map[string]int{}}
	s.document()
	return s.lines
}

type lineScanner struct {
	src    string
	pos    int
	line   int
	lines  map[string]int
	arrays map[string]int // array-of-tables path -> headers seen so far
}

func (s *lineScanner) eof() bool { return s.pos >= len(s.src) }

func (s *lineScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *lineScanner) next() {
	if s.eof() {
		return
	}
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

func (s *lineScanner) define(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

// skipBlank skips spaces and tabs.
func (s *lineScanner) skipBlank() {
	for c := s.peek(); c == ' ' || c == '\t'; c = s.peek() {
		s.next()
	}
}

// skipAll skips whitespace, newlines and comments.
func (s *lineScanner) skipAll() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.next()
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *lineScanner) document() {
	table := ""
	for {
		s.skipAll()
		if s.eof() {
			return
		}
		start := s.pos
		if s.peek() == '[' {
			line := s.line
			s.next()
			array := s.peek() == '['
			if array {
				s.next()
			}
			table = s.header(s.key(), line, array)
			for !s.eof() && s.peek() != '\n' && s.peek() != '#' {
				s.next() // "]" or "]]", blanks
			}
		} else {
			s.keyValue(table)
		}
		if s.pos == start {
			s.next() // cannot happen on valid TOML; guarantees progress
		}
	}
}

// header resolves the key of a [table] or [[array]] header to a path,
// indexing through arrays of tables, and records lines along the way.
func (s *lineScanner) header(keys []string, line int, array bool) string {
	p := ""
	for i, k := range keys {
		p = keyPath(p, k)
		if i == len(keys)-1 && array {
			s.define(p, line)
			s.arrays[p]++
			p = indexPath(p, s.arrays[p])
			s.lines[p] = line
			return p
		}
		if n := s.arrays[p]; n > 0 {
			p = indexPath(p, n)
		}
		if i == len(keys)-1 {
			s.lines[p] = line // explicit [p] wins over an implicit earlier mention
		}
		s.define(p, line)
	}
	return p
}

// keyValue reads "key = value" inside the table at path table.
func (s *lineScanner) keyValue(table string) {
	line := s.line
	p := table
	for _, k := range s.key() {
		p = keyPath(p, k)
		s.define(p, line)
	}
	s.skipBlank()
	if s.peek() == '=' {
		s.next()
	}
	s.skipBlank()
	s.value(p)
}

// key reads a possibly dotted key.
func (s *lineScanner) key() []string {
	var keys []string
	for {
		s.skipBlank()
		keys = append(keys, s.simpleKey())
		s.skipBlank()
		if s.peek() != '.' {
			return keys
		}
		s.next()
	}
}

func (s *lineScanner) simpleKey() string {
	switch s.peek() {
	case '"':
		return s.basicString()
	case '\'':
		s.next()
		start := s.pos
		for !s.eof() && s.peek() != '\'' && s.peek() != '\n' {
			s.next()
		}
		k := s.src[start:s.pos]
		if s.peek() == '\'' {
			s.next()
		}
		return k
	}
	start := s.pos
	for !s.eof() && isBareKeyChar(s.peek()) {
		s.next()
	}
	return s.src[start:s.pos]
}

// basicString reads a single-line "..." string and returns its value.
func (s *lineScanner) basicString() string {
	s.next() // opening quote
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		switch c {
		case '"':
			s.next()
			return b.String()
		case '\n':
			return b.String()
		case '\\':
			s.next()
			e := s.peek()
			s.next()
			switch e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case 'e':
				b.WriteByte(0x1b)
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				end := min(s.pos+n, len(s.src))
				r, err := strconv.ParseUint(s.src[s.pos:end], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					r = utf8.RuneError
				}
				b.WriteRune(rune(r))
				for s.pos < end {
					s.next()
				}
			default:
				b.WriteByte(e) // \" and \\
			}
		default:
			b.WriteByte(c)
			s.next()
		}
	}
	return b.String()
}

// value skips a value, recording the lines of the elements of arrays and
// the keys of inline tables below path.
func (s *lineScanner) value(path string) {
	switch s.peek() {
	case '"', '\'':
		s.skipString()
	case '[':
		s.next()
		for i := 1; ; i++ {
			s.skipAll()
			if s.eof() || s.peek() == ']' {
				s.next()
				return
			}
			start := s.pos
			elem := indexPath(path, i)
			s.define(elem, s.line)
			s.value(elem)
			s.skipAll()
			if s.peek() == ',' {
				s.next()
			}
			if s.pos == start {
				s.next()
			}
		}
	case '{':
		s.next()
		for {
			s.skipAll()
			if s.eof() || s.peek() == '}' {
				s.next()
				return
			}
			start := s.pos
			s.keyValue(path)
			s.skipAll()
			if s.peek() == ',' {
				s.next()
			}
			if s.pos == start {
				s.next()
			}
		}
	default: // number, boolean or date-time
		for !s.eof() && !strings.ContainsRune(",]}#\n", rune(s.peek())) {
			s.next()
		}
	}
}

// skipString skips any of the four TOML string forms.
func (s *lineScanner) skipString() {
	q := s.peek()
	escapes := q == '"'
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.pos:], triple) {
		s.pos += 3
		for !s.eof() {
			if escapes && s.peek() == '\\' {
				s.next()
				s.next()
				continue
			}
			if strings.HasPrefix(s.src[s.pos:], triple) {
				s.pos += 3
				// Up to two quotes may end the content: """a""""" is `a""`.
				for i := 0; i < 2 && s.peek() == q; i++ {
					s.next()
				}
				return
			}
			s.next()
		}
		return
	}
	s.next()
	for !s.eof() && s.peek() != '\n' {
		c := s.peek()
		s.next()
		if escapes && c == '\\' {
			s.next()
		} else if c == q {
			return
		}
	}
}
