package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks the whole of Parse on arbitrary documents, seeded with
// the golden files: it never panics; it returns either a Config or an
// ErrorList, never both; every error names the file, a line within the
// document (or none) and, unless it is a TOML syntax error, a key; a Config
// has at least one route and every setting in its range.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.toml"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(route1 + listener + "max_connections = 0\nwrite_timeout = \"-1s\"\n"))
	f.Add([]byte(route1 + "max_response_headers = 99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("fuzz.toml", src)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Config %v and error %v", cfg != nil, err)
		}
		lines := bytes.Count(src, []byte("\n")) + 1
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != "fuzz.toml" || e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("error %q: file %q, line %d of %d", e.Error(), e.File, e.Line, lines)
				}
				if e.Key == "" && !strings.HasPrefix(e.Msg, "invalid TOML") {
					t.Fatalf("error %q names no key", e.Error())
				}
			}
			return
		}
		if len(cfg.Routes) == 0 {
			t.Fatal("a Config without routes")
		}
		for _, r := range cfg.Routes {
			if r.Timeout <= 0 || r.MaxConcurrency <= 0 || r.Memory < PageSize || r.Memory > MaxMemory || r.Memory%PageSize != 0 ||
				r.MaxStack < MinStack || r.MaxStack > MaxStack || r.MaxResponseHeaders < 1 || r.MaxResponseHeaders > MaxResponseHeaders ||
				r.MaxResponseHeaderBytes < 1<<10 || r.MaxResponseHeaderBytes > MaxResponseHeaderBytes {
				t.Fatalf("route %s out of range: %+v", r.Name, r)
			}
		}
		for _, l := range cfg.Listeners {
			if l.Address == "" || l.Transport == "" {
				t.Fatalf("listener %s: %+v", l.Name, l)
			}
		}
	})
}
