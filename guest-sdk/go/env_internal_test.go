package bubble

import (
	"maps"
	"testing"
)

// parseEnvAll reads env_all's pairs, values with any byte included, and
// stops at the first malformed pair instead of reading past the input.
func TestParseEnvAll(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"pairs", "A\x00\x01\x00\x00\x00xB\x00\x00\x00\x00\x00", map[string]string{"A": "x", "B": ""}},
		{"value with NUL and length bytes", "K\x00\x03\x00\x00\x00\x00\x01\x00", map[string]string{"K": "\x00\x01\x00"}},
		{"no NUL after the key", "KEY", map[string]string{}},
		{"short length", "A\x00\x01\x00\x00\x00xB\x00\x01\x00", map[string]string{"A": "x"}},
		{"length past the end", "A\x00\xff\xff\xff\xffxyz", map[string]string{}},
		{"length one past the end", "A\x00\x04\x00\x00\x00xyz", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseEnvAll(tc.in); !maps.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParseEnvAll(f *testing.F) {
	f.Add("A\x00\x01\x00\x00\x00xB\x00\x00\x00\x00\x00")
	f.Fuzz(func(t *testing.T, in string) {
		m := parseEnvAll(in)
		n := 0
		for k, v := range m {
			n += len(k) + 5 + len(v)
		}
		if n > len(in) {
			t.Fatalf("%d bytes of pairs out of %d bytes of input", n, len(in))
		}
	})
}
