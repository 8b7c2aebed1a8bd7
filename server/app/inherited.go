package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	"github.com/bubblewasm/bubblewasm/server"
)

// A listener whose address is "systemd://NAME" serves a listening socket
// the process inherited (systemd socket activation): systemd binds it and
// keeps it across restarts, so connections that arrive while the server
// restarts wait in the socket's backlog instead of being refused.

// inheritedSockets are the sockets of Options.Inherited that no listener
// has taken yet.
type inheritedSockets struct {
	free  map[string][]net.Listener
	taken map[string]bool
}

func newInheritedSockets(in map[string][]net.Listener) inheritedSockets {
	s := inheritedSockets{free: map[string][]net.Listener{}, taken: map[string]bool{}}
	for name, ls := range in {
		if len(ls) > 0 {
			s.free[name] = slices.Clone(ls)
		}
	}
	return s
}

// bind binds a socket address, or takes the inherited socket a systemd://
// address names.
func (a *App) bind(ctx context.Context, addr server.Address, opts server.ListenOptions) (net.Listener, error) {
	if addr.Network != "systemd" {
		return addr.Listen(ctx, opts)
	}
	return a.inherited.take(addr.Name)
}

// take hands over the socket called name: exactly one must have been
// inherited under that name, and no other listener may have taken it.
func (s *inheritedSockets) take(name string) (net.Listener, error) {
	ls := s.free[name]
	switch {
	case s.taken[name]:
		return nil, fmt.Errorf("the inherited socket %q is served by another listener already", name)
	case len(ls) == 0:
		return nil, fmt.Errorf("no listening socket named %q was inherited from systemd (%s)", name, s.describe())
	case len(ls) > 1:
		return nil, fmt.Errorf("%d listening sockets named %q were inherited from systemd; give each its own FileDescriptorName= and its own listener", len(ls), name)
	}
	delete(s.free, name)
	s.taken[name] = true
	return ls[0], nil
}

// describe says which names are there to take, for an error.
func (s *inheritedSockets) describe() string {
	if len(s.free) == 0 && len(s.taken) == 0 {
		return "none was: start the server from a .socket unit, or with systemd-socket-activate; only stream sockets (ListenStream=) are served"
	}
	var names []string
	for name := range s.free {
		names = append(names, fmt.Sprintf("%q", name))
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "every inherited socket is served by another listener"
	}
	return "inherited: " + strings.Join(names, ", ")
}

// closeUnused closes the inherited sockets no listener took, with a
// warning each: systemd keeps its own copy, and a connection to one would
// otherwise wait forever.
func (s *inheritedSockets) closeUnused(logger *slog.Logger) {
	for name, ls := range s.free {
		for _, l := range ls {
			logger.Warn("inherited socket not served: no listener has address systemd://"+name, "address", server.ListenerAddress(l).String())
			l.Close()
		}
	}
	clear(s.free)
}
