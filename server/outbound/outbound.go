// Package outbound sends the HTTP requests of the bubblewasm_http_v1
// extension (abi.Outbound): a route lists the origins and URL prefixes its
// module may reach,
//
//	outbound = ["https://api.example.com", "http://127.0.0.1:9000/hooks"]
//
// and each request goes through net/http's client with these rules:
//
//   - the URL must be covered by an entry (scheme, host and port equal,
//     the path equal to or under the entry's), or the call is ERR_DENIED;
//   - a name is resolved here and the connection goes to a resolved
//     address only if it is public, or if an entry names that address
//     literally with its port (Allowlist.Dialable): loopback, private,
//     link-local, CGNAT, multicast and unspecified addresses are refused.
//     The check runs on the address actually dialed (the dialer's
//     Control), so DNS rebinding cannot get around it. Environment proxies
//     are ignored;
//   - redirects are followed (at most 10) while every hop is covered; the
//     first hop that is not is answered to the guest as the 3xx response;
//   - a call's timeout (the route's outbound_timeout unless the guest
//     passes a shorter or longer one) bounds the whole call, body
//     included, and the exchange's deadline and cancellation bound it too;
//   - the request body is capped (outbound_max_request_bytes), the
//     response body is streamed and capped (outbound_max_response_bytes:
//     ERR_TOO_LARGE once passed), and an exchange holds at most
//     abi.MaxOpenResponses responses open; every one still open is closed
//     when the exchange ends, whatever way it ends.
//
// Connections are pooled per route (one http.Transport); Client.Close
// closes the idle ones.
package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Defaults of the route keys.
const (
	// DefaultTimeout is outbound_timeout's default.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxRequestBytes is outbound_max_request_bytes' default.
	DefaultMaxRequestBytes = 1 << 20
	// DefaultMaxResponseBytes is outbound_max_response_bytes' default.
	DefaultMaxResponseBytes = 10 << 20
	// MaxRedirects is how many redirects a call follows.
	MaxRedirects = 10
)

// Resolver resolves host names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a route's Client.
type Options struct {
	// Allow are the route's outbound entries (ParseEntry).
	Allow []string
	// Timeout bounds a call whose guest passes none; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxRequestBytes caps a request body; 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// MaxResponseBytes caps a response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Logger receives denied calls; nil discards them.
	Logger *slog.Logger
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// RootCAs verify https servers; nil means the system's roots.
	RootCAs *x509.CertPool
}

// Client is a route's outbound grant: its allowlist, limits and
// connection pool.
type Client struct {
	opts  Options
	allow *Allowlist
	tr    *http.Transport
	hc    *http.Client
	log   *slog.Logger
}

// New returns the Client of a route's outbound grant.
func New(opts Options) (*Client, error) {
	allow, err := NewAllowlist(opts.Allow)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, allow: allow, log: opts.Logger}
	c.tr = &http.Transport{
		Proxy:                  nil, // never the environment's proxy: it would dial for us
		DialContext:            c.dial,
		TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: abi.MaxRequestHeaderBytes,
		DisableCompression:     true, // the guest gets the bytes the server sent
	}
	c.hc = &http.Client{Transport: c.tr, CheckRedirect: c.checkRedirect}
	return c, nil
}

// Close closes the pool's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// checkRedirect follows a redirect only while it stays in the allowlist;
// otherwise the guest gets the 3xx response.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return http.ErrUseLastResponse
	}
	if !c.allow.Covers(req.URL) || dotSegments(req.URL.Path) {
		c.log.InfoContext(req.Context(), "outbound redirect not followed: outside the route's outbound list", "url", redact(req.URL))
		return http.ErrUseLastResponse
	}
	return nil
}

// errDenied is a connection refused by the allowlist's address rules.
var errDenied = fmt.Errorf("address not allowed: %w", abi.ErrNotGranted)

// dial resolves addr's host itself and dials the addresses it may reach;
// the dialer's Control checks each address again as it is dialed.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = c.opts.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	d := net.Dialer{Control: c.control}
	var errs []error
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if !c.allow.Dialable(ap) {
			errs = append(errs, fmt.Errorf("%s resolves to %s: %w", host, ap.Addr(), errDenied))
			continue
		}
		conn, err := d.DialContext(ctx, network, ap.String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s resolves to no address", host)
	}
	return nil, errors.Join(errs...)
}

// control refuses a connection to an address the allowlist does not let
// the route reach: the last check, on the address actually dialed.
func (c *Client) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !c.allow.Dialable(ap) {
		return fmt.Errorf("dial %s: %w", address, errDenied)
	}
	return nil
}

// Bind returns the grant as one exchange sees it: calls end with ctx at
// the latest, and the exchange's responses are closed by Close.
func (c *Client) Bind(ctx context.Context) *Binding {
	return &Binding{c: c, ctx: ctx, open: map[int]*response{}}
}

// redact is u without userinfo and query, for logs.
func redact(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.Fragment = nil, "", ""
	return v.String()
}

// bodyOf is a request body: a copy of the guest's
// bytes, which the transport may still be sending after Request returns.
func bodyOf(b []byte) io.Reader {
	if len(b) == 0 {
		return nil
	}
	return bytes.NewReader(bytes.Clone(b))
}
