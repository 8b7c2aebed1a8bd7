package main

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/template"

	"github.com/urfave/cli/v2"
)

// templates holds one directory per language; every file is a
// text/template named after the file it makes, plus ".tmpl" (so that Go
// tooling does not read the Go templates as source). "gitignore.tmpl"
// makes ".gitignore".
//
//go:embed templates
var templates embed.FS

// sourceModule is the module path of the bubblewasm source tree.
const sourceModule = "github.com/bubblewasm/bubblewasm"

// scaffoldLang is a language `new` knows.
type scaffoldLang struct {
	name    string
	base    string // a language whose templates come first (the lang's own replace them)
	title   string // for prose
	sdk     string // the SDK's directory in the source tree
	doc     string // where the SDK's API is described, in the source tree
	handler string // the scaffold's handler source file
}

// scaffoldLangs are the languages `new` knows: those whose guest SDK is in
// the source tree.
var scaffoldLangs = []scaffoldLang{
	{"go", "", "Go", "guest-sdk/go", "guest-sdk/go/README.md", "main.go"},
	{"tinygo", "go", "Go (built with TinyGo)", "guest-sdk/tinygo", "guest-sdk/go/README.md", "main.go"},
	{"c", "", "C", "guest-sdk/c", "guest-sdk/c/README.md", "handler.c"},
	{"rust", "", "Rust", "guest-sdk/rust", "guest-sdk/rust/README.md", "handler.rs"},
	{"assemblyscript", "", "AssemblyScript", "guest-sdk/assemblyscript", "guest-sdk/assemblyscript/assembly/bubble.ts", "handler.ts"},
}

func newCommand() *cli.Command {
	var langs []string
	for _, l := range scaffoldLangs {
		langs = append(langs, l.name)
	}
	return &cli.Command{
		Name:      "new",
		Usage:     "scaffold a handler project: source, build script, bubble.toml",
		ArgsUsage: "LANG NAME",
		Description: "Creates the directory NAME holding a hello handler in LANG\n(" + strings.Join(langs, ", ") + "),\n" +
			"its build script (build.sh, which `bubblewasm build` runs through the route's\n" +
			"build key) and a bubble.toml serving it on 127.0.0.1:8080, then prints the\n" +
			"commands that build and serve it.\n\n" +
			"The project uses the guest SDK of a bubblewasm source tree: --sdk PATH, or\n" +
			"by default the tree the current directory, NAME or this executable is in.\n" +
			"build.sh refers to the SDK there; for go and tinygo, go.mod has a replace\n" +
			"directive to the tree. The path is relative when the project is inside the\n" +
			"tree (they move together), absolute otherwise (AssemblyScript imports are\n" +
			"always relative). Without a tree, a release build of the CLI makes a go\n" +
			"project whose go.mod requires github.com/bubblewasm/bubblewasm at the CLI's\n" +
			"version (run go mod tidy first); other languages, and a development build,\n" +
			"ask for --sdk.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "sdk", Usage: "bubblewasm source tree `PATH` whose guest SDK the project uses", EnvVars: []string{"BUBBLEWASM_SDK"}},
		},
		Action: newAction,
	}
}

// scaffold is the data the templates see.
type scaffold struct {
	// Name is the project's base name: the route, the module file
	// (Name.wasm), the Go module path.
	Name string
	// Lang is the language; LangTitle its name in prose.
	Lang, LangTitle string
	// Handler is the handler's source file; SDKDir where the SDK's API is
	// described, in the source tree.
	Handler, SDKDir string
	// GoModule is set for languages built from a Go module (go, tinygo).
	GoModule bool
	// SDK is the bubblewasm source tree as the project refers to it
	// (relative to the project when possible), with forward slashes; ""
	// when there is none.
	SDK string
	// SDKRel is the source tree relative to the project, always (for
	// languages whose imports must be relative); "" when there is none.
	SDKRel string
	// GoVersion is the go line of a Go project's go.mod.
	GoVersion string
	// Version is the bubblewasm version a Go project requires when there
	// is no source tree.
	Version string
	// Steps are the commands that build and serve the project.
	Steps []string
}

var projectName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

