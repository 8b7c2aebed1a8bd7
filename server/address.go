package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Address is a parsed network address: where a listener binds or a dialer
// connects. ParseAddress is its only parser and String its inverse.
//
// An address "systemd://NAME" names a listening socket the process
// inherited from systemd (socket activation): Network "systemd" and Name.
// Listen and Dial refuse it; the app looks the socket up by name.
//
// A Source that is not a socket may describe where it takes its work from
// with a network of its own and its server's host and port (an AMQP
// consumer: "amqp" and its broker's); Listen and Dial refuse such an
// address, and ParseAddress does not read it back.
type Address struct {
	// Network is "tcp", "unix" or "systemd" (see above for others).
	Network string
	// Host is the TCP host (an IP literal, a name, or "" for all
	// interfaces); empty for unix.
	Host string
	// Port is the TCP port, 0 meaning "pick one" when listening.
	Port int
	// Path is the unix socket path; a leading '@' names a Linux abstract
	// socket, which has no file.
	Path string
	// Name is the name of an inherited socket (systemd's
	// FileDescriptorName=, LISTEN_FDNAMES); empty unless Network is
	// "systemd".
	Name string
	// TLS marks a "tls://host:port" address: a TCP listener (Network
	// "tcp") whose connections must be served over TLS, so its
	// configuration must give it certificates. Dial refuses it.
	TLS bool
}

// maxFDName is the longest socket name systemd accepts (FDNAME_MAX).
const maxFDName = 255

// ParseAddress parses "tcp://host:port" (IPv6 hosts in brackets:
// "tcp://[::1]:8080"), "tls://host:port" (the same, served over TLS), or "unix:///absolute/path" ("unix://relative/path"
// and "unix://@abstract" work too), or "systemd://NAME", a socket
// inherited from systemd by name (see Address). AMQP queues (amqp://, amqps://) are
// package server/amqp's to parse.
func ParseAddress(s string) (Address, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Address{}, fmt.Errorf("address %q: want scheme://..., such as tcp://127.0.0.1:8080 or unix:///run/app.sock", s)
	}
	switch scheme {
	case "tcp":
		return parseTCP(s, rest)
	case "tls":
		a, err := parseTCP(s, rest)
		a.TLS = err == nil
		return a, err
	case "unix":
		if rest == "" || strings.ContainsRune(rest, 0) {
			return Address{}, fmt.Errorf("address %q: unix socket path is empty or invalid", s)
		}
		return Address{Network: "unix", Path: rest}, nil
	case "systemd":
		if err := checkFDName(rest); err != nil {
			return Address{}, fmt.Errorf("address %q: %v", s, err)
		}
		return Address{Network: "systemd", Name: rest}, nil
	case "amqp", "amqps":
		// The URL may hold a password: it is not repeated.
		return Address{}, fmt.Errorf("address: an %s:// address is a queue to consume (package server/amqp), not a socket", scheme)
	}
	return Address{}, fmt.Errorf("address %q: unknown scheme %q (want tcp, tls, unix, systemd, amqp or amqps)", s, scheme)
}

func parseTCP(s, hostport string) (Address, error) {
	if strings.ContainsAny(hostport, "/?#@") {
		return Address{}, fmt.Errorf("address %q: a tcp or tls address is host:port only", s)
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: %v", s, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return Address{}, fmt.Errorf("address %q: port %q is not a number from 0 to 65535", s, portStr)
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return Address{}, fmt.Errorf("address %q: %q is not an IPv6 address", s, host)
	}
	return Address{Network: "tcp", Host: host, Port: port}, nil
}

// checkFDName checks a socket name by systemd's rules: 1 to 255
// printable ASCII characters, no ':' (the separator of LISTEN_FDNAMES).
func checkFDName(name string) error {
	if name == "" || len(name) > maxFDName {
		return fmt.Errorf("a systemd socket name has 1 to %d characters (FileDescriptorName= of the .socket unit)", maxFDName)
	}
	for _, c := range []byte(name) {
		if c < ' ' || c > '~' || c == ':' {
			return fmt.Errorf("a systemd socket name is printable ASCII without ':' (FileDescriptorName= of the .socket unit)")
		}
	}
	return nil
}

// String returns the address in the form ParseAddress reads (for a
// network other than tcp and unix, network://host:port).
func (a Address) String() string {
	switch a.Network {
	case "tcp", "":
		if a.TLS {
			return "tls://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
		}
		return "tcp://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	case "unix":
		return "unix://" + a.Path
	case "systemd":
		return "systemd://" + a.Name
	}
	return a.Network + "://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

// socket reports whether the address is one Listen and Dial take.
func (a Address) socket() bool { return a.Network == "tcp" || a.Network == "unix" || a.Network == "" }

// ListenOptions tunes Listen.
type ListenOptions struct {
	// SocketMode, when non-zero, is applied to a unix socket file after bind.
	SocketMode fs.FileMode
}

// Listen binds the address. For a unix socket, an existing socket file that
// no server answers on is removed first; a live socket or any other kind of
// file is never removed, and binding fails instead.
func (a Address) Listen(ctx context.Context, opts ListenOptions) (net.Listener, error) {
	var lc net.ListenConfig
	if !a.socket() {
		return nil, fmt.Errorf("listen %s: not a socket address", a)
	}
	if a.Network != "unix" {
		return lc.Listen(ctx, "tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
	}
	abstract := strings.HasPrefix(a.Path, "@")
	if !abstract {
		if err := removeStaleSocket(ctx, a.Path); err != nil {
			return nil, err
		}
	}
	l, err := lc.Listen(ctx, "unix", a.Path)
	if err != nil {
		return nil, err
	}
	if opts.SocketMode != 0 && !abstract {
		if err := os.Chmod(a.Path, opts.SocketMode); err != nil {
			l.Close()
			return nil, fmt.Errorf("set mode of %s: %w", a.Path, err)
		}
	}
	return l, nil
}

// removeStaleSocket removes path only if it is a socket nobody listens on.
func removeStaleSocket(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen unix %s: the path exists and is not a socket (%s); refusing to remove it", path, fi.Mode().Type())
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("listen unix %s: another server is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen unix %s: cannot tell whether the existing socket is stale: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// Dial connects to the address.
func (a Address) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	if !a.socket() {
		return nil, fmt.Errorf("dial %s: not a socket address", a)
	}
	if a.TLS {
		return nil, fmt.Errorf("dial %s: a tls:// address is a listener's; dialing over TLS is not supported", a)
	}
	if a.Network == "unix" {
		return d.DialContext(ctx, "unix", a.Path)
	}
	return d.DialContext(ctx, "tcp", net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
}

// ListenerAddress returns the address a bound listener really has, so that
// a requested port 0 reads as the chosen port.
func ListenerAddress(l net.Listener) Address {
	switch addr := l.Addr().(type) {
	case *net.TCPAddr:
		return Address{Network: "tcp", Host: addr.IP.String(), Port: addr.Port}
	case *net.UnixAddr:
		return Address{Network: "unix", Path: addr.Name}
	}
	a, _ := ParseAddress(l.Addr().Network() + "://" + l.Addr().String())
	return a
}
