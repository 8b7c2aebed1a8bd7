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

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
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
	Provided bool `json:"provided"`
	// Grant is the route key that grants an extension (outbound for
	// bubblewasm_http_v1); "" when no key is needed.
	Grant   string       `json:"grant,omitempty"`
	Imports []ImportInfo `json:"imports"`
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
	// Ignored says why a "name" section is ignored (the server drops it
	// before the engine sees the module), if it is.
	Ignored string `json:"ignored,omitempty"`
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

// inspectModule reads bin with the host's bounded reader (which refuses
// what the server would refuse before any engine sees it), validates the
// module as the server does before loading it (wazero's validation; nothing
// is compiled to machine code), and describes it from what the reader
// decoded.
func inspectModule(ctx context.Context, path string, bin []byte) (*Inspection, error) {
	m, err := wasmbin.Parse(bin)
	if err != nil {
		return nil, fmt.Errorf("not a WebAssembly module: %w", err)
	}
	engine, err := app.NewEngine(config.EngineWazero, "")
	if err != nil {
		return nil, err
	}
	defer engine.Close(ctx)
	if err := engine.Validate(ctx, wasmbin.Encode(m.NonCustom())); err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	mod := moduleInfo{m}
	in := &Inspection{File: path, Size: int64(len(bin)), ABI: "unknown", Globals: len(m.Globals), Functions: len(m.Funcs),
		ImportModules: []ImportModule{}, Exports: []ExportInfo{}, Memories: []MemoryInfo{}, Tables: []TableInfo{}, CustomSections: []CustomSectionIn{}}

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
	for _, imp := range m.Imports {
		if imp.Kind != wasmbin.KindFunc { // the host's import modules export functions only
			in.Problems = append(in.Problems, fmt.Sprintf("it imports the %s %s.%s, which this host does not provide", imp.Kind, imp.Module, imp.Name))
		}
	}
	in.Loadable = len(in.Problems) == 0

	for _, imp := range m.Imports {
		i := slices.IndexFunc(in.ImportModules, func(im ImportModule) bool { return im.Name == imp.Module })
		if i < 0 {
			kind, provided := classifyImportModule(imp.Module)
			grant, _, _ := wasm.GrantKey(imp.Module)
			in.ImportModules = append(in.ImportModules, ImportModule{Name: imp.Module, Kind: kind, Provided: provided, Grant: grant})
			i = len(in.ImportModules) - 1
		}
		info := ImportInfo{Name: imp.Name, Kind: imp.Kind.String()}
		switch imp.Kind {
		case wasmbin.KindFunc:
			info.Signature = signatureOf(m.Types[imp.Func]).String()
		case wasmbin.KindTable:
			in.Tables = append(in.Tables, tableInfo(imp.Table, true))
		case wasmbin.KindMemory:
			in.Memories = append(in.Memories, memoryInfo(imp.Memory, true))
		}
		in.ImportModules[i].Imports = append(in.ImportModules[i].Imports, info)
	}
	for _, t := range m.Tables {
		in.Tables = append(in.Tables, tableInfo(t, false))
	}
	for _, l := range m.Memories {
		in.Memories = append(in.Memories, memoryInfo(l, false))
	}
	for _, e := range m.Exports {
		info := ExportInfo{Name: e.Name, Kind: e.Kind.String()}
		if ft, ok := m.FuncType(e.Index); ok && e.Kind == wasmbin.KindFunc {
			info.Signature = signatureOf(ft).String()
		}
		in.Exports = append(in.Exports, info)
		if e.Kind == wasmbin.KindMemory && int(e.Index) < len(in.Memories) {
			in.Memories[e.Index].Exports = append(in.Memories[e.Index].Exports, e.Name)
		}
	}
	names := 0
	for _, c := range m.Customs {
		info := CustomSectionIn{Name: c.Name, Size: c.Size}
		if c.Name == "name" {
			if names++; names == 1 && m.NamesError != nil {
				info.Ignored = "malformed: " + m.NamesError.Error()
			} else if names > 1 {
				info.Ignored = "not the first name section"
			}
		}
		in.CustomSections = append(in.CustomSections, info)
	}
	return in, nil
}

func tableInfo(t wasmbin.TableType, imported bool) TableInfo {
	info := TableInfo{Imported: imported, Type: t.Elem.String(), Min: uint64(t.Min)}
	if t.HasMax {
		max := uint64(t.Max)
		info.Max = &max
	}
	return info
}

func memoryInfo(l wasmbin.Limits, imported bool) MemoryInfo {
	info := MemoryInfo{Imported: imported, MinPages: uint64(l.Min), Shared: l.Shared}
	if l.HasMax {
		max := uint64(l.Max)
		info.MaxPages = &max
	}
	return info
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

// signatureOf is the signature of ft: wasm.ValueType is the reader's
// value type.
func signatureOf(ft wasmbin.FuncType) wasm.Signature {
	return wasm.Signature{Params: ft.Params, Results: ft.Results}
}

// moduleInfo adapts what the reader decoded to the query half of
// wasm.Module, so that the server's own ABI checks run on it.
type moduleInfo struct{ m *wasmbin.Module }

func (mi moduleInfo) Imports() []wasm.Import {
	var out []wasm.Import
	for _, imp := range mi.m.Imports {
		if imp.Kind == wasmbin.KindFunc {
			out = append(out, wasm.Import{Module: imp.Module, Name: imp.Name, Signature: signatureOf(mi.m.Types[imp.Func])})
		}
	}
	return out
}

func (mi moduleInfo) Exports() []wasm.Export {
	var out []wasm.Export
	for _, e := range mi.m.Exports {
		if ft, ok := mi.m.FuncType(e.Index); ok && e.Kind == wasmbin.KindFunc {
			out = append(out, wasm.Export{Name: e.Name, Signature: signatureOf(ft)})
		}
	}
	return out
}

func (mi moduleInfo) ExportsMemory(name string) bool {
	return slices.ContainsFunc(mi.m.Exports, func(e wasmbin.Export) bool { return e.Kind == wasmbin.KindMemory && e.Name == name })
}

var errInspectOnly = errors.New("inspect does not run modules")

func (moduleInfo) Instantiate(context.Context, wasm.InstanceConfig) (wasm.Instance, error) {
	return nil, errInspectOnly
}

func (moduleInfo) Close(context.Context) error { return nil }

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
		if m.Grant != "" {
			desc = fmt.Sprintf("a bubblewasm extension (granted by the route key %s)", m.Grant)
		}
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
		if s.Ignored != "" {
			fmt.Fprintf(w, "  %s: %d bytes (ignored: %s)\n", s.Name, s.Size, s.Ignored)
		} else {
			fmt.Fprintf(w, "  %s: %d bytes\n", s.Name, s.Size)
		}
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
