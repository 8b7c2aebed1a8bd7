package app

import "github.com/bubblewasm/bubblewasm/server/wasm"

// prunePrepared removes the entries of the prepared-module cache unused
// for wasm.PreparedMaxAge (modules no route serves any more, earlier
// builds of the server). It runs after a load of the routes, which marks
// the entries they used.
func (a *App) prunePrepared() {
	p, err := a.prepared.Prune(wasm.PreparedMaxAge)
	if p.Entries > 0 {
		a.logger.Info("prepared-module cache: removed entries unused for a week", "entries", p.Entries, "bytes", p.Bytes)
	}
	if err != nil {
		a.logger.Warn("prepared-module cache not pruned", "error", err)
	}
}
