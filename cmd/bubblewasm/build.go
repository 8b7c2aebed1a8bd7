package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// buildHelp is the build convention, printed by `bubblewasm build --help`.
const buildHelp = `Builds the module of every route whose source it can find; the route's
module path is the output. For a route with module = "DIR/X.wasm" the recipe
is the first of:

  1. the route's build key: a shell command, run with sh -c in the config
     file's directory, with $OUT set to the module's absolute path:
         build = "make OUT=$OUT"
  2. a single source file next to the module, built with the toolchain of
     its language (plain WASI programs, such as CGI modules):
         DIR/X.c    $WASI_CC (default clang) --target=wasm32-wasi -O2 -o OUT X.c
                    (--sysroot=$WASI_SYSROOT when set)
         DIR/X.rs   $RUSTC (default rustc) --target wasm32-wasi -O -o OUT X.rs
         DIR/X.wat  wat2wasm X.wat -o OUT
  3. a source directory, DIR/X/ else DIR itself, holding
         build.sh   sh build.sh OUT (run in that directory; the convention of
                    the repository's modules/*)
         Go code    (DIR/X/: go.mod or any .go file; DIR: main.go)
                    GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o OUT .
                    (an ABI v1 reactor, as the Go SDK builds them)

Routes without a recipe are listed and skipped; routes sharing a module
build it once. A module path that exists and is not a wasm module (no
\0asm at its start: a source file named by mistake) is never overwritten:
build stops before running anything. The toolchain's output is shown when a build fails, and the
exit code is then 3.`

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:        "build",
		Usage:       "build the modules a config file references",
		ArgsUsage:   " ",
		Description: buildHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "bubble.toml", Usage: "TOML config `FILE`", EnvVars: []string{"BUBBLEWASM_CONFIG"}},
			&cli.StringSliceFlag{Name: "route", Aliases: []string{"r"}, Usage: "build only route `NAME` (repeatable)"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the commands without running them"},
		},
		Action: buildAction,
	}
}

// buildJob builds one module file.
type buildJob struct {
	routes []string // the routes that serve the module
	out    string   // the module path: the output
	lang   string   // for progress lines: go, c, rust, wat, assemblyscript, tinygo, sh
	dir    string   // working directory
	argv   []string
	env    []string // added to the environment
}

// String is the job's command as a shell would read it.
func (j *buildJob) String() string {
	var b strings.Builder
	b.WriteString("(cd " + shellQuote(j.dir) + " && ")
	for _, e := range j.env {
		b.WriteString(shellQuote(e) + " ")
	}
	for i, a := range j.argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a))
	}
	b.WriteString(")")
	return b.String()
}

func buildAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fail(exitUsage, fmt.Errorf("build takes no arguments (use -c FILE), got %q", c.Args().Slice()))
	}
	file := c.String("config")
	opts := app.ConfigOptions()
	opts.SkipVarSources = true // building needs no secrets
	cfg, err := config.LoadWith(file, opts)
	if err != nil {
		return fail(exitConfig, err)
	}
	routes := cfg.Routes
	if only := c.StringSlice("route"); len(only) > 0 {
		routes = nil
		for _, name := range only {
			i := slices.IndexFunc(cfg.Routes, func(r config.Route) bool { return r.Name == name })
			if i < 0 {
				return fail(exitUsage, fmt.Errorf("--route: %s has no route %q", file, name))
			}
			routes = append(routes, cfg.Routes[i])
		}
	}
	cfgDir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return fail(exitInternal, err)
	}
	out := c.App.Writer
	jobs, skipped := buildJobs(cfgDir, routes)
	for _, rc := range skipped {
		fmt.Fprintf(out, "route %s: no build recipe for %s; skipped\n", rc.Name, rc.Module)
	}
	if len(jobs) == 0 {
		fmt.Fprintf(out, "nothing to build: no route of %s has a build recipe (see bubblewasm build --help)\n", file)
		return nil
	}
	for _, j := range jobs {
		if err := checkOverwrite(j.out); err != nil {
			return fail(exitConfig, fmt.Errorf("route %s: %w", j.routes[0], err))
		}
	}
	for i, j := range jobs {
		what := "route " + j.routes[0]
		if len(j.routes) > 1 {
			what = "routes " + strings.Join(j.routes, ", ")
		}
		prefix := ""
		if len(jobs) > 1 {
			prefix = fmt.Sprintf("[%d/%d] ", i+1, len(jobs))
		}
		if c.Bool("dry-run") {
			fmt.Fprintf(out, "%s%s (%s): %s\n", prefix, what, j.lang, j)
			continue
		}
		fmt.Fprintf(out, "%sbuilding %s (%s)...\n", prefix, what, j.lang)
		if err := j.run(c); err != nil {
			return fail(exitConfig, fmt.Errorf("%s: %w", what, err))
		}
	}
	if !c.Bool("dry-run") {
		fmt.Fprintf(out, "built %d module(s)\n", len(jobs))
	}
	return nil
}

