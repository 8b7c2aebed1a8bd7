package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe a module: ABI, imports, exports, memory, tables, custom sections",
		ArgsUsage: "MODULE.wasm",
		Description: "Decodes and validates the module (nothing runs) and prints the ABI it speaks\n" +
			"(v1: exports bubble_handle; cgi: a WASI command, exports _start; unknown), whether\n" +
			"this host would load it as such, the import modules it asks for (the ABI,\n" +
			"WASI, extensions) with every imported function's signature, its exports,\n" +
			"memory limits in 64 KiB pages, tables, custom sections and size.\n" +
			"Exit code 3 when the file is not a valid WebAssembly module.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object instead of text"},
		},
		Action: inspectAction,
	}
}

// Inspection is what `inspect --json` prints.
type Inspection struct {
	File string `json:"file"`
	Size int64  `json:"size"`
	// ABI is "v1", "cgi" or "unknown".
	ABI string `json:"abi"`
	// Loadable reports whether this host would serve the module with that
	// ABI; Problems says why not.
	Loadable       bool              `json:"loadable"`
	Problems       []string          `json:"problems,omitempty"`
	ImportModules  []ImportModule    `json:"import_modules"`
	Exports        []ExportInfo      `json:"exports"`
	Memories       []MemoryInfo      `json:"memories"`
	Tables         []TableInfo       `json:"tables"`
	Globals        int               `json:"globals"`
	Functions      int               `json:"functions"`
	CustomSections []CustomSectionIn `json:"custom_sections"`
}

// ImportModule is one import module and what the guest imports from it.
type ImportModule struct {
	Name string `json:"name"`
	// Kind is "abi" (bubblewasm_v1), "wasi", "extension" (another
	// bubblewasm_* module) or "unknown".
	Kind string `json:"kind"`
	// Provided reports whether this host provides the module.
	Provided bool         `json:"provided"`
	Imports  []ImportInfo `json:"imports"`
}

// ImportInfo is one import.
type ImportInfo struct {
	Name string `json:"name"`
	// Kind is "func", "table", "memory", "global" or "tag".
	Kind      string `json:"kind"`
	Signature string `json:"signature,omitempty"`
}

// ExportInfo is one export.
type ExportInfo struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Signature string `json:"signature,omitempty"`
}

// MemoryInfo is one memory, imported or defined.
type MemoryInfo struct {
	Imported bool     `json:"imported"`
	Exports  []string `json:"exports,omitempty"`
	MinPages uint64   `json:"min_pages"`
	// MaxPages is absent when the memory has no maximum.
	MaxPages *uint64 `json:"max_pages,omitempty"`
	Shared   bool    `json:"shared,omitempty"`
	Memory64 bool    `json:"memory64,omitempty"`
}

// TableInfo is one table, imported or defined.
type TableInfo struct {
	Imported bool    `json:"imported"`
	Type     string  `json:"type"`
	Min      uint64  `json:"min"`
	Max      *uint64 `json:"max,omitempty"`
}

// CustomSectionIn is a custom section's name and size.
type CustomSectionIn struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

func inspectAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return fail(exitUsage, fmt.Errorf("inspect takes one module, got %d arguments", c.NArg()))
	}
	path := c.Args().First()
	bin, err := os.ReadFile(path)
	if err != nil {
		return fail(exitConfig, err)
	}
	in, err := inspectModule(c.Context, path, bin)
	if err != nil {
		return fail(exitConfig, fmt.Errorf("%s: %w", path, err))
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	in.writeText(c.App.Writer)
	return nil
}

