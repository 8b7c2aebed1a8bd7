package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// CGI mode serves a plain WASI command module, unmodified, the way a web
// server runs a CGI program (RFC 3875): for every exchange the module's
// _start runs in a fresh instance with the exchange's input as stdin, the
// exchange's env as environment variables and the route's name as its only
// argument. Its stdout is a CGI response: header lines ("Name: value",
// ended by LF or CRLF), a blank line, then the body.
//
//   - "Status: 404 Not Found" sets the status (200..999; the reason phrase is
//     ignored); "Location:" without a Status gives 302; every other header
//     is passed through, a repeated one as several values, under the rules
//     of set_header (abi.CheckResponseHeader): the framing headers are the
//     host's (Connection, Transfer-Encoding, ... answer 502), at most one
//     Content-Length, a plain number, which the host holds the body to, and
//     the route's response header budget.
//   - The header block is bounded (MaxCGIHeaderBytes). The body is streamed:
//     each write the module makes is written and flushed to the exchange.
//   - A module that exits non-zero (or traps) before any body byte was
//     written fails the exchange (HTTP 500); after that the response is cut
//     short, as for a failing ABI v1 handler. The route's timeout (504),
//     memory cap and stack budget apply as they do to v1 handlers.
//   - An input read that failed (a body over the listener's max_body_bytes,
//     a timeout) fails the exchange with that error (413, 504) whatever the
//     module's exit status: the module itself only saw EIO.
//   - Output that is not a CGI response (no header block, a malformed
//     header line, an over-long header block, an invalid Status, or an exit
//     0 before the blank line) fails the exchange with server.ErrBadGateway
//     and the reason: 502 Bad Gateway on HTTP, a failed exchange on other
//     transports.
//
// Environment: every env key that is a valid variable name
// ([A-Za-z_][A-Za-z0-9_]*) is passed as is (the CGI names, HTTP_*). Other
// keys, the dotted ones, are translated: upper-cased with every '.' made
// '_' (bubble.route becomes BUBBLE_ROUTE, line.number LINE_NUMBER); a key
// that is still not a valid name is skipped, and a translated key never
// replaces a key that already has its name. GATEWAY_INTERFACE=CGI/1.1 and
// SERVER_SOFTWARE=bubblewasm are added. Values containing NUL are skipped.
// The route's variables (vars.go) come as their names upper-cased
// (db_password as DB_PASSWORD), replacing any translated key of the same
// name; var.* keys of the exchange's env are not passed.

// ABI says how a route's module is called.
type ABI string

// ABIs.
const (
	// ABIV1 serves ABI v1 handlers (bubble_handle, abi/ABI.md). The empty
	// ABI means ABIV1.
	ABIV1 ABI = "v1"
	// ABICGI serves a WASI command module (_start) as a CGI program.
	ABICGI ABI = "cgi"
	// ABIAuto picks by the module's exports: a module that exports _start
	// and not bubble_handle is served as CGI, any other as ABI v1.
	ABIAuto ABI = "auto"
)

// MaxCGIHeaderBytes bounds the header block of a CGI module's output.
const MaxCGIHeaderBytes = 64 << 10

// Detect returns the ABI that a module's exports indicate: ABIV1 when it
// exports bubble_handle, ABICGI when it exports _start (and not
// bubble_handle), "" otherwise. It does not validate the module.
func Detect(m Module) ABI {
	var start bool
	for _, e := range m.Exports() {
		switch e.Name {
		case abi.ExportHandle:
			return ABIV1
		case abi.ExportStart:
			start = true
		}
	}
	if start {
		return ABICGI
	}
	return ""
}

