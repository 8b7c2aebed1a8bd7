package main

import (
	"context"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/urfave/cli/v2"
)

// `bubblewasm run --watch`: when a source of a route's module changes, the
// module is rebuilt with the route's recipe (the one `bubblewasm build`
// runs) and the server reloads; when the config file changes, it reloads.
// A route's sources are the directory tree its recipe runs in (for a
// build key: the config file's directory). File events come from
// fsnotify (inotify on Linux, kqueue on BSD and macOS).

// watchSettle is how long the files must stay unchanged before a rebuild:
// an editor's save or a checkout is several events.
const watchSettle = 100 * time.Millisecond

// watcher rebuilds and reloads on file changes.
type watcher struct {
	c       *cli.Context
	logger  *slog.Logger
	reload  func(cause string) bool
	fs      *fsnotify.Watcher
	config  string          // the config file, absolute; "" for run MODULE
	watched map[string]bool // directories
}

// newWatcher watches the sources of the routes of the config run serves.
func newWatcher(c *cli.Context, logger *slog.Logger, reload func(cause string) bool) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{c: c, logger: logger, reload: reload, fs: fw, watched: map[string]bool{}}
	if file := c.String("config"); file != "" {
		if w.config, err = filepath.Abs(file); err != nil {
			fw.Close()
			return nil, err
		}
		w.add(filepath.Dir(w.config), false)
	}
	jobs, roots := w.jobs()
	for _, r := range roots {
		w.add(r, true)
	}
	if len(jobs) == 0 {
		logger.Warn("--watch: no route has a build recipe (see bubblewasm build --help); watching the config only")
	}
	logger.Info("watching sources", "routes", len(jobs), "directories", len(w.watched))
	return w, nil
}

func (w *watcher) close() { w.fs.Close() }

// jobs returns the build jobs of the current config, and the directory
// each builds from.
func (w *watcher) jobs() ([]*buildJob, []string) {
	cfg, err := loadConfig(w.c)
	if err != nil {
		return nil, nil // the reload reports it
	}
	dir := filepath.Dir(w.config)
	if w.config == "" && len(cfg.Routes) == 1 { // run MODULE
		dir = filepath.Dir(cfg.Routes[0].Module)
	}
	jobs, _ := buildJobs(dir, cfg.Routes)
	roots := make([]string, len(jobs))
	for i, j := range jobs {
		roots[i] = j.dir
	}
	return jobs, roots
}

// add watches dir, and with tree every directory under it but hidden ones
// and dependency trees.
func (w *watcher) add(dir string, tree bool) {
	if !tree {
		w.addDir(dir)
		return
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if path != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		w.addDir(path)
		return nil
	})
}

func (w *watcher) addDir(dir string) {
	if w.watched[dir] {
		return
	}
	if err := w.fs.Add(dir); err != nil {
		w.logger.Warn("--watch: cannot watch a directory", "dir", dir, "err", err)
		return
	}
	w.watched[dir] = true
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "node_modules" || name == "target"
}

// ignored reports events that are not edits of a source: attribute
// changes, built modules, editors' temporary and backup files.
func ignored(ev fsnotify.Event) bool {
	name := filepath.Base(ev.Name)
	return ev.Op == fsnotify.Chmod || strings.HasSuffix(name, ".wasm") || strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".tmp")
}

// run handles file events until ctx ends: once they settle, it rebuilds
// the modules whose sources changed, then reloads.
func (w *watcher) run(ctx context.Context) {
	settled := time.NewTimer(time.Hour)
	settled.Stop()
	changed := map[string]bool{}
	var first time.Time // of the first change not yet applied
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.logger.Warn("--watch: file events", "err", err)
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ignored(ev) {
				continue
			}
			if st, err := os.Stat(ev.Name); err == nil && st.IsDir() && ev.Has(fsnotify.Create) && !skipDir(filepath.Base(ev.Name)) {
				w.add(ev.Name, true)
			}
			if len(changed) == 0 {
				first = time.Now()
			}
			changed[ev.Name] = true
			settled.Reset(watchSettle)
		case <-settled.C:
			w.apply(ctx, changed, first)
			clear(changed)
		}
	}
}

// apply rebuilds the modules whose sources are among changed and reloads;
// a build that fails is logged and nothing is reloaded.
func (w *watcher) apply(ctx context.Context, changed map[string]bool, first time.Time) {
	jobs, roots := w.jobs()
	var built []string
	for i, j := range jobs {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(changed)), func(p string) bool { return p != w.config && under(p, roots[i]) }) {
			continue
		}
		w.logger.Info("--watch: rebuilding", "routes", strings.Join(j.routes, ","), "lang", j.lang)
		if err := j.run(w.c); err != nil {
			w.logger.Error("--watch: build failed: still serving the previous module", "routes", strings.Join(j.routes, ","), "err", err)
			return
		}
		built = append(built, j.routes...)
	}
	if len(built) == 0 && !changed[w.config] {
		return // not a source of any route
	}
	if ctx.Err() != nil {
		return
	}
	if w.reload("--watch") {
		w.logger.Info("--watch: rebuilt and reloaded", "routes", strings.Join(built, ","), "edit_to_reload", time.Since(first))
	}
	for _, r := range roots { // the reloaded config may build from new places
		w.add(r, true)
	}
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}
