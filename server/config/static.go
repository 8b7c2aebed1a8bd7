package config

import (
	"os"
)

// The static builtin (builtin = "static"): a route that serves the files
// under a directory, with the route keys root and dotfiles.

// BuiltinStatic serves the files under a route's root directory.
const BuiltinStatic = "static"

// routeStatic reads a route's root and dotfiles: root is required by, and
// both keys only valid with, builtin = "static". The root must be an
// existing directory when the file is loaded.
func (c *checker) routeStatic(t table, r *Route) {
	isStatic := r.Builtin == BuiltinStatic
	if f, ok := c.get(t, "root"); ok {
		if !isStatic {
			c.errorf(f.path, f.line, "only valid with builtin = %q", BuiltinStatic)
		} else if s, ok := c.path(f); ok {
			switch fi, err := os.Stat(s); {
			case err != nil:
				c.errorf(f.path, f.line, "%v", err)
			case !fi.IsDir():
				c.errorf(f.path, f.line, "%s is not a directory", s)
			default:
				r.Root = s
			}
		}
	} else if isStatic {
		c.missing(t, "root")
	}
	if f, ok := c.get(t, "dotfiles"); ok {
		b, isBool := f.v.(bool)
		switch {
		case !isStatic:
			c.errorf(f.path, f.line, "only valid with builtin = %q", BuiltinStatic)
		case !isBool:
			c.errorf(f.path, f.line, "must be true or false, not %s", typeName(f.v))
		default:
			r.Dotfiles = b
		}
	}
}
