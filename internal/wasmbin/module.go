package wasmbin

// Section ids of the binary format.
const (
	SecCustom    byte = 0
	SecType      byte = 1
	SecImport    byte = 2
	SecFunction  byte = 3
	SecTable     byte = 4
	SecMemory    byte = 5
	SecGlobal    byte = 6
	SecExport    byte = 7
	SecStart     byte = 8
	SecElement   byte = 9
	SecCode      byte = 10
	SecData      byte = 11
	SecDataCount byte = 12
)

// ValType is a value type.
type ValType byte

// Value types of WebAssembly 2.0.
const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	V128      ValType = 0x7b
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
)

// String returns the text format's name of the type.
func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case V128:
		return "v128"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return "invalid"
}

// ExternKind is the kind of an import or export.
type ExternKind byte

// Import and export kinds.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
)

// String returns "func", "table", "memory" or "global".
func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	}
	return "invalid"
}

// FuncType is a function type.
type FuncType struct {
	Params, Results []ValType
}

// Limits are the limits of a table or memory.
type Limits struct {
	Min, Max uint32
	HasMax   bool
	// Shared marks a shared memory (threads; neither engine enables it).
	Shared bool
}

// TableType is the type of a table.
type TableType struct {
	Elem ValType // FuncRef or ExternRef
	Limits
}

// GlobalType is the type of a global.
type GlobalType struct {
	Type    ValType
	Mutable bool
}

// Import is one import. The field that matches Kind is set.
type Import struct {
	Module, Name string
	Kind         ExternKind
	Func         uint32 // type index
	Table        TableType
	Memory       Limits
	Global       GlobalType
}

// Global is a global the module defines.
type Global struct {
	GlobalType
	// Init is the constant expression that initializes it, its end
	// instruction included.
	Init []byte
}

// Export is one export.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// Code is the code entry of a defined function.
type Code struct {
	// Locals is the number of locals it declares (parameters not included).
	Locals uint32
	// Entry is the entry without its size prefix: the local declarations,
	// then the instructions up to and including the final end. It aliases
	// the parsed binary.
	Entry []byte

	expr span // the instructions, in the parsed binary
}

// span is a range of a binary.
type span struct {
	b        []byte
	pos, end int
}

// DataSegment is a data segment.
type DataSegment struct {
	// Passive marks a passive segment (memory.init copies it); an active
	// one is copied into memory Memory at Offset when the module is
	// instantiated.
	Passive bool
	Memory  uint32
	// Offset is an active segment's constant expression, its end
	// instruction included. It aliases the parsed binary.
	Offset []byte
	// Init is the segment's bytes. It aliases the parsed binary.
	Init []byte
}

// Custom is a custom section.
type Custom struct {
	Name   string
	Offset int // of the section's id byte
	Size   int // of its contents, name included
}

// Section is a section of a binary as it appears there.
type Section struct {
	ID byte
	// Offset is where its id byte is in the parsed binary (0 for a
	// section a caller makes).
	Offset int
	// Body is its contents, after the size. It aliases the parsed binary.
	Body []byte
}

// Names is what a well-formed "name" section holds that a module's
// rewrite keeps: the module's name and function names. Local names and
// other subsections are checked but not kept.
type Names struct {
	Module    string
	HasModule bool
	// Funcs are function names by index, in increasing index order.
	Funcs []NameAssoc
}

// NameAssoc names one index.
type NameAssoc struct {
	Index uint32
	Name  string
}

// Module is the structure of a binary module.
type Module struct {
	// Sections are every section in binary order, custom ones included.
	Sections []Section
	Types    []FuncType
	Imports  []Import
	// Funcs is the type index of each function the module defines.
	Funcs    []uint32
	Tables   []TableType // defined
	Memories []Limits    // defined
	Globals  []Global    // defined
	Exports  []Export
	Start    uint32
	HasStart bool
	// Elements and Data count element and data segments.
	Elements, Data int
	// DataSegments are the data segments, in order.
	DataSegments []DataSegment
	// DataCount is the data count section's value, when there is one.
	DataCount    uint32
	HasDataCount bool
	// Code has an entry per defined function.
	Code    []Code
	Customs []Custom
	// Names is the first "name" section, when it is well-formed.
	Names *Names
	// NamesError is why a "name" section was ignored, if one was.
	NamesError *Error

	funcImports []uint32 // type index of each imported function
}

// Imported counts the imports of one kind: the indices they take before
// the module's own functions, tables, memories or globals.
func (m *Module) Imported(kind ExternKind) uint32 {
	var n uint32
	for _, imp := range m.Imports {
		if imp.Kind == kind {
			n++
		}
	}
	return n
}

// NonCustom returns a new slice of m's sections without the custom ones.
func (m *Module) NonCustom() []Section {
	secs := make([]Section, 0, len(m.Sections))
	for _, s := range m.Sections {
		if s.ID != SecCustom {
			secs = append(secs, s)
		}
	}
	return secs
}

// FuncType returns the type of the function at index i of the function
// index space (imports first), if there is one.
func (m *Module) FuncType(i uint32) (FuncType, bool) {
	if uint64(i) < uint64(len(m.funcImports)) {
		return m.Types[m.funcImports[i]], true
	}
	i -= uint32(len(m.funcImports))
	if uint64(i) < uint64(len(m.Funcs)) {
		return m.Types[m.Funcs[i]], true
	}
	return FuncType{}, false
}