// inspectModule decodes and validates bin with wazero's interpreter (no
// machine code is generated) and reads what wazero does not expose —
// tables, non-function imports and exports, memory flags, custom sections —
// from the binary itself.
func inspectModule(ctx context.Context, path string, bin []byte) (*Inspection, error) {
	st, err := parseStructure(bin)
	if err != nil {
		return nil, fmt.Errorf("not a WebAssembly module: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	mod := compiledInfo{cm}
	in := &Inspection{File: path, Size: int64(len(bin)), ABI: "unknown", Globals: st.globals, Functions: st.functions,
		ImportModules: []ImportModule{}, Exports: []ExportInfo{}, Memories: st.memories, Tables: st.tables, CustomSections: st.custom}

	switch wasm.Detect(mod) {
	case wasm.ABIV1:
		in.ABI = "v1"
		err = wasm.Validate(mod)
	case wasm.ABICGI:
		in.ABI = "cgi"
		err = wasm.ValidateCGI(mod)
	default:
		err = fmt.Errorf("it exports neither %s (ABI v1) nor %s (a WASI command, served as CGI)", abi.ExportHandle, abi.ExportStart)
	}
	if err != nil {
		_, detail, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			detail = err.Error()
		}
		in.Problems = strings.Split(detail, "; ")
	}
	for _, imp := range st.imports {
		if imp.kind != "func" { // the host's import modules export functions only
			in.Problems = append(in.Problems, fmt.Sprintf("it imports the %s %s.%s, which this host does not provide", imp.kind, imp.module, imp.name))
		}
	}
	in.Loadable = len(in.Problems) == 0

	sigs := map[string]string{} // module\x00name -> signature of imported functions
	for _, f := range cm.ImportedFunctions() {
		m, n, _ := f.Import()
		sigs[m+"\x00"+n] = signatureOf(f).String()
	}
	for _, imp := range st.imports {
		i := slices.IndexFunc(in.ImportModules, func(m ImportModule) bool { return m.Name == imp.module })
		if i < 0 {
			kind, provided := classifyImportModule(imp.module)
			in.ImportModules = append(in.ImportModules, ImportModule{Name: imp.module, Kind: kind, Provided: provided})
			i = len(in.ImportModules) - 1
		}
		info := ImportInfo{Name: imp.name, Kind: imp.kind}
		if imp.kind == "func" {
			info.Signature = sigs[imp.module+"\x00"+imp.name]
		}
		in.ImportModules[i].Imports = append(in.ImportModules[i].Imports, info)
	}
	funcs := cm.ExportedFunctions()
	for _, e := range st.exports {
		info := ExportInfo{Name: e.name, Kind: e.kind}
		if f, ok := funcs[e.name]; ok && e.kind == "func" {
			info.Signature = signatureOf(f).String()
		}
		in.Exports = append(in.Exports, info)
		if e.kind == "memory" && int(e.index) < len(in.Memories) {
			in.Memories[e.index].Exports = append(in.Memories[e.index].Exports, e.name)
		}
	}
	return in, nil
}

// classifyImportModule says what an import module is and whether this host
// provides it.
func classifyImportModule(name string) (kind string, provided bool) {
	switch {
	case name == abi.ModuleName:
		return "abi", true
	case name == "wasi_snapshot_preview1":
		return "wasi", true
	case strings.HasPrefix(name, "bubblewasm_"):
		for _, hm := range abi.Modules() {
			if hm.Name == name {
				return "extension", true
			}
		}
		return "extension", false
	}
	return "unknown", false
}

func signatureOf(f api.FunctionDefinition) wasm.Signature {
	conv := func(ts []api.ValueType) []wasm.ValueType {
		out := make([]wasm.ValueType, len(ts))
		for i, t := range ts {
			out[i] = wasm.ValueType(t)
		}
		return out
	}
	return wasm.Signature{Params: conv(f.ParamTypes()), Results: conv(f.ResultTypes())}
}

// compiledInfo adapts a wazero CompiledModule to the query half of
// wasm.Module, so that the server's own validation runs on it.
type compiledInfo struct{ cm wazero.CompiledModule }

func (m compiledInfo) Imports() []wasm.Import {
	var out []wasm.Import
	for _, f := range m.cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		out = append(out, wasm.Import{Module: mod, Name: name, Signature: signatureOf(f)})
	}
	return out
}

func (m compiledInfo) Exports() []wasm.Export {
	var out []wasm.Export
	for name, f := range m.cm.ExportedFunctions() {
		out = append(out, wasm.Export{Name: name, Signature: signatureOf(f)})
	}
	return out
}

func (m compiledInfo) ExportsMemory(name string) bool {
	_, ok := m.cm.ExportedMemories()[name]
	return ok
}

