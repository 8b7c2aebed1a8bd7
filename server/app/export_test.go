package app

import (
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// LoadedModule is a route's loaded module (reuse.go), for the tests of
// package app_test.
type LoadedModule = loadedModule

// Sets is how many route sets hold m.
func (m *loadedModule) Sets() int64 { return m.sets.Load() }

// LoadedModules returns the loaded module of each module route of the
// current set.
func (a *App) LoadedModules() map[string]*LoadedModule {
	set := a.routes.Load()
	set.mu.Lock()
	defer set.mu.Unlock()
	out := make(map[string]*LoadedModule, len(set.modules))
	for name, m := range set.modules {
		out[name] = m
	}
	return out
}

// WaitReplaced waits until the route sets that reloads replaced are
// closed (and removed listeners drained).
func (a *App) WaitReplaced() { a.background.Wait() }

// CountingClosedModules returns opts whose engines count the compiled
// modules they close, and a func that reads the count.
func CountingClosedModules(opts Options) (Options, func() int32) {
	var engines []*countingEngine
	opts.newEngine = func(name, dir string) (wasm.Engine, error) {
		e, err := NewEngine(name, dir)
		counted := &countingEngine{Engine: e}
		engines = append(engines, counted) // made under App.enginesMu
		return counted, err
	}
	return opts, func() int32 {
		var n int32
		for _, e := range engines {
			n += e.closes.Load()
		}
		return n
	}
}
