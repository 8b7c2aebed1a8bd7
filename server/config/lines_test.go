package config

import (
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want map[string]int
	}{
		{"plain", "a = 1\n\n# c = 2\nb = \"x\" # d = 3\n", map[string]int{"a": 1, "b": 4}},
		{"array of tables", "[[route]]\nm = 1\n\n[[route]]\nm = 2\n[route.match]\nX = \"y\"\n",
			map[string]int{"route": 1, "route[1]": 1, "route[1].m": 2, "route[2]": 4, "route[2].m": 5, "route[2].match": 6, "route[2].match.X": 7}},
		{"spaced headers", "[[ route ]]\n[[route]]\n[ route . match ]\n",
			map[string]int{"route": 1, "route[1]": 1, "route[2]": 2, "route[2].match": 3}},
		{"quoted and dotted keys", "\"a b\".c = 1\n'd.e' = 2\n\"f\\u0041\" = 3\n[\"g\".'h']\n",
			map[string]int{`"a b"`: 1, `"a b".c`: 1, `"d.e"`: 2, "fA": 3, "g": 4, "g.h": 4}},
		{"multi-line strings hide keys", "a = \"\"\"\n[[route]]\nb = 1\n\"\"\"\nc = '''\nd = 2\n'''\ne = \"\"\"x\\\"\"\"\"\"\nf = 1\n",
			map[string]int{"a": 1, "c": 5, "e": 8, "f": 9}},
		{"strings with brackets and hashes", "a = \"[x] # y\"\nb = 'z # ]'\nc = 3\n", map[string]int{"a": 1, "b": 2, "c": 3}},
		{"multi-line array", "a = [\n  1, # one\n  [2, 3],\n  { k = \"v\" },\n]\nb = 1\n",
			map[string]int{"a": 1, "a[1]": 2, "a[2]": 3, "a[2][1]": 3, "a[2][2]": 3, "a[3]": 4, "a[3].k": 4, "b": 6}},
		{"inline array of tables", "route = [\n  { module = \"a\" },\n  {\n    module = \"b\", # c\n    match = { P = \"x\" },\n  },\n]\n",
			map[string]int{"route": 1, "route[1]": 2, "route[1].module": 2, "route[2]": 3, "route[2].module": 4, "route[2].match": 5, "route[2].match.P": 5}},
		{"nested array of tables", "[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\n[[a]]\n[[a.b]]\ny = 2\n",
			map[string]int{"a": 1, "a[1]": 1, "a[1].b": 2, "a[1].b[1]": 2, "a[1].b[1].x": 3, "a[1].b[2]": 4, "a[2]": 5, "a[2].b": 6, "a[2].b[1]": 6, "a[2].b[1].y": 7}},
		{"implicit then explicit table", "[a.b]\nx = 1\n[a]\ny = 2\n", map[string]int{"a": 3, "a.b": 1, "a.b.x": 2, "a.y": 4}},
		{"datetimes and CRLF", "d = 1979-05-27 07:32:00Z\r\ne = 2\r\n", map[string]int{"d": 1, "e": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if _, err := toml.Decode(tc.src, &doc); err != nil {
				t.Fatalf("test input is not valid TOML: %v", err)
			}
			if got := keyLines(tc.src); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// paths lists the path of every key, table and array element of a decoded
// document, as the checker names them.
func paths(prefix string, v any, out []string) []string {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			p := keyPath(prefix, k)
			out = paths(p, v[k], append(out, p))
		}
	case []map[string]any:
		for i, m := range v {
			p := indexPath(prefix, i+1)
			out = paths(p, m, append(out, p))
		}
	case []any:
		for i, e := range v {
			p := indexPath(prefix, i+1)
			out = paths(p, e, append(out, p))
		}
	}
	return out
}

// FuzzKeyLines checks that keyLines finds a line for every path of every
// document the TOML library accepts, and never gets stuck.
func FuzzKeyLines(f *testing.F) {
	for _, s := range []string{
		"a = 1\n[[route]]\nmodule = \"x\"\nmatch = { A = \"b\" }\n",
		"route = [{ a = 1 }, { b = [1, { c = 2 }] }]\n",
		"a = \"\"\"\n[[x]]\n\"\"\"\n[b.'c d'.\"e\"]\nf.g = 1\n",
		"[[a]]\n[[a.b]]\n[a.b.c]\nd = 1\n[[a]]\n",
		"a = {\n  b = 1, # x\n  c = [\n 1,\n ],\n}\n",
		"\"\\u0041\\\"\" = 1\n'''x''' = 2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var doc map[string]any
		if _, err := toml.Decode(src, &doc); err != nil {
			return
		}
		lines := keyLines(src)
		for _, p := range paths("", doc, nil) {
			if _, ok := lines[p]; !ok {
				t.Errorf("no line for %s; got %v", p, lines)
			}
		}
	})
}
