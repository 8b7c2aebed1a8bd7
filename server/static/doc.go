// Package static owns the built-in file server (builtin = "static"): a
// route that serves the files under one directory, its root, without a wasm
// module.
//
// The protocol work is net/http's: http.ServeContent answers with the
// Content-Type (by extension, else sniffed), Content-Length, Last-Modified,
// byte ranges (206, Content-Range, If-Range), conditional requests
// (If-None-Match against the ETag set here, If-Modified-Since, If-Match,
// If-Unmodified-Since) and HEAD, through an adapter from the exchange's
// server.ResponseWriter and CGI-like env to an http.ResponseWriter and an
// *http.Request. What this package adds is the mapping of PATH_INFO to a
// file:
//
//   - files are opened through os.OpenInRoot, so no path, symlinks
//     included, reaches outside the root (404);
//   - a segment that starts with "." (".git", ".env") is 404 unless
//     Options.Dotfiles is set; ".." is refused even then;
//   - a directory serves its index.html, or 404 (no listings); a
//     directory named without its trailing slash is redirected (301) to
//     it, so that the page's relative links resolve;
//   - only GET and HEAD are served (405 with Allow otherwise).
package static
