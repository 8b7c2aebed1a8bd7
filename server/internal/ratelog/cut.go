package ratelog

import (
	"log/slog"

	"github.com/bubblewasm/bubblewasm/abi"
)

// cutRecord returns r with its message and long attributes cut to max
// bytes (abi.CutLog); r itself when nothing is too long.
func cutRecord(r slog.Record, max int) slog.Record {
	long := len(r.Message) > max
	if !long {
		r.Attrs(func(a slog.Attr) bool {
			_, long = cutAttr(a, max)
			return !long
		})
	}
	if !long {
		return r
	}
	out := slog.NewRecord(r.Time, r.Level, abi.CutLog(r.Message, max), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		a, _ = cutAttr(a, max)
		out.AddAttrs(a)
		return true
	})
	return out
}

// cutAttr cuts a string or error value longer than max, in groups too, and
// reports whether it did. An error becomes the string of its message.
func cutAttr(a slog.Attr, max int) (slog.Attr, bool) {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > max {
			return slog.String(a.Key, abi.CutLog(s, max)), true
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			if s := err.Error(); len(s) > max {
				return slog.String(a.Key, abi.CutLog(s, max)), true
			}
		}
	case slog.KindGroup:
		group := v.Group()
		var out []slog.Attr
		for i, g := range group {
			c, cut := cutAttr(g, max)
			if cut && out == nil {
				out = append(make([]slog.Attr, 0, len(group)), group[:i]...)
			}
			if out != nil {
				out = append(out, c)
			}
		}
		if out != nil {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}, true
		}
	}
	return a, false
}
