package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a configuration file. Its Error method
// prints "FILE:LINE: KEY: MSG", leaving out LINE when it is 0 (the problem
// has no single place, such as a missing [[route]]) and KEY when it is
// empty (some TOML syntax errors).
type Error struct {
	// File is the name passed to Parse, or the path passed to Load.
	File string
	// Line is the 1-based line the problem is on; 0 if none applies.
	Line int
	// Key is the TOML path of the offending key, with a 1-based index on
	// arrays of tables: "route[2].match.PATH_INFO". For a TOML syntax
	// error it is the TOML library's last parsed key, which has no array
	// indexes ("route.name"), or empty.
	Key string
	// Msg says what is wrong, and for enumerations which values are allowed.
	Msg string
}

// Error returns "FILE:LINE: KEY: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one configuration file, ordered by
// line (problems without a line last). Parse and Load return a non-empty
// ErrorList, never an empty one, as their error; errors.As can extract it,
// or through Unwrap the first *Error.
type ErrorList []*Error

// Error returns the problems one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortErrors orders l by line, lineless problems last, keeping the order
// in which problems on the same line were found.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Line, l[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
