package outbound_test

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/bubblewasm/bubblewasm/server/outbound"
)

func TestParseEntry(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://api.example.com", "https://api.example.com:443"},
		{"HTTP://API.Example.COM:8080/v1/", "http://api.example.com:8080/v1"},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://[::1]:9000/x", "http://[::1]:9000/x"},
		{"http://[::ffff:10.0.0.1]", "http://10.0.0.1:80"},
	} {
		e, err := outbound.ParseEntry(c.in)
		if err != nil || e.String() != c.want {
			t.Errorf("%q: %v, %v; want %s", c.in, e, err, c.want)
		}
	}
	for _, bad := range []string{
		"", "api.example.com", "ftp://example.com", "file:///etc/passwd", "https://", "https://:443",
		"https://user:pw@example.com", "https://user@example.com", "https://example.com/?q=1", "https://example.com/?",
		"https://example.com/#top", "https://example.com#", "https://example.com:0", "https://example.com:65536",
		"https://example.com:http", "https://example.com/a/../b", "https://example.com/./b", "http://[fe80::1%25eth0]",
		"mailto:a@example.com", "javascript:alert(1)", "http://exa mple.com", "%zz",
	} {
		if e, err := outbound.ParseEntry(bad); err == nil {
			t.Errorf("%q: accepted as %v", bad, e)
		}
	}
}

func TestAllowlistCovers(t *testing.T) {
	a, err := outbound.NewAllowlist([]string{"https://api.example.com", "http://127.0.0.1:9000/hooks", "http://[::1]:9000/"})
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]bool{
		"https://api.example.com":                true,
		"https://API.example.com:443/any?q=1":    true,
		"http://api.example.com/":                false, // scheme
		"https://api.example.com:8443/":          false, // port
		"https://api.example.com.evil.test/":     false,
		"https://evil.test/api.example.com":      false,
		"http://127.0.0.1:9000/hooks":            true,
		"http://127.0.0.1:9000/hooks/a/b":        true,
		"http://127.0.0.1:9000/hooksx":           false, // whole segments
		"http://127.0.0.1:9000/":                 false,
		"http://127.0.0.1:9001/hooks":            false,
		"http://[::ffff:127.0.0.1]:9000/hooks/a": true,  // the same address
		"http://localhost:9000/hooks":            false, // a name is not the literal
		"http://[::1]:9000/anything":             true,
		"http://[0:0::1]:9000/anything":          true,
	} {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Covers(p); got != want {
			t.Errorf("%s: covered %v, want %v", u, got, want)
		}
	}
}

// Private, loopback, link-local, CGNAT, multicast and unspecified
// addresses are dialable only when an entry names them with their port.
func TestDialable(t *testing.T) {
	a, err := outbound.NewAllowlist([]string{"http://127.0.0.1:9000", "https://api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for ap, want := range map[string]bool{
		"93.184.215.14:443":           true,
		"[2606:4700::1111]:443":       true,
		"127.0.0.1:9000":              true,
		"[::ffff:127.0.0.1]:9000":     true,
		"127.0.0.1:9001":              false,
		"127.0.0.2:9000":              false,
		"[::1]:9000":                  false,
		"10.1.2.3:80":                 false,
		"172.16.0.1:80":               false,
		"192.168.1.1:80":              false,
		"169.254.169.254:80":          false,
		"[fe80::1]:80":                false,
		"[fd00::1]:80":                false,
		"100.64.0.1:80":               false,
		"100.127.255.254:80":          false,
		"0.0.0.0:80":                  false,
		"0.1.2.3:80":                  false,
		"[::]:80":                     false,
		"224.0.0.1:80":                false,
		"[ff02::1]:80":                false,
		"255.255.255.255:80":          false,
		"[::ffff:169.254.169.254]:80": false,
	} {
		if got := a.Dialable(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("%s: dialable %v, want %v", ap, got, want)
		}
	}
}
