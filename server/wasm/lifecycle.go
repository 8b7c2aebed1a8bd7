package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/server"
)

// Lifecycle says how a route's instances live.
type Lifecycle string

const (
	// Snapshot serves every exchange on an instance restored to the state
	// it had right after initialization (see snapshot.go): no state of one
	// exchange can be observed by the next, at about the cost of a reused
	// instance. An instance whose exchange failed or grew its memory is
	// closed; new instances are made from the snapshot, without running
	// the module's initialization again.
	Snapshot Lifecycle = "snapshot"
	// Fresh makes a new instance for every exchange and closes it after:
	// nothing survives from one exchange to the next, at the cost of an
	// instantiation and the module's initialization per exchange.
	Fresh Lifecycle = "fresh"
	// Pool reuses instances, one exchange at a time each, and keeps their
	// state between exchanges: what one exchange leaves in memory or
	// globals, the next on the same instance sees. It is for modules that
	// keep state on purpose (a cache). An instance that failed in any way
	// is closed, never reused.
	Pool Lifecycle = "pool"
)

// resolveLifecycle decides the lifecycle of a module: the one the route
// asked for, or, when it asked for none, Snapshot if the module can be
// snapshotted and Fresh if it cannot (fallback says why, for a log line).
// A CGI command is always Fresh.
func resolveLifecycle(m *wasmbin.Module, opts Options) (life Lifecycle, fallback, err error) {
	command := opts.ABI == ABICGI || (opts.ABI == ABIAuto && isCommand(m))
	switch opts.Lifecycle {
	case Fresh, Pool:
		return opts.Lifecycle, nil, nil
	case Snapshot:
		if command {
			return "", nil, errors.New(`instances = "snapshot" cannot serve a CGI module: every exchange runs _start in a fresh instance (use instances = "fresh")`)
		}
		if why := notSnapshottable(m); why != nil {
			return "", nil, fmt.Errorf(`instances = "snapshot": the module's state cannot be snapshotted: %w (use instances = "fresh")`, why)
		}
		return Snapshot, nil, nil
	case "":
		if command {
			return Fresh, nil, nil
		}
		if why := notSnapshottable(m); why != nil {
			return Fresh, why, nil
		}
		return Snapshot, nil, nil
	}
	return "", nil, fmt.Errorf("unknown instance lifecycle %q (want snapshot, fresh or pool)", opts.Lifecycle)
}

// isCommand reports whether m is a WASI command as ABIAuto sees one: it
// exports _start and not bubble_handle.
func isCommand(m *wasmbin.Module) bool {
	var start bool
	for _, e := range m.Exports {
		if e.Kind == wasmbin.KindFunc {
			switch e.Name {
			case abi.ExportHandle:
				return false
			case abi.ExportStart:
				start = true
			}
		}
	}
	return start
}

// acquire returns an instance ready for one exchange, the caller's until
// it gives it to release:
//
//   - Snapshot and Pool: an idle instance if there is one, else a new one
//     (Snapshot: made from the snapshot, without initialization);
//   - Fresh: a new, initialized instance.
//
// A new instance first reserves its initial memory from the memory budget,
// waiting for it until ctx ends (then the error wraps
// server.ErrOverloaded: 503). Any other error wraps
// server.ErrHandlerFailed. The caller holds a place in the route's
// concurrency limit and in the gate (instantiation runs guest code).
func (h *Handler) acquire(ctx context.Context, l *loaded) (*guest, error) {
	if g := h.pool.get(); g != nil {
		h.stats.reused.Add(1)
		return g, nil
	}
	mem, err := h.mem.openAccount(ctx, max(h.initBytes, minReserve))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", server.ErrOverloaded, err)
	}
	g, err := h.instantiate(ctx, l.module, mem, l.image, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: instantiate: %w", server.ErrHandlerFailed, err)
	}
	h.stats.created.Add(1)
	return g, nil
}

// release takes back an instance from the exchange that acquire gave it
// to. ok says the exchange succeeded: an instance whose exchange failed in
// any way (trap, timeout, non-zero result, a host error) is closed. Then,
// by lifecycle:
//
//   - Snapshot: the instance is reset to the snapshot (memory and
//     globals), or closed if it cannot be (its memory grew);
//   - Pool: the instance is kept as the exchange left it;
//   - Fresh: the instance is closed.
//
// A kept instance goes to the idle pool, or is closed when the pool is
// full.
func (h *Handler) release(g *guest, ok bool) {
	g.flushLogs()
	g.stdout.ctx, g.stderr.ctx = nil, nil
	if ok && h.life == Snapshot {
		if err := g.Reset(); err != nil {
			h.opts.Logger.Debug("instance not reused", "reason", err)
			ok = false
		}
	}
	if !ok || !h.pool.put(g) {
		g.close(context.Background())
	}
}

// minReserve is the least a new instance reserves from the memory budget,
// so that a full budget admits no new instance at all.
const minReserve = 64 << 10

// instantiate makes an instance whose memory is charged to mem (nil: not
// metered): from image when it is set, else an initialized one, writing
// data into its memory first (the snapshot rewrite's data segments). It
// owns mem: on error mem is closed.
func (h *Handler) instantiate(ctx context.Context, m Module, mem *memoryAccount, image *Image, data []DataInit) (*guest, error) {
	g := &guest{
		stdout: &lineLogger{logger: h.opts.Logger, level: slog.LevelInfo, stream: "stdout"},
		stderr: &lineLogger{logger: h.opts.Logger, level: slog.LevelWarn, stream: "stderr"},
		mem:    mem,
		stats:  &h.stats,
	}
	inst, err := m.Instantiate(ctx, InstanceConfig{
		Stdout: g.stdout,
		Stderr: g.stderr,
		Init:   &hostExchange{x: &server.Exchange{Env: server.Env{}, Reader: eofReader{}, Writer: closedWriter{}}, logger: h.opts.Logger},
		Memory: mem.meter(),
		Data:   data,
		Image:  image,
	})
	g.flushLogs()
	if err != nil {
		mem.close()
		return nil, err
	}
	g.Instance = inst
	return g, nil
}

// takeSnapshot returns the image of g, an instance that has just been
// initialized: its memory and the values of the globals the snapshot
// rewrite exported.
func takeSnapshot(g *guest, globals []string) (*Image, error) {
	img, err := memimage.New(g.Memory())
	if err != nil {
		return nil, err
	}
	im := &Image{Memory: img}
	for _, name := range globals {
		bits, ok := g.Global(name)
		if !ok {
			img.Close()
			return nil, fmt.Errorf("snapshot: global %s is not exported", name)
		}
		im.Globals = append(im.Globals, GlobalValue{Name: name, Bits: bits})
	}
	return im, nil
}
