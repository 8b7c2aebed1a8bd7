package app

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// A TLS listener watches the directories of its certificate, key and CA
// files (fsnotify: inotify on Linux), so that a renewal is served without a
// reload. Directories, not files: renewal tools replace a file by renaming
// a new one over it (and Kubernetes swaps a symlink), which ends a watch on
// the file itself. After an event the files are read again once they have
// been quiet for certSettle; when their contents changed and they load, new
// handshakes get them. Files that do not load (half written, a key that
// does not match its certificate) are logged and the old certificates kept;
// the next write is read again.

// certSettle is how long the watched directories stay quiet before the
// files are read again: a tool that writes the certificate, then the key,
// is read once, not between the two.
const certSettle = 100 * time.Millisecond

// certWatch watches the files of one listenerTLS.
type certWatch struct {
	lt      *listenerTLS
	w       *fsnotify.Watcher
	files   chan *config.TLS // new files to watch (a reload)
	stopped chan struct{}
}

// startWatch watches lt's files until stop is called. When the files
// cannot be watched, it logs why and changes are read on reload only.
func (lt *listenerTLS) startWatch() (stop func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		lt.logger.Error("TLS files are not watched: a renewal is read on reload only", "err", err)
		return func() {}
	}
	cw := &certWatch{lt: lt, w: w, files: make(chan *config.TLS, 1), stopped: make(chan struct{})}
	lt.mu.Lock()
	files := lt.files
	lt.watch = cw
	lt.mu.Unlock()
	go cw.run(files)
	return func() {
		lt.mu.Lock()
		lt.watch = nil
		lt.mu.Unlock()
		w.Close()
		<-cw.stopped
	}
}

// rewatch makes the watch follow new files (lt.mu held).
func (cw *certWatch) rewatch(files *config.TLS) {
	select {
	case <-cw.files: // a newer set replaces one not yet taken
	default:
	}
	cw.files <- files
}

func (cw *certWatch) run(files *config.TLS) {
	defer close(cw.stopped)
	sum := fileSum(files)
	dirs := cw.watchDirs(nil, files)
	settle := time.NewTimer(certSettle)
	settle.Stop()
	defer settle.Stop()
	for {
		select {
		case files = <-cw.files:
			sum = fileSum(files) // the reload has just read them
			dirs = cw.watchDirs(dirs, files)
		case _, ok := <-cw.w.Events:
			if !ok {
				return
			}
			settle.Reset(certSettle)
		case err, ok := <-cw.w.Errors:
			if !ok {
				return
			}
			cw.lt.logger.Warn("watching TLS files", "err", err)
			settle.Reset(certSettle)
		case <-settle.C:
			sum = cw.reread(files, sum)
		}
	}
}

// watchDirs watches the directories of files' files instead of old.
func (cw *certWatch) watchDirs(old []string, files *config.TLS) []string {
	var dirs []string
	for _, f := range tlsFiles(files) {
		if d := filepath.Dir(f); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range old {
		if !slices.Contains(dirs, d) {
			cw.w.Remove(d)
		}
	}
	for _, d := range dirs {
		if err := cw.w.Add(d); err != nil {
			cw.lt.logger.Error("TLS files are not watched: a renewal is read on reload only", "dir", d, "err", err)
		}
	}
	return dirs
}

// reread loads the files again if their contents changed since sum, and
// returns the sum of what is now served.
func (cw *certWatch) reread(files *config.TLS, sum []byte) []byte {
	now := fileSum(files)
	if bytes.Equal(now, sum) {
		return sum
	}
	cfg, err := files.Config()
	if err != nil {
		cw.lt.logger.Error("TLS files changed and do not load: the previous certificates are still served", "err", err)
		return now // the next change is read again
	}
	cw.lt.mu.Lock()
	if cw.lt.files == files {
		cfg.NextProtos = cw.lt.protos
		cw.lt.cur.Store(cfg)
	}
	cw.lt.mu.Unlock()
	cw.lt.logger.Info("TLS files changed: new connections get the new certificates", "files", tlsFiles(files))
	return now
}

// tlsFiles lists the files of a TLS setting.
func tlsFiles(t *config.TLS) []string {
	var out []string
	for _, c := range t.Certs {
		out = append(out, c.Cert, c.Key)
	}
	if t.ClientCA != "" {
		out = append(out, t.ClientCA)
	}
	return out
}

// fileSum digests the contents of the files (an unreadable file counts
// as empty).
func fileSum(t *config.TLS) []byte {
	h := sha256.New()
	for _, f := range tlsFiles(t) {
		b, _ := os.ReadFile(f)
		h.Write(b)
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}
