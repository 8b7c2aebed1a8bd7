package static

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Options configure a Handler.
type Options struct {
	// Root is the directory served.
	Root string
	// Dotfiles serves paths with a segment that starts with "."; by default
	// they are 404.
	Dotfiles bool
}

// Handler serves the files under a root directory. It is a server.Handler.
type Handler struct {
	opts Options
}

// New returns a handler for opts.Root, which must be a directory.
func New(opts Options) (*Handler, error) {
	fi, err := os.Stat(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("static root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("static root %s is not a directory", opts.Root)
	}
	return &Handler{opts: opts}, nil
}

// Serve answers a GET or HEAD of the file PATH_INFO names under the root.
func (h *Handler) Serve(_ context.Context, x *server.Exchange) error {
	w := responseWriter{x.Writer}
	method := x.Env[abi.EnvRequestMethod]
	if method != http.MethodGet && method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	p := x.Env[abi.EnvPathInfo]
	name, ok := h.fileName(p)
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return nil
	}
	f, fi, err := h.open(name)
	if err != nil {
		httpError(w, err)
		return nil
	}
	defer f.Close()
	if fi.IsDir() {
		if !strings.HasSuffix(p, "/") {
			redirectToDir(w, x.Env)
			return nil
		}
		f.Close()
		if f, fi, err = h.open(path.Join(name, "index.html")); err != nil || fi.IsDir() {
			if err == nil {
				f.Close()
			}
			http.Error(w, "404 page not found", http.StatusNotFound)
			return nil
		}
		defer f.Close()
	}
	// As nginx does: size and modification time, which change when the
	// file is replaced. Strong, so that If-Range can resume a download.
	w.Header().Set("Etag", fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size()))
	http.ServeContent(w, request(method, x.Env), fi.Name(), fi.ModTime(), f)
	return nil
}

// fileName maps a PATH_INFO to a name relative to the root: "." for the
// root itself. It refuses ".." segments (the HTTP transport has removed
// them already; other transports may not) and, unless Dotfiles, segments
// that start with ".".
func (h *Handler) fileName(p string) (string, bool) {
	if strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 {
		return "", false
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch {
		case s == "" || s == ".":
		case s == "..":
			return "", false
		case s[0] == '.' && !h.opts.Dotfiles:
			return "", false
		default:
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return ".", true
	}
	return strings.Join(segs, "/"), true
}

// open opens name under the root and stats it.
func (h *Handler) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenInRoot(h.opts.Root, name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// httpError answers a failed open: 403 for a permission error, else 404,
// which covers a path that would escape the root.
func httpError(w http.ResponseWriter, err error) {
	if errors.Is(err, fs.ErrPermission) {
		http.Error(w, "403 forbidden", http.StatusForbidden)
		return
	}
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// redirectToDir sends a directory named without its trailing slash to the
// name with one, relative to the request ("docs" -> "docs/"), as net/http's
// file server does: a relative target cannot leave the host.
func redirectToDir(w http.ResponseWriter, env server.Env) {
	full := env[abi.EnvScriptName] + env[abi.EnvPathInfo]
	target := "./" + url.PathEscape(path.Base(full)) + "/"
	if full == "" {
		target = "/"
	}
	if q := env[abi.EnvQueryString]; q != "" {
		target += "?" + q
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}
