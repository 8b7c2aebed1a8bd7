package outbound

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Entry is one allowlist entry of a route's outbound key: an origin
// (scheme, host, port) and an optional path prefix.
type Entry struct {
	Scheme string // "http" or "https"
	Host   string // a lower-case name, or an IP address without brackets
	Port   uint16 // explicit, or the scheme's default
	// Path is the prefix a request's path must equal or lie under (whole
	// segments); "" allows every path.
	Path string
	// IP is the address when Host is an IP literal: the one private or
	// loopback address the entry lets requests reach.
	IP netip.Addr
}

// ParseEntry checks an allowlist entry: an absolute http or https URL
// with a host, without userinfo, query or fragment, and without "." or
// ".." path segments.
func ParseEntry(s string) (Entry, error) {
	if strings.ContainsAny(s, "#") {
		return Entry{}, errors.New("must not have a fragment")
	}
	u, err := url.Parse(s)
	if err != nil {
		return Entry{}, errors.New("is not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Entry{}, fmt.Errorf("must be an http:// or https:// URL, not %q", u.Scheme+":")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return Entry{}, errors.New("must name a host, as in https://api.example.com")
	case u.User != nil:
		return Entry{}, errors.New("must not have userinfo (user:password@)")
	case u.RawQuery != "" || u.ForceQuery:
		return Entry{}, errors.New("must not have a query")
	case dotSegments(u.Path):
		return Entry{}, errors.New(`must not have "." or ".." path segments`)
	}
	port, err := portOf(u)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Scheme: u.Scheme, Host: strings.ToLower(u.Hostname()), Port: port, Path: strings.TrimSuffix(u.Path, "/")}
	if ip, err := netip.ParseAddr(e.Host); err == nil {
		if ip.Zone() != "" {
			return Entry{}, errors.New("must not name an IPv6 zone")
		}
		e.IP = ip.Unmap()
		e.Host = e.IP.String()
	}
	return e, nil
}

// String returns the entry as a URL.
func (e Entry) String() string {
	host := e.Host
	if e.IP.Is6() {
		host = "[" + host + "]"
	}
	return e.Scheme + "://" + host + ":" + strconv.Itoa(int(e.Port)) + e.Path
}

// portOf is u's port: explicit (1 to 65535), or the scheme's default.
func portOf(u *url.URL) (uint16, error) {
	p := u.Port()
	if p == "" {
		if u.Scheme == "https" {
			return 443, nil
		}
		return 80, nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", p)
	}
	return uint16(n), nil
}

// dotSegments reports whether a (decoded) path has a "." or ".." segment,
// which a server may resolve to a path outside an entry's prefix.
func dotSegments(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// covers reports whether u, an absolute URL, is within the entry.
func (e Entry) covers(u *url.URL) bool {
	if u.Scheme != e.Scheme {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		if !e.IP.IsValid() || ip.Unmap() != e.IP {
			return false
		}
	} else if host != e.Host {
		return false
	}
	if port, err := portOf(u); err != nil || port != e.Port {
		return false
	}
	path := u.Path
	return e.Path == "" || path == e.Path || strings.HasPrefix(path, e.Path+"/")
}

// Allowlist is a route's outbound entries.
type Allowlist struct {
	entries []Entry
	// literals are the addresses entries name literally: a private,
	// loopback or link-local address may be dialed only when one names
	// it, with its port.
	literals map[netip.AddrPort]bool
}

// NewAllowlist parses a route's entries (ParseEntry).
func NewAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{literals: map[netip.AddrPort]bool{}}
	for i, s := range entries {
		e, err := ParseEntry(s)
		if err != nil {
			return nil, fmt.Errorf("outbound entry %d (%q): %w", i+1, s, err)
		}
		a.entries = append(a.entries, e)
		if e.IP.IsValid() {
			a.literals[netip.AddrPortFrom(e.IP, e.Port)] = true
		}
	}
	return a, nil
}

// Covers reports whether an entry covers u, an absolute http or https URL.
func (a *Allowlist) Covers(u *url.URL) bool {
	for _, e := range a.entries {
		if e.covers(u) {
			return true
		}
	}
	return false
}

// Dialable reports whether a connection may go to ap: a public address,
// or one an entry names literally (with its port).
func (a *Allowlist) Dialable(ap netip.AddrPort) bool {
	ip := ap.Addr().Unmap()
	if ip.Zone() != "" {
		return false
	}
	return Public(ip) || a.literals[netip.AddrPortFrom(ip, ap.Port())]
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// Public reports whether ip is an address the outbound extension reaches
// without an entry naming it: not loopback, private (RFC 1918, fc00::/7),
// link-local (169.254.0.0/16, fe80::/10), unspecified (0.0.0.0/8, ::),
// multicast, broadcast or CGNAT (100.64.0.0/10).
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() && !ip.IsInterfaceLocalMulticast() && !ip.IsMulticast() &&
		!ip.IsUnspecified() && !cgnat.Contains(ip) && !thisNet.Contains(ip) && ip != broadcast
}
