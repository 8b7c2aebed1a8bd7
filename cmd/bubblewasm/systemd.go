package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// `bubblewasm run` under systemd: the listening sockets a .socket unit
// passes (socket activation), and the service's state told to systemd
// (Type=notify: READY, STOPPING, watchdog pings). Started any other way,
// there are no inherited sockets and nothing is sent.

// inheritedSockets takes over the listening sockets systemd passed
// (LISTEN_FDS, LISTEN_FDNAMES), by name, and clears those variables so
// nothing started later takes them for its own.
func inheritedSockets() map[string][]net.Listener {
	ls, _ := activation.ListenersWithNames() // never fails: a descriptor that is not a listener is left out
	return ls
}

// notifier tells systemd the service's state through NOTIFY_SOCKET.
type notifier struct {
	logger *slog.Logger
}

// notify sends one state (daemon.SdNotifyReady, ...). Without
// NOTIFY_SOCKET it does nothing; a failure to send is logged, since
// systemd will then consider the service failed or hung.
func (n notifier) notify(state string) bool {
	sent, err := daemon.SdNotify(false, state)
	if err != nil {
		n.logger.Warn("cannot notify systemd", "state", state, "err", err, "socket", os.Getenv("NOTIFY_SOCKET"))
		return false
	}
	if sent && state != daemon.SdNotifyWatchdog {
		n.logger.Debug("notified systemd", "state", state)
	}
	return sent
}

// watchdog pings systemd's watchdog at half its interval (WatchdogSec=,
// WATCHDOG_USEC) until ctx ends; it returns at once when the watchdog is
// off. A failed ping is logged once, not at every tick.
func (n notifier) watchdog(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.logger.Warn("systemd watchdog disabled: bad WATCHDOG_USEC or WATCHDOG_PID", "err", err)
		return
	}
	if interval <= 0 {
		return
	}
	every := max(interval/2, time.Millisecond)
	n.logger.Debug("pinging the systemd watchdog", "every", every)
	tick := time.NewTicker(every)
	defer tick.Stop()
	failing := false
	for {
		_, err := daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		switch {
		case err != nil && !failing:
			n.logger.Warn("cannot ping the systemd watchdog", "err", err)
		case err == nil && failing:
			n.logger.Info("systemd watchdog pings get through again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
