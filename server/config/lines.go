package config

import (
	"sort"
	"strconv"

	"github.com/pelletier/go-toml/v2/unstable"
)

// This file maps key paths to line numbers. BurntSushi/toml records key
// positions only internally (MetaData.keyInfo, unexported, and keyed without
// array indexes, so every [[route]]'s "timeout" shares one entry), so after
// that library has accepted a document, keyLines walks the syntax tree of
// go-toml's parser, whose nodes carry their byte ranges, and resolves each
// key to its path the way TOML does: through table headers, arrays of
// tables, dotted keys, arrays and inline tables. Validity is BurntSushi's
// judgement; the parser here only locates.

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
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// keyLines returns the 1-based line on which each key path of src is
// defined: keys, table headers (for a [[x]] header, "x[n]"), array elements
// ("x[n]") and the keys of inline tables. Tables created implicitly by a
// dotted key or header get the line where they first appear. src must be a
// document the TOML library accepted; on anything else the result is
// merely incomplete.
func keyLines(src string) map[string]int {
	data := []byte(src)
	w := &lineWalker{lines: map[string]int{}, arrays: map[string]int{}}
	for i, c := range data {
		if c == '\n' {
			w.newlines = append(w.newlines, i)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = w.header(e, e.Kind == unstable.ArrayTable)
		case unstable.KeyValue:
			w.keyValue(table, e)
		}
	}
	return w.lines
}

type lineWalker struct {
	newlines []int // offsets of the document's '\n' bytes
	last     int   // line of the last node located, for nodes without a range
	lines    map[string]int
	arrays   map[string]int // array-of-tables path -> headers seen so far
}

// line returns the line n starts on. Arrays carry no range; an array's line
// is that of its first element, or for an empty one, of the last node seen.
func (w *lineWalker) line(n *unstable.Node) int {
	if n.Kind == unstable.Array {
		if c := n.Child(); c != nil {
			return w.line(c)
		}
		return w.last
	}
	off := int(n.Raw.Offset)
	w.last = 1 + sort.Search(len(w.newlines), func(i int) bool { return w.newlines[i] >= off })
	return w.last
}

func (w *lineWalker) define(path string, line int) {
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = line
	}
}

// header resolves the key of a [table] or [[array]] header to a path,
// indexing through arrays of tables, and records lines along the way.
func (w *lineWalker) header(e *unstable.Node, array bool) string {
	it := e.Key()
	it.Next()
	line := w.line(it.Node())
	p := ""
	for ok := true; ok; ok = it.Next() {
		p = keyPath(p, string(it.Node().Data))
		last := it.IsLast()
		if last && array {
			w.define(p, line)
			w.arrays[p]++
			p = indexPath(p, w.arrays[p])
			w.lines[p] = line
			return p
		}
		if n := w.arrays[p]; n > 0 {
			p = indexPath(p, n)
		}
		if last {
			w.lines[p] = line // explicit [p] wins over an implicit earlier mention
		}
		w.define(p, line)
	}
	return p
}

// keyValue records the key of kv, inside the table at path table, and
// what its value holds.
func (w *lineWalker) keyValue(table string, kv *unstable.Node) {
	p := table
	for it := kv.Key(); it.Next(); {
		p = keyPath(p, string(it.Node().Data))
		w.define(p, w.line(it.Node()))
	}
	w.value(p, kv.Value())
}

// value records the lines of the elements of arrays and the keys of inline
// tables below path.
func (w *lineWalker) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			i++
			elem := indexPath(path, i)
			w.define(elem, w.line(it.Node()))
			w.value(elem, it.Node())
		}
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if it.Node().Kind == unstable.KeyValue {
				w.keyValue(path, it.Node())
			}
		}
	}
}
