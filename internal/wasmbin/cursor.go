package wasmbin

import (
	"fmt"
	"unicode/utf8"
)

// Error is why Parse refused a binary: the section it was reading and the
// byte offset, in the whole binary, where reading failed.
type Error struct {
	// Section is the section being read ("code", `custom "name"`), or
	// "header" or "module" for what is outside any one section.
	Section string
	// Offset is the byte offset in the binary.
	Offset int
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	where := e.Section
	if where != "header" && where != "module" {
		where += " section"
	}
	return fmt.Sprintf("%s at byte %d: %s", where, e.Offset, e.Reason)
}

// cursor reads one section (or subsection) of a binary. Positions are
// offsets in the whole binary, so errors report them directly. The first
// error sticks: after it every read returns a zero value, and callers stop
// their loops at the next check of err.
type cursor struct {
	b       []byte // the whole binary
	pos     int
	end     int // end of what this cursor may read
	section string
	err     *Error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = &Error{Section: c.section, Offset: c.pos, Reason: fmt.Sprintf(format, args...)}
	}
}

// ok reports whether no error has happened yet.
func (c *cursor) ok() bool { return c.err == nil }

func (c *cursor) left() int { return c.end - c.pos }

func (c *cursor) byte() byte {
	if c.err != nil {
		return 0
	}
	if c.pos >= c.end {
		c.fail("unexpected end of section")
		return 0
	}
	v := c.b[c.pos]
	c.pos++
	return v
}

func (c *cursor) u32() uint32 {
	if c.err != nil {
		return 0
	}
	v, n, err := readU32(c.b[c.pos:c.end])
	if err != nil {
		c.fail("%v", err)
		return 0
	}
	c.pos += n
	return v
}

func (c *cursor) s32() int32 {
	if c.err != nil {
		return 0
	}
	v, n, err := readS32(c.b[c.pos:c.end])
	if err != nil {
		c.fail("%v", err)
		return 0
	}
	c.pos += n
	return v
}

func (c *cursor) s64() int64 {
	if c.err != nil {
		return 0
	}
	v, n, err := readS64(c.b[c.pos:c.end])
	if err != nil {
		c.fail("%v", err)
		return 0
	}
	c.pos += n
	return v
}

// take returns the next n bytes, without copying them. An error is
// reported at offset at, where the length was read.
func (c *cursor) take(n uint32, what string, at int) []byte {
	if c.err != nil {
		return nil
	}
	if left := c.left(); uint64(n) > uint64(left) {
		c.pos = at
		c.fail("%s of %d bytes runs past the end of the section (%d bytes left)", what, n, left)
		return nil
	}
	b := c.b[c.pos : c.pos+int(n)]
	c.pos += int(n)
	return b
}

// name reads a length-prefixed UTF-8 name.
func (c *cursor) name(what string) string {
	start := c.pos
	b := c.take(c.u32(), what, start)
	if c.err == nil && !utf8.Valid(b) {
		c.pos = start
		c.fail("%s is not valid UTF-8", what)
		return ""
	}
	return string(b)
}

// count reads a vector's length and checks that the bytes left can hold
// that many elements of at least minSize bytes each, so that nothing is
// allocated or looped over for elements that are not there.
func (c *cursor) count(what string, minSize int) int {
	start := c.pos
	n := c.u32()
	if c.err != nil {
		return 0
	}
	if left := c.left(); uint64(n)*uint64(minSize) > uint64(left) {
		c.pos = start
		c.fail("%d %s do not fit in the %d bytes left", n, what, left)
		return 0
	}
	return int(n)
}

// sub returns a cursor over the next n bytes, named section, and moves
// past them; at is where n was read. On error the returned cursor holds it.
func (c *cursor) sub(n uint32, section string, at int) cursor {
	start := c.pos
	if c.take(n, section, at) == nil && c.err != nil {
		return cursor{b: c.b, pos: start, end: start, section: section, err: c.err}
	}
	return cursor{b: c.b, pos: start, end: start + int(n), section: section}
}

// done fails unless the cursor has read exactly up to its end.
func (c *cursor) done() {
	if c.err == nil && c.pos != c.end {
		c.fail("section size mismatch: %d bytes left unread", c.end-c.pos)
	}
}
