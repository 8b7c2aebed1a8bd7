package abi

import "github.com/bubblewasm/bubblewasm/abi/spec"

// ModuleName is the import module that holds every host function of ABI
// version 1. A guest that imports from it speaks version 1.
const ModuleName = "bubblewasm_v1"

// Version is the ABI version this package implements.
const Version = 1

// Host function names in ModuleName. ABI.md gives each one's contract.
const (
	// FuncEnvGet is env_get(key_ptr, key_len, buf_ptr, buf_len) -> i32: the
	// value's length (size negotiation) or ErrNotFound.
	FuncEnvGet = "env_get"
	// FuncEnvKeys is env_keys(buf_ptr, buf_len) -> i32: every key followed by
	// a NUL byte, sorted; returns the total length (size negotiation).
	FuncEnvKeys = "env_keys"
	// FuncEnvAll is env_all(buf_ptr, buf_len) -> i32: every key and its
	// value in one call, sorted by key: the key, a NUL byte, the value's
	// length as 4 bytes little-endian, the value; returns the total length
	// (size negotiation).
	FuncEnvAll = "env_all"
	// FuncRead is read(buf_ptr, buf_len) -> i32: bytes read, 0 at end of
	// input, or a negative error.
	FuncRead = "read"
	// FuncWrite is write(buf_ptr, buf_len) -> i32: buf_len or a negative
	// error. The first write commits status and headers.
	FuncWrite = "write"
	// FuncFlush is flush() -> i32: pushes buffered output to the peer.
	FuncFlush = "flush"
	// FuncSetStatus is set_status(code) -> i32.
	FuncSetStatus = "set_status"
	// FuncSetHeader is set_header(name_ptr, name_len, value_ptr, value_len)
	// -> i32: replaces the header's values.
	FuncSetHeader = "set_header"
	// FuncAddHeader is add_header(name_ptr, name_len, value_ptr, value_len)
	// -> i32: appends a value.
	FuncAddHeader = "add_header"
	// FuncLog is log(level, msg_ptr, msg_len): one record in the server log.
	FuncLog = "log"
)

// Guest export names.
const (
	// ExportMemory is the guest's linear memory; required.
	ExportMemory = "memory"
	// ExportHandle is bubble_handle() -> i32, called once per exchange;
	// required. Zero means success.
	ExportHandle = "bubble_handle"
	// ExportInit is bubble_init() -> i32, called once per instance after
	// ExportInitialize; optional. Non-zero rejects the instance.
	ExportInit = "bubble_init"
	// ExportInitialize is the WASI reactor initializer _initialize() -> (),
	// called first on every new instance when present.
	ExportInitialize = "_initialize"
	// ExportStart is the WASI command entry _start() -> (). A module with it
	// and without ExportHandle is a command module, not an ABI v1 handler.
	ExportStart = "_start"
)

// Result codes returned by host functions, from package spec (their one
// home, shared with the Go guest SDK). Non-negative results are lengths or
// counts; these negative values are errors.
const (
	ErrNotFound  = spec.ErrNotFound  // the env key does not exist
	ErrInvalid   = spec.ErrInvalid   // an argument is not acceptable
	ErrCommitted = spec.ErrCommitted // metadata can no longer change, output was written
	ErrClosed    = spec.ErrClosed    // the peer went away or the output is closed
	ErrIO        = spec.ErrIO        // input or output failed for another reason
	ErrTimeout   = spec.ErrTimeout   // the exchange deadline passed during the call
	ErrTooLarge  = spec.ErrTooLarge  // the input exceeds a configured limit
	ErrDenied    = spec.ErrDenied    // an extension call outside the route's grant
	ErrFull      = spec.ErrFull      // a store or service is at capacity
)

// ErrorName returns the ABI.md name of a negative result code, such as
// "ERR_CLOSED", or "" for a code this version does not define.
func ErrorName(code int32) string { return spec.ErrorName(code) }

// Log levels of FuncLog; they are log/slog's values. A guest's level is
// clamped to one of them by LogLevel.
const (
	LogDebug = spec.LogDebug
	LogInfo  = spec.LogInfo
	LogWarn  = spec.LogWarn
	LogError = spec.LogError
)

// MaxLogBytes is the longest log record a guest makes, through FuncLog or
// one line of stdout or stderr: a longer one is cut by CutLog.
const MaxLogBytes = spec.MaxLogBytes
