package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// A reload reuses what it can: a module route whose configuration is the
// same as in the running set (source lines aside) and whose module file
// has the same content (its SHA-256: a rewrite in place that keeps the
// size and modification time is still seen) keeps its loaded module — its
// wasm.Handler with its instances, and what its services hold open — in
// the new set instead of loading it again. A loaded module is shared by
// the sets that hold it and closed when the last of them is.

// loadedModule is a module route's handler and what its services hold
// open (dial targets, outbound client), shared by the route sets whose
// configuration of the route is the same.
type loadedModule struct {
	rc      config.Route      // the route, without its line
	sum     [sha256.Size]byte // of the module file it was loaded from
	handler *wasm.Handler

	mu      sync.Mutex // services open concurrently with other routes'
	closers []io.Closer
	sets    atomic.Int64 // route sets holding it
}

func newLoadedModule(rc config.Route, sum [sha256.Size]byte) *loadedModule {
	rc.Line = 0
	m := &loadedModule{rc: rc, sum: sum}
	m.sets.Store(1)
	return m
}

// keep takes something the route's services hold open.
func (m *loadedModule) keep(c io.Closer) {
	m.mu.Lock()
	m.closers = append(m.closers, c)
	m.mu.Unlock()
}

// same reports whether m was loaded for rc from a file of content sum.
func (m *loadedModule) same(rc config.Route, sum [sha256.Size]byte) bool {
	rc.Line = 0
	return m.sum == sum && reflect.DeepEqual(m.rc, rc)
}

// release drops one set's hold; the last closes the handler and services.
func (m *loadedModule) release(ctx context.Context) error {
	if m.sets.Add(-1) > 0 {
		return nil
	}
	var errs []error
	if m.handler != nil {
		errs = append(errs, m.handler.Close(ctx))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.closers {
		errs = append(errs, c.Close())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// routeLoad is what loading a set's routes shares: the set being replaced
// (nil at start), whose modules can be kept, and the module files read so
// far, each read once however many routes serve it.
type routeLoad struct {
	prev  *routeSet
	mu    sync.Mutex
	files map[string]*moduleFile
}

// moduleFile is one module file as read for a load.
type moduleFile struct {
	once sync.Once
	bin  []byte
	sum  [sha256.Size]byte
	err  error
}

// read returns the content of the module file at path and its SHA-256.
func (l *routeLoad) read(path string) ([]byte, [sha256.Size]byte, error) {
	l.mu.Lock()
	f := l.files[path]
	if f == nil {
		f = &moduleFile{}
		l.files[path] = f
	}
	l.mu.Unlock()
	f.once.Do(func() {
		if f.bin, f.err = os.ReadFile(path); f.err == nil {
			f.sum = sha256.Sum256(f.bin)
		}
	})
	return f.bin, f.sum, f.err
}

// reusable returns the module the replaced set loaded for rc from a file
// of content sum, held once more, or nil.
func (l *routeLoad) reusable(rc config.Route, sum [sha256.Size]byte) *loadedModule {
	if l.prev == nil {
		return nil
	}
	m := l.prev.module(rc.Name)
	if m == nil || !m.same(rc, sum) {
		return nil
	}
	m.sets.Add(1)
	return m
}
