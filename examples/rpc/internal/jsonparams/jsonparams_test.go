package jsonparams

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestNumbers(t *testing.T) {
	for in, want := range map[string]string{
		`[]`:                      ``,
		` [ 1 , 2,4 ] `:           `1 2 4`,
		`[-0, 0.5, -1.25e2, 1E3]`: `0 0.5 -125 1000`,
		`[9223372036854775807, 9223372036854775808]`: `9223372036854775807 9223372036854776000`,
		`[1e-7, 1e21, 123456789012345678901234]`:     `1e-07 1e+21 1.2345678901234569e+23`,
	} { // past int64, numbers are float64s written as encoding/json writes them
		nums, err := Numbers([]byte(in))
		if err != nil {
			t.Errorf("Numbers(%s): %v", in, err)
			continue
		}
		var got []byte
		for i, n := range nums {
			if i > 0 {
				got = append(got, ' ')
			}
			got = n.AppendJSON(got)
		}
		if string(got) != want {
			t.Errorf("Numbers(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]error{
		``: ErrNotArray, `{}`: ErrNotArray, `[1,]`: ErrNotNumber, `[1 2]`: ErrSyntax, `[01]`: ErrSyntax,
		`[1.]`: ErrSyntax, `[.5]`: ErrNotNumber, `[1e]`: ErrSyntax, `["1"]`: ErrNotNumber, `[1] x`: ErrSyntax,
		`[1e999]`: ErrRange, `[1`: ErrSyntax, `[+1]`: ErrNotNumber, `[null]`: ErrNotNumber, `[[1]]`: ErrNotNumber,
	} {
		if _, err := Numbers([]byte(in)); !errors.Is(err, want) {
			t.Errorf("Numbers(%s): err %v, want %v", in, err, want)
		}
	}
}

func TestNamedNumbers(t *testing.T) {
	got, err := NamedNumbers([]byte(` {"subtrahend": 23, "minu\u0065nd" :42.5, "\ud83d\ude00\ud800x":1} `))
	want := []Member{{"subtrahend", Int(23)}, {"minuend", Float(42.5)}, {"😀\uFFFDx", Int(1)}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("NamedNumbers = %v, %v; want %v", got, err, want)
	}
	for in, want := range map[string]error{
		`[]`: ErrNotObject, `{"a":1,"a":2}`: ErrDuplicate, `{"a":"1"}`: ErrNotNumber, `{a:1}`: ErrSyntax,
		`{"a" 1}`: ErrSyntax, `{"a":1,}`: ErrSyntax, `{"a\x":1}`: ErrSyntax, `{"a\u12":1}`: ErrSyntax,
		"{\"a\n\":1}": ErrSyntax, `{"a":1`: ErrSyntax, `{"a`: ErrSyntax,
	} {
		if _, err := NamedNumbers([]byte(in)); !errors.Is(err, want) {
			t.Errorf("NamedNumbers(%s): err %v, want %v", in, err, want)
		}
	}
}

func TestEmpty(t *testing.T) {
	for in, ok := range map[string]bool{``: true, ` `: true, `[]`: true, ` { } `: true, `[1]`: false, `{"a":1}`: false, `[] []`: false, `null`: false} {
		if err := Empty([]byte(in)); (err == nil) != ok {
			t.Errorf("Empty(%q) = %v", in, err)
		}
	}
}

func TestArithmetic(t *testing.T) {
	for _, c := range []struct {
		a, b      Number
		sum, diff string
		ok        bool
	}{
		{Int(42), Int(23), "65", "19", true},
		{Int(23), Int(42), "65", "-19", true},
		{Int(math.MaxInt64), Int(1), "9223372036854776000", "9223372036854775806", true},
		{Int(math.MinInt64), Int(1), "-9223372036854775807", "-9223372036854776000", true},
		{Int(math.MinInt64), Int(-1), "-9223372036854776000", "-9223372036854775807", true},
		{Float(1.5), Int(1), "2.5", "0.5", true},
		{Float(0.1), Float(0.2), "0.30000000000000004", "-0.1", true},
	} {
		s, ok1 := c.a.Add(c.b)
		d, ok2 := c.a.Sub(c.b)
		if s.String() != c.sum || d.String() != c.diff || !ok1 || !ok2 {
			t.Errorf("%v+%v = %v %v, %v-%v = %v %v; want %s, %s", c.a, c.b, s, ok1, c.a, c.b, d, ok2, c.sum, c.diff)
		}
	}
	if _, ok := Float(math.MaxFloat64).Add(Float(math.MaxFloat64)); ok {
		t.Error("MaxFloat64+MaxFloat64 is ok")
	}
	if _, ok := Float(-math.MaxFloat64).Sub(Float(math.MaxFloat64)); ok {
		t.Error("-MaxFloat64-MaxFloat64 is ok")
	}
}

// TestAppendString checks the output against encoding/json.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x1f\n\t", "é😀", "bad\xffutf8", "<&>"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendString(%q) = %s: %v", s, got, err)
			continue
		}
		var want string
		json.Unmarshal(must(json.Marshal(s)), &want)
		if back != want {
			t.Errorf("AppendString(%q) reads back %q, want %q", s, back, want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