// ValidateCGI checks a compiled module for CGI mode: it must export
// _start as () -> () and its memory, and import nothing but WASI.
func ValidateCGI(m Module) error {
	var problems []string
	var start *Export
	for _, e := range m.Exports() {
		if e.Name == abi.ExportStart {
			start = &e
		}
	}
	switch {
	case start == nil:
		problems = append(problems, fmt.Sprintf("it does not export %s", abi.ExportStart))
	case !sameSig(start.Signature, nil, nil):
		problems = append(problems, fmt.Sprintf("export %s has type %s, want () -> ()", abi.ExportStart, start.Signature))
	}
	if !m.ExportsMemory(abi.ExportMemory) {
		problems = append(problems, fmt.Sprintf("it does not export its memory as %q", abi.ExportMemory))
	}
	for _, imp := range m.Imports() {
		switch imp.Module {
		case "wasi_snapshot_preview1":
		case abi.ModuleName:
			problems = append(problems, fmt.Sprintf("it imports %s.%s: a CGI module talks through stdin and stdout only (a module that imports %s is an ABI v1 handler and must export %s)", imp.Module, imp.Name, abi.ModuleName, abi.ExportHandle))
		default:
			problems = append(problems, fmt.Sprintf("it imports %s.%s: a CGI module may import only wasi_snapshot_preview1", imp.Module, imp.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("not a WASI command module that can be served as CGI: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkABI validates m for opts.ABI and reports whether it is served as
// CGI.
func checkABI(m Module, opts Options) (cgi bool, err error) {
	switch opts.ABI {
	case "", ABIV1:
		return false, Validate(m)
	case ABICGI:
	case ABIAuto:
		if Detect(m) != ABICGI {
			return false, Validate(m)
		}
	default:
		return false, fmt.Errorf("unknown abi %q (want auto, v1 or cgi)", opts.ABI)
	}
	if err := ValidateCGI(m); err != nil {
		return true, err
	}
	if opts.Lifecycle == Pool {
		return true, errors.New(`instances = "pool" cannot serve a CGI module: every exchange runs _start in a fresh instance (use instances = "fresh")`)
	}
	return true, nil
}

// serveCGI runs one exchange through a WASI command module. The caller
// holds a concurrency slot and ctx carries the route's timeout.
func (h *Handler) serveCGI(ctx context.Context, l *loaded, x *server.Exchange, hx *hostExchange) error {
	mem, err := h.mem.openAccount(ctx, max(h.initBytes, minReserve))
	if err != nil {
		return h.refusal(ctx, fmt.Errorf("%w: %w", server.ErrOverloaded, err))
	}
	defer mem.close() // after RunCommand closed the instance
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stderr := &lineLogger{logger: h.opts.Logger, ctx: ctx, level: slog.LevelWarn, stream: "stderr"}
	in := &cgiInput{hx: hx}
	out := &cgiOutput{hx: hx, w: x.Writer, stop: cancel, header: http.Header{}}
	out.budget.Limits = h.responseHeaderLimits()
	code, err := RunCommand(runCtx, l.module, InstanceConfig{
		Stdin:   in,
		Stdout:  out,
		Stderr:  stderr,
		Environ: cgiEnviron(x.Env, h.vars),
		Args:    []string{h.opts.Name},
		Memory:  mem.meter(),
	})
	stderr.flush()
	switch {
	case out.bad != nil:
		return badGateway(out.bad)
	case out.failed != nil:
		return h.ctxError(ctx, fmt.Errorf("%w: writing the response: %w", server.ErrHandlerFailed, out.failed))
	case err != nil:
		return h.ctxError(ctx, fmt.Errorf("%w: %w", server.ErrHandlerFailed, err))
	case in.err != nil:
		return h.ctxError(ctx, fmt.Errorf("%w: reading the request: %w", server.ErrHandlerFailed, in.err))
	case code != 0:
		return fmt.Errorf("%w: the CGI module exited with status %d", server.ErrHandlerFailed, code)
	case !out.inBody && len(out.head) == 0:
		return badGateway(errors.New("the module exited without writing anything; a CGI response starts with header lines such as \"Content-Type: text/plain\" and a blank line"))
	case !out.inBody:
		return badGateway(errors.New("the module's output ended inside the header block: no blank line after the headers"))
	}
	return nil
}

// badGateway is the error of an exchange whose module wrote something that
// is not a CGI response: the transport answers it as it answers every
// server.ErrBadGateway (502 on HTTP, a failed exchange elsewhere). Nothing
// has been committed unless the transport's framing did (the reasons all
// arise before the body).
func badGateway(reason error) error {
	return fmt.Errorf("%w: CGI module output is not a CGI response: %w", server.ErrBadGateway, reason)
}

// cgiInput is a CGI module's stdin: the exchange's input, read as the
// module asks for it. It remembers the first error other than io.EOF, which
// the module only sees as EIO, so the exchange can report it (413 for a
// body over the listener's limit, say).
type cgiInput struct {
	hx  *hostExchange
	err error
}

func (r *cgiInput) Read(p []byte) (int, error) {
	n, err := r.hx.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// errCGIStopped is what a module's writes return once its output was
// rejected or could not be delivered; its instance is being closed.
var errCGIStopped = errors.New("output stopped")

// cgiOutput is a CGI module's stdout: it collects the header block, applies
// it to the exchange at the blank line, then streams the body.
type cgiOutput struct {
	hx   *hostExchange
	w    server.ResponseWriter
	stop context.CancelFunc // ends the module after a fatal output error

	head     []byte // the header block so far
	scanned  int    // bytes of head already parsed as complete lines
	lines    int
	header   http.Header
	budget   abi.ResponseHeader
	status   int
	location bool
	inBody   bool

	bad    error // the output is not a CGI response (502)
	failed error // writing to the exchange failed
}

func (o *cgiOutput) Write(p []byte) (int, error) {
	switch {
	case o.bad != nil, o.failed != nil:
		return 0, errCGIStopped
	case o.inBody:
		return o.body(p)
	}
	n := len(p)
	// Copy no more than the header block may hold: the rest of a large
	// write is body (or over the limit) and goes on uncopied.
	take := min(len(p), MaxCGIHeaderBytes+1-len(o.head))
	o.head = append(o.head, p[:take]...)
	p = p[take:]
	for {
		i := bytes.IndexByte(o.head[o.scanned:], '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(o.head[o.scanned:o.scanned+i], []byte("\r"))
		o.scanned += i + 1
		o.lines++
		if o.scanned > MaxCGIHeaderBytes {
			break
		}
		if len(line) > 0 {
			if err := o.headerLine(line); err != nil {
				return 0, o.reject(err)
			}
			continue
		}
		if err := o.commitHeader(); err != nil {
			return 0, o.reject(err)
		}
		rest := o.head[o.scanned:]
		o.head, o.inBody = nil, true
		for _, b := range [][]byte{rest, p} {
			if len(b) > 0 {
				if _, err := o.body(b); err != nil {
					return 0, err
				}
			}
		}
		return n, nil
	}
	if len(o.head) > MaxCGIHeaderBytes {
		return 0, o.reject(fmt.Errorf("the header block exceeds %d bytes without the blank line that ends it", MaxCGIHeaderBytes))
	}
	return n, nil
}

// headerLine parses one line of the header block.
func (o *cgiOutput) headerLine(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !abi.ValidHeaderName(name) {
		return fmt.Errorf("output line %d is not a header line (%q); a CGI response starts with header lines such as \"Content-Type: text/plain\" and a blank line", o.lines, clip(line, 60))
	}
	value = bytes.Trim(value, " \t")
	key := http.CanonicalHeaderKey(string(name))
	if key == "Status" {
		code, err := parseCGIStatus(value)
		if err != nil {
			return fmt.Errorf("output line %d: %w", o.lines, err)
		}
		o.status = code
		return nil
	}
	switch {
	case !abi.ValidHeaderValue(value):
		return fmt.Errorf("output line %d: the value of header %s contains a control character", o.lines, name)
	case abi.HostOwnedHeader(key):
		return fmt.Errorf("output line %d: header %s belongs to the server's framing of the response; a CGI program may not send it", o.lines, key)
	case abi.CheckResponseHeader(name, value) != 0:
		return fmt.Errorf("output line %d: invalid %s %q: want a plain decimal number", o.lines, key, clip(value, 40))
	}
	switch o.budget.Apply(o.header, key, string(value), true) {
	case abi.ErrInvalid:
		return fmt.Errorf("output line %d: a second %s header", o.lines, key)
	case abi.ErrTooLarge:
		return fmt.Errorf("output line %d: the response has more headers than the route allows (max_response_headers = %d, max_response_header_bytes = %d)",
			o.lines, o.budget.Limits.MaxCount, o.budget.Limits.MaxBytes)
	}
	if key == "Location" {
		o.location = true
	}
	return nil
}

// parseCGIStatus parses a Status value: three digits, then optionally a
// space and a reason phrase.
func parseCGIStatus(v []byte) (int, error) {
	digits, _, _ := bytes.Cut(v, []byte(" "))
	code, err := strconv.Atoi(string(digits))
	if err != nil || len(digits) != 3 || code < 200 || code > 999 {
		return 0, fmt.Errorf("invalid Status %q: want a code from 200 to 999 and an optional reason, such as \"404 Not Found\"", clip(v, 40))
	}
	return code, nil
}

// commitHeader applies the header block to the exchange's metadata. The
// metadata is committed by the first body write, or by the transport when
// the module writes no body.
func (o *cgiOutput) commitHeader() error {
	status := o.status
	if status == 0 {
		status = http.StatusOK
		if o.location {
			status = http.StatusFound
		}
	}
	if !o.w.SetStatus(status) {
		return errors.New("the exchange's response was already committed")
	}
	h := o.w.Header()
	for k, vs := range o.header {
		h[k] = append(h[k], vs...)
	}
	return nil
}

// body writes and flushes one write of the module's body. An empty write
// commits nothing, so a response without a body is framed the same way
// whichever engine ran the module.
func (o *cgiOutput) body(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := o.hx.Write(p)
	if err == nil {
		err = o.hx.Flush()
	}
	if err != nil {
		o.failed = err
		o.stop()
		return n, err
	}
	return n, nil
}

// reject records that the output is not a CGI response and ends the
// module: nothing it writes from now on can be served.
func (o *cgiOutput) reject(err error) error {
	o.bad = err
	o.stop()
	return errCGIStopped
}

// responseHeaderLimits is the route's response header budget with the
// defaults filled in.
func (h *Handler) responseHeaderLimits() abi.HeaderLimits {
	l := h.opts.ResponseHeaders
	if l.MaxCount <= 0 {
		l.MaxCount = abi.DefaultMaxResponseHeaders
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = abi.DefaultMaxResponseHeaderBytes
	}
	return l
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// cgiEnviron returns a CGI module's environment (see the translation rules
// at the top of this file), sorted.
func cgiEnviron(env server.Env, rv *routeVars) []string {
	vars := make(map[string]string, len(env)+2)
	keys := slices.DeleteFunc(env.Keys(), isVarKey) // only rv's variables, below
	for _, k := range keys {
		if validEnvName(k) && !strings.ContainsRune(env[k], 0) {
			vars[k] = env[k]
		}
	}
	for _, k := range keys {
		if validEnvName(k) {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		if _, taken := vars[name]; taken || !validEnvName(name) || strings.ContainsRune(env[k], 0) {
			continue
		}
		vars[name] = env[k]
	}
	rv.cgi(vars)
	vars["GATEWAY_INTERFACE"] = "CGI/1.1"
	vars["SERVER_SOFTWARE"] = "bubblewasm"
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// validEnvName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
