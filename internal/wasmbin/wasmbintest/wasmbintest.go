// Package wasmbintest builds the hostile module binaries that the tests of
// the wasm reader, the load path (both engines) and `bubblewasm inspect`
// share.
package wasmbintest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// Case is a hostile binary and how the host must treat it.
type Case struct {
	Name string
	Bin  []byte
	// Reader is in the error the reader (wasmbin.Parse) returns; "" when
	// the reader accepts the binary.
	Reader string
	// Load is in the error loading the binary as a handler returns, on
	// every engine.
	Load string
	// Names marks a binary whose only fault is its "name" section, which
	// the reader ignores: inspect describes it, the server loads what is
	// left.
	Names bool
}

// Module returns a binary module made of the header and sections.
func Module(sections ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s...)
	}
	return out
}

// Section returns a section with the given id and body parts.
func Section(id byte, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return append(wasmbin.AppendU32([]byte{id}, uint32(len(body))), body...)
}

// U32 encodes v as an unsigned LEB128 number.
func U32(v uint32) []byte { return wasmbin.AppendU32(nil, v) }

// Name encodes a name.
func Name(s string) []byte { return wasmbin.AppendName(nil, s) }

// maxCount is the count field of the bombs: 0xFFFFFFFF.
var maxCount = U32(1<<32 - 1)

var (
	voidType   = Section(wasmbin.SecType, U32(1), []byte{0x60, 0, 0})
	i32Type    = Section(wasmbin.SecType, U32(1), []byte{0x60, 0, 1, 0x7f})
	oneFunc    = Section(wasmbin.SecFunction, U32(1), U32(0))
	emptyBody  = Section(wasmbin.SecCode, U32(1), U32(2), []byte{0, 0x0b})
	memory     = Section(wasmbin.SecMemory, U32(1), []byte{0}, U32(1))
	handlerExp = Section(wasmbin.SecExport, U32(2), Name("memory"), []byte{2}, U32(0), Name("bubble_handle"), []byte{0}, U32(0))
)

// Hostile returns the hostile binaries: count bombs in every section (the
// count claims 0xFFFFFFFF elements; the bytes hold at most a few), the
// 12-byte code section of issue 8, locals that a few bytes multiply, name
// section bombs, and modules that name what only the load-time rewrite
// adds.
func Hostile() []Case {
	bomb := func(id byte, name string) Case {
		return Case{Name: name + " count", Bin: Module(Section(id, maxCount)), Reader: "4294967295 " + name + " do not fit"}
	}
	cases := []Case{
		{Name: "12-byte code section", Bin: Module(Section(wasmbin.SecCode, maxCount, U32(4), []byte{0x00, 0x41, 0x00, 0x0b})),
			Reader: "code section at byte 10: 4294967295 code entries do not fit in the 5 bytes left"},
		bomb(wasmbin.SecType, "types"),
		bomb(wasmbin.SecImport, "imports"),
		bomb(wasmbin.SecFunction, "functions"),
		bomb(wasmbin.SecTable, "tables"),
		bomb(wasmbin.SecMemory, "memories"),
		bomb(wasmbin.SecGlobal, "globals"),
		bomb(wasmbin.SecExport, "exports"),
		bomb(wasmbin.SecElement, "element segments"),
		bomb(wasmbin.SecCode, "code entries"),
		bomb(wasmbin.SecData, "data segments"),
		{Name: "section size", Bin: Module(Section(wasmbin.SecType, U32(0))[:1], maxCount, []byte{0}),
			Reader: "section size 4294967295 runs past the end of the binary"},
		{Name: "parameter count", Bin: Module(Section(wasmbin.SecType, U32(1), []byte{0x60}, maxCount)),
			Reader: "4294967295 parameters do not fit"},
		{Name: "import name length", Bin: Module(Section(wasmbin.SecImport, U32(1), maxCount)),
			Reader: "import module name of 4294967295 bytes runs past the end of the section"},
		{Name: "custom section name length", Bin: Module(Section(wasmbin.SecCustom, maxCount)),
			Reader: "custom section name of 4294967295 bytes runs past the end of the section"},
		{Name: "locals in one function", Bin: Module(voidType, oneFunc,
			Section(wasmbin.SecCode, U32(1), U32(8), U32(1), maxCount, []byte{0x7f, 0x0b})),
			Reader: "function body 0 declares more than 50000 locals"},
		{Name: "locals in many functions", Bin: manyLocals(),
			Reader: "over the module limit of 1048576"},
		{Name: "local declarations count", Bin: Module(voidType, oneFunc,
			Section(wasmbin.SecCode, U32(1), U32(6), maxCount, []byte{0x0b})),
			Reader: "4294967295 local declarations do not fit"},
		{Name: "data count", Bin: Module(Section(wasmbin.SecDataCount, maxCount)),
			Reader: "data count 4294967295, 0 segments"},
		{Name: "element function indices", Bin: Module(voidType, oneFunc,
			Section(wasmbin.SecElement, U32(1), U32(0), []byte{0x41, 0, 0x0b}, maxCount), emptyBody),
			Reader: "4294967295 function indices do not fit"},
		{Name: "data segment length", Bin: Module(memory, Section(wasmbin.SecData, U32(1), U32(1), maxCount)),
			Reader: "data segment of 4294967295 bytes runs past the end of the section"},
		{Name: "function names count", Bin: Module(i32Type, oneFunc, memory, handlerExp, emptyI32Body(),
			Section(wasmbin.SecCustom, Name("name"), []byte{1}, U32(5), maxCount)), Names: true},
		{Name: "local names count", Bin: Module(i32Type, oneFunc, memory, handlerExp, emptyI32Body(),
			Section(wasmbin.SecCustom, Name("name"), []byte{2}, U32(5), maxCount)), Names: true},
		{Name: "module name length", Bin: Module(i32Type, oneFunc, memory, handlerExp, emptyI32Body(),
			Section(wasmbin.SecCustom, Name("name"), []byte{0}, U32(5), maxCount)), Names: true},
		{Name: "10,000 empty custom sections", Bin: Module(bytes.Repeat(Section(wasmbin.SecCustom, Name("")), 10_000)),
			Load: "not a bubblewasm ABI v1 handler"},
		{Name: "br_table target count", Bin: Module(i32Type, oneFunc, memory, handlerExp,
			Section(wasmbin.SecCode, U32(1), U32(12), []byte{0, 0x02, 0x40, 0x41, 0, 0x0e}, maxCount, []byte{0x0b})),
			Load: "invalid module"},
	}
	return append(cases, NewIndices()...)
}

