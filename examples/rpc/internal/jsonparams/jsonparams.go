// Package jsonparams reads the params of the example's JSON-RPC methods and
// writes their results without encoding/json, which would add about
// 1.2 MiB to every Go module (and about a second of compile time per
// engine). It knows only what the methods take: arrays of numbers, objects
// whose values are numbers, and empty params. It depends on strconv,
// unicode/utf16 and unicode/utf8 alone.
//
// The transport has checked that params are one JSON array or object (or
// absent); the parser still rejects anything malformed on its own.
package jsonparams

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Number is a JSON number: exact as an int64 when its literal is an integer
// that fits, a float64 otherwise.
type Number struct {
	isInt bool
	i     int64
	f     float64
}

// Int returns the integer n.
func Int(n int64) Number { return Number{isInt: true, i: n} }

// Float returns the number f.
func Float(f float64) Number { return Number{f: f} }

// Float64 returns n as a float64 (rounded if n is a large integer).
func (n Number) Float64() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// Add returns n+m: exact when both are integers and the sum fits an int64,
// a float64 otherwise; ok is false when the sum is not finite.
func (n Number) Add(m Number) (sum Number, ok bool) {
	if n.isInt && m.isInt {
		r := n.i + m.i
		if (n.i^r)&(m.i^r) >= 0 { // no overflow
			return Int(r), true
		}
	}
	f := n.Float64() + m.Float64()
	return Float(f), !math.IsInf(f, 0) && !math.IsNaN(f)
}

// Sub returns n-m, as Add does.
func (n Number) Sub(m Number) (diff Number, ok bool) {
	if n.isInt && m.isInt {
		r := n.i - m.i
		if (n.i^m.i)&(n.i^r) >= 0 { // no overflow
			return Int(r), true
		}
	}
	f := n.Float64() - m.Float64()
	return Float(f), !math.IsInf(f, 0) && !math.IsNaN(f)
}

// AppendJSON appends n as JSON text: integers in decimal, other numbers in
// the shortest form that reads back the same (exponent form outside
// [1e-6, 1e21), as encoding/json does).
func (n Number) AppendJSON(b []byte) []byte {
	if n.isInt {
		return strconv.AppendInt(b, n.i, 10)
	}
	format := byte('f')
	if abs := math.Abs(n.f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, n.f, format, -1, 64)
}

// String returns n as JSON text.
func (n Number) String() string { return string(n.AppendJSON(nil)) }

// Errors of the parsing functions; a method answers any of them with
// Invalid params.
var (
	ErrNotArray  = errors.New("params must be an array")
	ErrNotObject = errors.New("params must be an object")
	ErrNotNumber = errors.New("expected a number")
	ErrDuplicate = errors.New("duplicate member name")
	ErrRange     = errors.New("number out of range")
	ErrSyntax    = errors.New("malformed JSON")
	ErrNotEmpty  = errors.New("params must be absent, [] or {}")
)

// Numbers parses params that must be an array of numbers ([] gives none).
func Numbers(params []byte) ([]Number, error) {
	s := scanner{b: params}
	s.space()
	if !s.eat('[') {
		return nil, ErrNotArray
	}
	var out []Number
	s.space()
	if s.eat(']') {
		return out, s.end()
	}
	for {
		s.space()
		n, err := s.number()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		s.space()
		if s.eat(']') {
			return out, s.end()
		}
		if !s.eat(',') {
			return nil, ErrSyntax
		}
	}
}

// Member is one name/number pair of an object.
type Member struct {
	Name  string
	Value Number
}

// NamedNumbers parses params that must be an object whose values are all
// numbers ({} gives none), in document order. A name that appears twice is
// an error: JSON leaves its meaning open.
func NamedNumbers(params []byte) ([]Member, error) {
	s := scanner{b: params}
	s.space()
	if !s.eat('{') {
		return nil, ErrNotObject
	}
	var out []Member
	s.space()
	if s.eat('}') {
		return out, s.end()
	}
	for {
		s.space()
		name, err := s.str()
		if err != nil {
			return nil, err
		}
		for _, m := range out {
			if m.Name == name {
				return nil, ErrDuplicate
			}
		}
		s.space()
		if !s.eat(':') {
			return nil, ErrSyntax
		}
		s.space()
		n, err := s.number()
		if err != nil {
			return nil, err
		}
		out = append(out, Member{name, n})
		s.space()
		if s.eat('}') {
			return out, s.end()
		}
		if !s.eat(',') {
			return nil, ErrSyntax
		}
	}
}

// Empty checks that params are absent (empty input), [] or {}.
func Empty(params []byte) error {
	s := scanner{b: params}
	s.space()
	switch {
	case s.done():
		return nil
	case s.eat('['):
		s.space()
		if s.eat(']') {
			return s.end()
		}
	case s.eat('{'):
		s.space()
		if s.eat('}') {
			return s.end()
		}
	}
	return ErrNotEmpty
}

// AppendString appends s as a JSON string.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r) // invalid UTF-8 becomes U+FFFD
		i += size
	}
	return append(b, '"')
}

// scanner reads JSON tokens from b.
type scanner struct {
	b   []byte
	pos int
}

func (s *scanner) done() bool { return s.pos >= len(s.b) }

func (s *scanner) space() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// end checks that only white space is left.
func (s *scanner) end() error {
	s.space()
	if !s.done() {
		return ErrSyntax
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

// number reads a JSON number.
func (s *scanner) number() (Number, error) {
	start := s.pos
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.pos < len(s.b) && s.b[s.pos] >= '1' && s.b[s.pos] <= '9':
		s.digits()
	default:
		return Number{}, ErrNotNumber
	}
	isInt := true
	if s.eat('.') {
		isInt = false
		if s.digits() == 0 {
			return Number{}, ErrSyntax
		}
	}
	if s.eat('e') || s.eat('E') {
		isInt = false
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return Number{}, ErrSyntax
		}
	}
	lit := string(s.b[start:s.pos])
	if isInt {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return Number{}, ErrRange // the syntax was checked: only range errors remain
	}
	return Float(f), nil
}

// str reads a JSON string, decoding its escapes.
func (s *scanner) str() (string, error) {
	if !s.eat('"') {
		return "", ErrSyntax
	}
	var out []byte
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '"':
			s.pos++
			return string(out), nil
		case c < 0x20:
			return "", ErrSyntax
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		s.pos++ // the backslash
		if s.done() {
			return "", ErrSyntax
		}
		e := s.b[s.pos]
		s.pos++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", ErrSyntax
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by \uDC00-\uDFFF is one rune;
				// anything else is U+FFFD, as in encoding/json.
				save := s.pos
				if s.eat('\\') && s.eat('u') {
					if r2, ok := s.hex4(); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							out = utf8.AppendRune(out, d)
							continue
						}
					}
				}
				s.pos = save
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", ErrSyntax
		}
	}
	return "", ErrSyntax
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.pos : s.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.pos += 4
	return r, true
}
