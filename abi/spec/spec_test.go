package spec_test

import (
	"go/parser"
	"go/token"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// The package is linked into every Go guest module: it must stay a leaf.
func TestImportsOnlyStrings(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path != "strings" {
				t.Errorf("%s imports %s; a guest module would link it", f, path)
			}
		}
	}
}

// The rules answer the same for a guest's strings and the host's bytes, and
// a header name matches a host-owned or Content-Length header in any case.
func TestHeaderRulesStringsAndBytes(t *testing.T) {
	owned := []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te"}
	names := []string{"X-A", "Content-Length", "content-length", "CONTENT-LENGTH", "Content_Length",
		"--------------", "Connection", "KEEP-ALIVE", "proxy-connection", "Transfer-Encoding", "upgrade",
		"Trailer", "TE", "te", "tE", "Set-Cookie", "Connection ", "bad name", "", "ünïcode"}
	values := []string{"", "0", "12", "012", "-1", "1 2", "999999999999999999", "9999999999999999999",
		"close", "a\tb", "a\x01", "\x7f", "\x80"}
	for _, n := range names {
		if got, want := spec.HostOwnedHeader(n), slices.Contains(owned, textproto.CanonicalMIMEHeaderKey(n)); got != want {
			t.Errorf("HostOwnedHeader(%q) = %v, want %v", n, got, want)
		}
		for _, v := range values {
			ok := spec.ResponseHeaderOK(n, v)
			if b := spec.ResponseHeaderOK([]byte(n), []byte(v)); b != ok {
				t.Errorf("ResponseHeaderOK(%q, %q): %v for strings, %v for bytes", n, v, ok, b)
			}
			_, err := strconv.ParseUint(v, 10, 63)
			isLength := textproto.CanonicalMIMEHeaderKey(n) == "Content-Length"
			want := spec.ValidHeaderName(n) && spec.ValidHeaderValue(v) && !spec.HostOwnedHeader(n) &&
				(!isLength || err == nil && len(v) <= 18 && (v == "0" || v[0] != '0'))
			if ok != want {
				t.Errorf("ResponseHeaderOK(%q, %q) = %v, want %v", n, v, ok, want)
			}
		}
	}
}

func TestCheckName(t *testing.T) {
	long := strings.Repeat("x", spec.MaxNameBytes)
	for _, tc := range []struct {
		name, pattern spec.NameRule // the rule the text breaks as a name, as a pattern
		at            int
		text          string
	}{
		{spec.NameValid, spec.NameValid, 0, "chat.room1"},
		{spec.NameValid, spec.NameValid, 0, long},
		{spec.NameEmpty, spec.NameEmpty, 0, ""},
		{spec.NameTooLong, spec.NameTooLong, 0, long + "x"},
		{spec.NameBadByte, spec.NameBadByte, 4, "chat room"},
		{spec.NameBadByte, spec.NameBadByte, 3, "caf\u00e9"},
		{spec.NameForbiddenChar, spec.NameValid, 5, "chat.*"},
		{spec.NameForbiddenChar, spec.NameValid, 4, "chat?"},
		{spec.NameForbiddenChar, spec.NameForbiddenChar, 5, "chat.[ab]"},
		{spec.NameForbiddenChar, spec.NameForbiddenChar, 4, `chat\x`},
		{spec.NameEmptySegment, spec.NameEmptySegment, 4, "chat."},
		{spec.NameEmptySegment, spec.NameEmptySegment, 0, ".chat"},
		{spec.NameEmptySegment, spec.NameEmptySegment, 4, "chat..x"},
	} {
		if rule, at := spec.CheckName(tc.text); rule != tc.name || rule != spec.NameValid && at != tc.at {
			t.Errorf("CheckName(%q) = %d at %d, want %d at %d", tc.text, rule, at, tc.name, tc.at)
		}
		if rule, at := spec.CheckPattern(tc.text); rule != tc.pattern || rule != spec.NameValid && at != tc.at {
			t.Errorf("CheckPattern(%q) = %d at %d, want %d at %d", tc.text, rule, at, tc.pattern, tc.at)
		}
		if spec.ValidName(tc.text) != (tc.name == spec.NameValid) {
			t.Errorf("ValidName(%q) = %v", tc.text, !(tc.name == spec.NameValid))
		}
	}
}

func TestGranted(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"*", []string{"a", "chat.a.b"}, []string{"", "a*", "chat."}},
		{"chat", []string{"chat"}, []string{"chat.a", "chatroom"}},
		{"chat.*", []string{"chat", "chat.a", "chat.a.b"}, []string{"chatroom", "news"}},
		{"chat.*.log", []string{"chat.a.log"}, []string{"chat.a.b.log", "chat.log"}},
		{"*.x", []string{"a.x"}, []string{"a.b.x", "x"}},
		{"c.a*.d", []string{"c.a.d", "c.abc.d"}, []string{"c.b.d"}},
		{"c.*b.?", []string{"c.ab.d", "c.b.e"}, []string{"c.ab.de"}},
		{"chat.[a]", nil, []string{"chat.a", "chat.[a]"}}, // an invalid pattern matches nothing
	} {
		for _, n := range tc.yes {
			if !spec.Granted([]string{tc.pattern}, n) {
				t.Errorf("%q not granted under %q", n, tc.pattern)
			}
		}
		for _, n := range tc.no {
			if spec.Granted([]string{tc.pattern}, n) {
				t.Errorf("%q granted under %q", n, tc.pattern)
			}
		}
	}
	if spec.Granted(nil, "chat") || !spec.Granted([]string{"news", "chat.*"}, "chat.a") {
		t.Error("Granted does not try every pattern")
	}
}