// emptyI32Body is a code section whose one function returns 0.
func emptyI32Body() []byte {
	return Section(wasmbin.SecCode, U32(1), U32(4), []byte{0, 0x41, 0, 0x0b})
}

// manyLocals is a module whose functions declare 50,000 locals each, in
// 21 functions: 1,050,000 locals from about 200 bytes.
func manyLocals() []byte {
	const n = 21
	funcs := [][]byte{U32(n)}
	code := [][]byte{U32(n)}
	entry := append(append(U32(1), U32(50_000)...), 0x7f, 0x0b)
	for range n {
		funcs = append(funcs, U32(0))
		code = append(code, U32(uint32(len(entry))), entry)
	}
	return Module(voidType, Section(wasmbin.SecFunction, funcs...), Section(wasmbin.SecCode, code...))
}

// NewIndices returns handler modules that are invalid only because they
// name what the stack guard adds (see server/wasm's guardStack): with one
// function defined and no globals, function index 1 is where the rewrite
// moves the unguarded original, and global 0 is its stack counter. Were
// they rewritten before validation, both would load and recurse without a
// bound.
func NewIndices() []Case {
	return []Case{
		{Name: "calls the unguarded original (index n+i)", Bin: Module(i32Type, oneFunc, memory, handlerExp,
			Section(wasmbin.SecCode, U32(1), U32(4), []byte{0, 0x10, 1, 0x0b})), // call 1
			Load: "invalid module"},
		{Name: "resets the stack counter (global.set n)", Bin: Module(i32Type, oneFunc, memory, handlerExp,
			Section(wasmbin.SecCode, U32(1), U32(8), []byte{0, 0x41, 0, 0x24, 0, 0x10, 0, 0x0b})), // global.set 0 (i32.const 0); call 0
			Load: "invalid module"},
	}
}

// SpecModule is one binary module of wazero's copy of the WebAssembly
// specification tests.
type SpecModule struct {
	Path string
	// Kind is "module" (valid), "assert_invalid" or "assert_malformed".
	Kind string
	// Text is the failure the specification expects, for the last two.
	Text string
}

// SpecCorpus returns the binary modules of the specification tests that
// wazero's module (at the version go.mod requires) carries in the Go module
// cache: WebAssembly 1.0 and 2.0, in the order of their manifests. It skips
// the test when they are not there.
func SpecCorpus(t testing.TB) []SpecModule {
	t.Helper()
	out, err := LoadSpecCorpus()
	if err != nil {
		t.Skipf("skipping the spec corpus: %v", err)
	}
	return out
}

// LoadSpecCorpus is SpecCorpus for a fuzz target's seeds, which do without
// the corpus when it is missing.
func LoadSpecCorpus() ([]SpecModule, error) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil || len(strings.TrimSpace(string(dir))) == 0 {
		return nil, fmt.Errorf("wazero's module is not in the module cache (%v)", err)
	}
	root := filepath.Join(strings.TrimSpace(string(dir)), "internal/integration_test/spectest")
	var out []SpecModule
	for _, v := range []string{"v1", "v2"} {
		manifests, _ := filepath.Glob(filepath.Join(root, v, "testdata", "*.json"))
		for _, path := range manifests {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			var m struct {
				Commands []struct {
					Type, Filename, Text string
				}
			}
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			for _, c := range m.Commands {
				switch {
				case !strings.HasSuffix(c.Filename, ".wasm"):
				case c.Type == "module", c.Type == "assert_invalid", c.Type == "assert_malformed":
					out = append(out, SpecModule{Path: filepath.Join(filepath.Dir(path), c.Filename), Kind: c.Type, Text: c.Text})
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no spec test modules under %s", root)
	}
	return out, nil
}

// Seeds adds the binaries of the spec corpus of the given kinds (all when
// none is given), and the hostile ones, to a fuzz target's seed corpus.
func Seeds(f *testing.F, kinds ...string) {
	for _, c := range Hostile() {
		f.Add(c.Bin)
	}
	corpus, err := LoadSpecCorpus()
	if err != nil {
		f.Logf("fuzzing without the spec corpus seeds: %v", err)
		return
	}
	for _, sm := range corpus {
		if len(kinds) > 0 && !slices.Contains(kinds, sm.Kind) {
			continue
		}
		bin, err := os.ReadFile(sm.Path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bin)
	}
}