func newAction(c *cli.Context) error {
	if c.NArg() != 2 {
		return fail(exitUsage, fmt.Errorf("new takes LANG and NAME (bubblewasm new go hello), got %d arguments", c.NArg()))
	}
	lang, dir := c.Args().Get(0), c.Args().Get(1)
	li := slices.IndexFunc(scaffoldLangs, func(l scaffoldLang) bool { return l.name == lang })
	if li < 0 {
		var names []string
		for _, l := range scaffoldLangs {
			names = append(names, l.name)
		}
		return fail(exitUsage, fmt.Errorf("unknown language %q (have %s)", lang, strings.Join(names, ", ")))
	}
	name := filepath.Base(dir)
	if !projectName.MatchString(name) {
		return fail(exitUsage, fmt.Errorf("project name %q: use a letter, then letters, digits, '-' or '_' (it names the route, the module file and the Go module)", name))
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fail(exitUsage, fmt.Errorf("%s already exists and is not empty", dir))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fail(exitInternal, err)
	}

	l := scaffoldLangs[li]
	s := &scaffold{Name: name, Lang: lang, LangTitle: l.title, Handler: l.handler, SDKDir: l.doc,
		GoModule: lang == "go" || l.base == "go"}
	root, err := sdkRoot(c.String("sdk"), filepath.Dir(abs))
	if err != nil {
		return fail(exitUsage, err)
	}
	if root != "" {
		if sdk := filepath.Join(root, l.sdk); !isDir(sdk) {
			return fail(exitUsage, fmt.Errorf("the source tree %s has no %s SDK (%s)", root, lang, sdk))
		}
		s.SDK = root
		// Relative when the project is inside the tree, so the pair moves
		// together; absolute otherwise.
		if in, err := filepath.Rel(root, abs); err == nil && !strings.HasPrefix(in, "..") {
			if rel, err := filepath.Rel(abs, root); err == nil {
				s.SDK = rel
			}
		}
		s.SDK = filepath.ToSlash(s.SDK)
		if rel, err := filepath.Rel(abs, root); err == nil {
			s.SDKRel = filepath.ToSlash(rel)
		} else {
			s.SDKRel = s.SDK
		}
	}
	switch {
	case s.GoModule:
		s.GoVersion = goVersion(root)
		if root == "" {
			if !releaseVersion.MatchString(version) {
				return fail(exitUsage, fmt.Errorf("the %s project needs the bubblewasm Go SDK: run from a bubblewasm source tree or pass --sdk PATH to one (this %s build of the CLI names no release to require)", lang, version))
			}
			s.Version = version
		}
	default:
		if root == "" {
			return fail(exitUsage, fmt.Errorf("the %s project needs the bubblewasm %s SDK: run from a bubblewasm source tree or pass --sdk PATH to one", lang, lang))
		}
	}
	s.Steps = []string{"cd " + shellQuote(dir)}
	if s.GoModule && s.SDK == "" {
		s.Steps = append(s.Steps, "go mod tidy")
	}
	s.Steps = append(s.Steps,
		"bubblewasm build                # or: sh build.sh",
		"bubblewasm run                  # serves ./bubble.toml",
		"curl http://127.0.0.1:8080/     # from another terminal")

	files, err := s.render()
	if err != nil {
		return fail(exitInternal, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(exitInternal, err)
	}
	var made []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(exitInternal, err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return fail(exitInternal, err)
		}
		made = append(made, f.name)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "created %s (%s): %s\n", dir, lang, strings.Join(made, ", "))
	if s.SDK != "" {
		fmt.Fprintf(w, "using the %s SDK of %s\n", lang, root)
	}
	fmt.Fprintf(w, "\nbuild and serve it:\n\n")
	for _, step := range s.Steps {
		fmt.Fprintf(w, "  %s\n", step)
	}
	return nil
}

type scaffoldFile struct {
	name string
	data []byte
	mode fs.FileMode
}

// render executes the common templates and the language's.
func (s *scaffold) render() ([]scaffoldFile, error) {
	var files []scaffoldFile
	dirs := []string{"common", s.Lang}
	if l := scaffoldLangs[slices.IndexFunc(scaffoldLangs, func(l scaffoldLang) bool { return l.name == s.Lang })]; l.base != "" {
		dirs = []string{"common", l.base, s.Lang}
	}
	for _, dir := range dirs {
		f, err := s.renderDir(path.Join("templates", dir))
		if err != nil {
			return nil, err
		}
		for _, nf := range f { // a later directory's file replaces an earlier one's
			files = slices.DeleteFunc(files, func(of scaffoldFile) bool { return of.name == nf.name })
			files = append(files, nf)
		}
	}
	slices.SortFunc(files, func(a, b scaffoldFile) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

func (s *scaffold) renderDir(root string) ([]scaffoldFile, error) {
	var files []scaffoldFile
	err := fs.WalkDir(templates, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
		if path.Base(name) == "gitignore" {
			name = path.Join(path.Dir(name), ".gitignore")
		}
		t, err := template.New(name).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		var out bytes.Buffer
		if err := t.Execute(&out, s); err != nil {
			return fmt.Errorf("template %s: %w", p, err)
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		files = append(files, scaffoldFile{name: name, data: out.Bytes(), mode: mode})
		return nil
	})
	return files, err
}

var releaseVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// sdkRoot returns the bubblewasm source tree: flag when set (it must be
// one), else the first tree found above the current directory, near (the
// project's parent) or this executable; "" when there is none.
func sdkRoot(flag, near string) (string, error) {
	if flag != "" {
		abs, err := filepath.Abs(flag)
		if err != nil {
			return "", err
		}
		if !isSourceTree(abs) {
			return "", fmt.Errorf("--sdk %s: not a bubblewasm source tree (no go.mod declaring module %s)", flag, sourceModule)
		}
		return abs, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	starts = append(starts, near)
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if isSourceTree(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", nil
}

// isSourceTree reports whether dir holds the go.mod of bubblewasm.
func isSourceTree(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == sourceModule
		}
	}
	return false
}

// goVersion is the go line for a Go project: the source tree's (a module
// may not require a newer Go than its main module declares), else the
// running toolchain's.
func goVersion(root string) string {
	if root != "" {
		if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "go" {
					return fields[1]
				}
			}
		}
	}
	if v := strings.TrimPrefix(runtime.Version(), "go"); regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`).MatchString(v) {
		return v
	}
	return "1.24"
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
