package session

import (
	"maps"
	"slices"
	"testing"
)

func TestEncode(t *testing.T) {
	got := string(Encode(map[string]string{"b": "2", "a": "x=y%z\r\n", "k=%\n": "", "": "e"}))
	want := "=e\na=x%3Dy%25z%0D%0A\nb=2\nk%3D%25%0A=\n"
	if got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got := Encode(nil); len(got) != 0 {
		t.Errorf("Encode(nil) = %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, m := range []map[string]string{
		{},
		{"user": "ann"},
		{string(all): string(all), "%41": "%%", "==": "\n\n", "ü": "é"},
	} {
		if got := Decode(Encode(m)); !maps.Equal(got, m) {
			t.Errorf("Decode(Encode(%q)) = %q", m, got)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	got := Decode([]byte("no equals\na=%4\nb=%zz%41%4a\n\nc=1=2\nc=3\r\nd"))
	want := map[string]string{"a": "%4", "b": "%zzAJ", "c": "3\r"}
	if !maps.Equal(got, want) {
		t.Errorf("Decode = %q, want %q", got, want)
	}
}

func TestIDs(t *testing.T) {
	id := FormatID([]byte{0, 1, 0xab, 0xff, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f})
	if id != "0001abff10000000000000000000007f" || !ValidID(id) {
		t.Errorf("FormatID = %q, valid %v", id, ValidID(id))
	}
	for _, bad := range []string{"", "0001abff10000000000000000000007", "0001abff10000000000000000000007f0",
		"0001ABFF10000000000000000000007F", "0001abff1000000000000000000000g0"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
	if c := SetCookie(id); c != "bubble_session="+id+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Errorf("SetCookie = %q", c)
	}
}

func TestCookieValues(t *testing.T) {
	for header, want := range map[string][]string{
		"":                              nil,
		"s=1":                           {"1"},
		" s = 1 ;t=2; s=\"3\" ;s=;s":    {"1", "3", ""},
		"ss=1; s_=2; S=3; s=a=b":        {"a=b"},
		"a=1;s=2;;s=\"\";s=\"x":         {"2", "", "\"x"},
		"x=1, s=2; s=3 (HTTP_COOKIE ,)": {"3 (HTTP_COOKIE ,)"},
	} {
		if got := CookieValues(header, "s"); !slices.Equal(got, want) {
			t.Errorf("CookieValues(%q) = %q, want %q", header, got, want)
		}
	}
}