// buildJobs returns the jobs that build the modules of routes, one per
// module, and the routes with a module but no recipe.
func buildJobs(cfgDir string, routes []config.Route) (jobs []*buildJob, skipped []config.Route) {
	for _, rc := range routes {
		if rc.Module == "" { // served by a transport or a builtin: nothing to build
			continue
		}
		if i := slices.IndexFunc(jobs, func(j *buildJob) bool { return j.out == rc.Module }); i >= 0 {
			jobs[i].routes = append(jobs[i].routes, rc.Name)
			continue
		}
		job := findRecipe(cfgDir, rc)
		if job == nil {
			skipped = append(skipped, rc)
			continue
		}
		jobs = append(jobs, job)
	}
	return jobs, skipped
}

// run runs the job, showing the toolchain's output on failure.
func (j *buildJob) run(c *cli.Context) error {
	if _, err := exec.LookPath(j.argv[0]); err != nil {
		hint := toolHints[filepath.Base(j.argv[0])]
		if hint != "" {
			hint = " (" + hint + ")"
		}
		return fmt.Errorf("%s not found on PATH%s", j.argv[0], hint)
	}
	if err := os.MkdirAll(filepath.Dir(j.out), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(c.Context, j.argv[0], j.argv[1:]...)
	cmd.Dir = j.dir
	cmd.Env = append(os.Environ(), j.env...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		w := c.App.ErrWriter
		fmt.Fprintf(w, "$ %s\n", j)
		w.Write(output.Bytes())
		if output.Len() > 0 && !bytes.HasSuffix(output.Bytes(), []byte("\n")) {
			fmt.Fprintln(w)
		}
		return fmt.Errorf("building %s failed: %w", j.out, err)
	}
	if !isFile(j.out) {
		return fmt.Errorf("the recipe succeeded but did not write %s: %s", j.out, j)
	}
	return nil
}

// checkOverwrite refuses an output path that holds something other than a
// module: a directory, or a file that does not start with the wasm magic
// bytes (such as a source file a route's module names by mistake). A
// missing or empty file may be written.
func checkOverwrite(out string) error {
	f, err := os.Open(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		return fmt.Errorf("%s is a directory, not a module; refusing to build over it", out)
	}
	magic := make([]byte, len(wasmMagic))
	n, err := io.ReadFull(f, magic)
	if n == 0 && err == io.EOF || bytes.Equal(magic, wasmMagic) {
		return nil
	}
	return fmt.Errorf("%s exists and is not a wasm module (it does not start with \\0asm); refusing to overwrite it: "+
		"a route's module must name the built .wasm file, not a source file (move the file away if it is an old output)", out)
}

// wasmMagic starts every WebAssembly binary module.
var wasmMagic = []byte("\x00asm")

var toolHints = map[string]string{
	"clang":    "Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32",
	"rustc":    "Debian: apt-get install rustc libstd-rust-dev-wasm32",
	"wat2wasm": "Debian: apt-get install wabt",
	"go":       "https://go.dev/dl",
	"sh":       "a POSIX shell",
}

// findRecipe returns the job that builds rc's module, or nil (see
// buildHelp for the order).
func findRecipe(cfgDir string, rc config.Route) *buildJob {
	out := rc.Module
	dir := filepath.Dir(out)
	base := strings.TrimSuffix(filepath.Base(out), ".wasm")
	job := &buildJob{routes: []string{rc.Name}, out: out}
	if rc.Build != "" {
		job.lang, job.dir = commandLang(rc.Build, cfgDir), cfgDir
		job.argv = []string{"sh", "-c", rc.Build}
		job.env = []string{"OUT=" + out}
		return job
	}
	switch {
	case isFile(filepath.Join(dir, base+".c")):
		cc := firstNonEmpty(os.Getenv("WASI_CC"), "clang")
		job.lang, job.dir = "c", dir
		job.argv = []string{cc, "--target=wasm32-wasi", "-O2", "-o", out, base + ".c"}
		if root := os.Getenv("WASI_SYSROOT"); root != "" {
			job.argv = slices.Insert(job.argv, 1, "--sysroot="+root)
		}
		return job
	case isFile(filepath.Join(dir, base+".rs")):
		job.lang, job.dir = "rust", dir
		job.argv = []string{firstNonEmpty(os.Getenv("RUSTC"), "rustc"), "--target", "wasm32-wasi", "-O", "-o", out, base + ".rs"}
		return job
	case isFile(filepath.Join(dir, base+".wat")):
		job.lang, job.dir = "wat", dir
		job.argv = []string{"wat2wasm", base + ".wat", "-o", out}
		return job
	}
	for _, src := range []string{filepath.Join(dir, base), dir} {
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			continue
		}
		switch {
		case isFile(filepath.Join(src, "build.sh")):
			job.lang, job.dir = detectLang(src), src
			job.argv = []string{"sh", "build.sh", out}
			return job
		case isFile(filepath.Join(src, "go.mod")) && src != dir, isFile(filepath.Join(src, "main.go")), src != dir && hasExt(src, ".go"):
			job.lang, job.dir = "go", src
			job.argv = []string{"go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "."}
			job.env = []string{"GOOS=wasip1", "GOARCH=wasm"}
			return job
		}
	}
	return nil
}

// commandLang guesses the language a build command builds, for progress
// lines only: by the toolchain it names, else by the sources next to the
// script it runs, else by the sources in dir.
func commandLang(command, dir string) string {
	words := strings.Fields(command)
	for _, w := range words {
		switch filepath.Base(strings.Trim(w, `"'`)) {
		case "go":
			return "go"
		case "tinygo":
			return "tinygo"
		case "cargo", "rustc":
			return "rust"
		case "clang", "gcc", "cc":
			return "c"
		case "asc":
			return "assemblyscript"
		case "wat2wasm":
			return "wat"
		}
	}
	for _, w := range words {
		if w = strings.Trim(w, `"'`); strings.HasSuffix(w, ".sh") {
			if !filepath.IsAbs(w) {
				w = filepath.Join(dir, w)
			}
			return detectLang(filepath.Dir(w))
		}
	}
	return detectLang(dir)
}

// detectLang guesses the language of the sources in dir, for progress
// lines only.
func detectLang(dir string) string {
	switch {
	case isFile(filepath.Join(dir, "Cargo.toml")), hasExt(dir, ".rs"):
		return "rust"
	case isFile(filepath.Join(dir, "asconfig.json")), hasExt(dir, ".ts"):
		return "assemblyscript"
	case isFile(filepath.Join(dir, "go.mod")), hasExt(dir, ".go"):
		if strings.Contains(readFile(filepath.Join(dir, "build.sh")), "tinygo") {
			return "tinygo"
		}
		return "go"
	case hasExt(dir, ".c"):
		return "c"
	case hasExt(dir, ".wat"):
		return "wat"
	}
	return "sh"
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func hasExt(dir, ext string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	return len(m) > 0
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// shellQuote quotes s for sh when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