var errInspectOnly = errors.New("inspect does not run modules")

func (compiledInfo) Instantiate(context.Context, wasm.InstanceConfig) (wasm.Instance, error) {
	return nil, errInspectOnly
}

func (compiledInfo) RunCommand(context.Context, wasm.InstanceConfig) (uint32, error) {
	return 0, errInspectOnly
}

func (compiledInfo) Close(context.Context) error { return nil }

func (in *Inspection) writeText(w io.Writer) {
	fmt.Fprintf(w, "file:      %s\n", in.File)
	fmt.Fprintf(w, "size:      %d bytes (%s)\n", in.Size, humanBytes(uint64(in.Size)))
	status := "loadable by this host"
	if !in.Loadable {
		status = "not loadable: " + strings.Join(in.Problems, "; ")
	}
	fmt.Fprintf(w, "abi:       %s (%s)\n", in.ABI, status)
	fmt.Fprintf(w, "functions: %d defined; globals: %d defined\n", in.Functions, in.Globals)

	fmt.Fprintf(w, "\nimport modules (%d):\n", len(in.ImportModules))
	for _, m := range in.ImportModules {
		desc := map[string]string{
			"abi":        "the bubblewasm ABI v1",
			"wasi":       "WASI preview 1",
			"extension":  "a bubblewasm extension (needs a grant on its route)",
			"extension?": "a bubblewasm extension this host does not provide",
			"unknown":    "not provided by this host",
		}[m.Kind+map[bool]string{true: "", false: "?"}[m.Provided || m.Kind != "extension"]]
		fmt.Fprintf(w, "  %s: %s\n", m.Name, desc)
		for _, imp := range m.Imports {
			if imp.Kind == "func" {
				fmt.Fprintf(w, "    %s %s\n", imp.Name, imp.Signature)
			} else {
				fmt.Fprintf(w, "    %s (%s)\n", imp.Name, imp.Kind)
			}
		}
	}

	fmt.Fprintf(w, "\nexports (%d):\n", len(in.Exports))
	for _, e := range in.Exports {
		if e.Signature != "" {
			fmt.Fprintf(w, "  %-7s%s %s\n", e.Kind, e.Name, e.Signature)
		} else {
			fmt.Fprintf(w, "  %-7s%s\n", e.Kind, e.Name)
		}
	}

	fmt.Fprintf(w, "\nmemories (%d):\n", len(in.Memories))
	for i, m := range in.Memories {
		max := "no maximum"
		if m.MaxPages != nil {
			max = fmt.Sprintf("max %d pages (%s)", *m.MaxPages, humanBytes(*m.MaxPages*65536))
		}
		var notes []string
		if m.Imported {
			notes = append(notes, "imported")
		}
		if len(m.Exports) > 0 {
			notes = append(notes, "exported as "+strings.Join(m.Exports, ", "))
		}
		if m.Shared {
			notes = append(notes, "shared")
		}
		if m.Memory64 {
			notes = append(notes, "64-bit")
		}
		fmt.Fprintf(w, "  %d: initial %d pages (%s), %s", i, m.MinPages, humanBytes(m.MinPages*65536), max)
		if len(notes) > 0 {
			fmt.Fprintf(w, "; %s", strings.Join(notes, ", "))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "\ntables (%d):\n", len(in.Tables))
	for i, t := range in.Tables {
		max := "no maximum"
		if t.Max != nil {
			max = fmt.Sprintf("max %d", *t.Max)
		}
		imported := ""
		if t.Imported {
			imported = "; imported"
		}
		fmt.Fprintf(w, "  %d: %s, initial %d, %s%s\n", i, t.Type, t.Min, max, imported)
	}

	fmt.Fprintf(w, "\ncustom sections (%d):\n", len(in.CustomSections))
	for _, s := range in.CustomSections {
		fmt.Fprintf(w, "  %s: %d bytes\n", s.Name, s.Size)
	}
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// structure is what inspect reads from the binary directly.
type structure struct {
	imports   []rawImport
	exports   []rawExport
	memories  []MemoryInfo
	tables    []TableInfo
	globals   int
	functions int
	custom    []CustomSectionIn
}

type rawImport struct{ module, name, kind string }

type rawExport struct {
	name, kind string
	index      uint32
}

var externKinds = []string{"func", "table", "memory", "global", "tag"}

// parseStructure reads the sections of a binary that inspect reports on.
// It checks only what it reads; wazero validates the whole module.
func parseStructure(bin []byte) (*structure, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errors.New("no \\0asm magic number at the start")
	}
	if string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("binary format version %x, want 1 (a component or a newer format?)", bin[4:8])
	}
	st := &structure{memories: []MemoryInfo{}, tables: []TableInfo{}, custom: []CustomSectionIn{}}
	r := &binReader{b: bin, pos: 8}
	for r.pos < len(bin) && r.err == nil {
		id := r.byte()
		size := r.u64()
		if r.err != nil {
			break
		}
		if size > uint64(len(bin)-r.pos) {
			return nil, fmt.Errorf("section %d at byte %d runs past the end of the file", id, r.pos)
		}
		body := &binReader{b: bin[r.pos : r.pos+int(size)]}
		r.pos += int(size)
		switch id {
		case 0:
			name := body.name()
			st.custom = append(st.custom, CustomSectionIn{Name: name, Size: int(size)})
		case 2:
			for n := body.u64(); n > 0 && body.err == nil; n-- {
				imp := rawImport{module: body.name(), name: body.name()}
				kind := body.byte()
				if int(kind) >= len(externKinds) {
					return nil, fmt.Errorf("import %s.%s has unknown kind %d", imp.module, imp.name, kind)
				}
				imp.kind = externKinds[kind]
				switch kind {
				case 0:
					body.u64()
				case 1:
					st.tables = append(st.tables, body.table(true))
				case 2:
					st.memories = append(st.memories, body.memory(true))
				case 3:
					body.byte()
					body.byte()
				case 4:
					body.byte()
					body.u64()
				}
				st.imports = append(st.imports, imp)
			}
		case 3:
			st.functions = int(body.u64())
		case 4:
			for n := body.u64(); n > 0 && body.err == nil; n-- {
				st.tables = append(st.tables, body.table(false))
			}
		case 5:
			for n := body.u64(); n > 0 && body.err == nil; n-- {
				st.memories = append(st.memories, body.memory(false))
			}
		case 6:
			st.globals = int(body.u64())
		case 7:
			for n := body.u64(); n > 0 && body.err == nil; n-- {
				e := rawExport{name: body.name()}
				kind := body.byte()
				if int(kind) < len(externKinds) {
					e.kind = externKinds[kind]
				} else {
					e.kind = fmt.Sprintf("kind%d", kind)
				}
				e.index = uint32(body.u64())
				st.exports = append(st.exports, e)
			}
		}
		if body.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, body.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return st, nil
}

type binReader struct {
	b   []byte
	pos int
	err error
}

func (r *binReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.err = errors.New("unexpected end of data")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// u64 reads an unsigned LEB128 number.
func (r *binReader) u64() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("malformed LEB128 number")
	return 0
}

func (r *binReader) name() string {
	n := r.u64()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)-r.pos) {
		r.err = errors.New("a name runs past the end of its section")
		return ""
	}
	s := string(r.b[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s
}

// limits reads limits: flags, minimum and optional maximum.
func (r *binReader) limits() (flags byte, min uint64, max *uint64) {
	flags = r.byte()
	min = r.u64()
	if flags&1 != 0 {
		m := r.u64()
		max = &m
	}
	return flags, min, max
}

func (r *binReader) table(imported bool) TableInfo {
	t := TableInfo{Imported: imported}
	switch ref := r.byte(); ref {
	case 0x70:
		t.Type = "funcref"
	case 0x6f:
		t.Type = "externref"
	default:
		t.Type = fmt.Sprintf("reftype 0x%02x", ref)
	}
	_, t.Min, t.Max = r.limits()
	return t
}

func (r *binReader) memory(imported bool) MemoryInfo {
	flags, min, max := r.limits()
	return MemoryInfo{Imported: imported, MinPages: min, MaxPages: max, Shared: flags&2 != 0, Memory64: flags&4 != 0}
}
