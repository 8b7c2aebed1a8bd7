package abi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// Memory is a guest's linear memory as the host functions need it. wazero's
// api.Memory satisfies it as is; other engines adapt their memory view.
type Memory interface {
	// Size returns the current size of the memory in bytes.
	Size() uint32
	// Read returns a view of length bytes at offset, or false when the range
	// is out of bounds. The view aliases guest memory.
	Read(offset, length uint32) ([]byte, bool)
	// Write copies data to offset, or returns false when out of bounds.
	Write(offset uint32, data []byte) bool
}

// Exchange is the host's side of one exchange as the core imports see it.
type Exchange interface {
	// Env returns the value of an env key.
	Env(key string) (string, bool)
	// EnvKeys returns every env key in ascending order.
	EnvKeys() []string
	// Read reads input; io.EOF marks the end of input.
	Read(p []byte) (int, error)
	// Write writes output, committing the metadata on the first call.
	Write(p []byte) (int, error)
	// Flush commits the metadata and pushes buffered output to the peer.
	Flush() error
	// SetStatus sets the response status; false once metadata is committed.
	SetStatus(code int) bool
	// SetHeader replaces (add=false) or appends to (add=true) a response
	// header whose name and value passed CheckResponseHeader. It returns 0,
	// ErrCommitted once metadata is committed, or what
	// ResponseHeader.Apply returns (ErrInvalid, ErrTooLarge).
	SetHeader(name, value string, add bool) int32
	// Log writes one record to the server log on the guest's behalf. The
	// level is one of the ABI's (LogLevel) and msg at most MaxLogBytes
	// (CutLog); the Exchange rate-limits records as its route's
	// configuration says.
	Log(level slog.Level, msg string)
}

// ErrInputTooLarge is returned by an Exchange's Read when the input passed a
// configured limit; the guest sees ErrTooLarge.
var ErrInputTooLarge = errors.New("input exceeds the configured limit")

// GuestError is a contract violation by the guest, such as a pointer out of
// bounds. The engine traps the guest call with it.
type GuestError struct {
	Func   string // the host function that was called
	Reason string
}

func (e *GuestError) Error() string {
	fn := e.Func
	if !strings.Contains(fn, ".") {
		fn = ModuleName + "." + fn
	}
	return fmt.Sprintf("guest error in %s: %s", fn, e.Reason)
}

// Func is one host function of the core import module.
type Func struct {
	// Name is the import name in ModuleName.
	Name string
	// Params names the i32 parameters, in order.
	Params []string
	// Results is 0 or 1: the count of i32 results.
	Results int
	// Call runs the function. Parameters are in stack[:len(Params)] as
	// uint64s holding i32s; the result, if any, is written to stack[0].
	// A non-nil error is a *GuestError: the engine must trap the call.
	Call func(x Exchange, mem Memory, stack []uint64) error
}

// Funcs returns the core host functions of ABI version 1, one entry per
// import name in ModuleName, in a stable order.
func Funcs() []Func {
	return []Func{
		{FuncEnvGet, []string{"key_ptr", "key_len", "buf_ptr", "buf_len"}, 1, envGet},
		{FuncEnvKeys, []string{"buf_ptr", "buf_len"}, 1, envKeys},
		{FuncEnvAll, []string{"buf_ptr", "buf_len"}, 1, envAll},
		{FuncRead, []string{"buf_ptr", "buf_len"}, 1, read},
		{FuncWrite, []string{"buf_ptr", "buf_len"}, 1, write},
		{FuncFlush, nil, 1, flush},
		{FuncSetStatus, []string{"code"}, 1, setStatus},
		{FuncSetHeader, []string{"name_ptr", "name_len", "value_ptr", "value_len"}, 1, setHeader},
		{FuncAddHeader, []string{"name_ptr", "name_len", "value_ptr", "value_len"}, 1, addHeader},
		{FuncLog, []string{"level", "msg_ptr", "msg_len"}, 0, logFunc},
	}
}

// maxRead caps one read so its length fits a non-negative i32 result.
const maxRead = 1 << 30

// span checks a guest (ptr, len) pair in 64-bit arithmetic and returns a view.
func span(fn string, mem Memory, ptr, length uint64) ([]byte, error) {
	size := uint64(mem.Size())
	if ptr+length > size {
		return nil, &GuestError{fn, fmt.Sprintf("range [%d, %d) is outside guest memory of %d bytes", ptr, ptr+length, size)}
	}
	b, ok := mem.Read(uint32(ptr), uint32(length))
	if !ok {
		return nil, &GuestError{fn, fmt.Sprintf("range [%d, %d) could not be read", ptr, ptr+length)}
	}
	return b, nil
}

func u32(v uint64) uint64 { return uint64(uint32(v)) }

func result(stack []uint64, v int32) { stack[0] = uint64(uint32(v)) }

// fill implements size negotiation: write data to buf when it fits.
func fill(stack []uint64, buf []byte, data []byte) {
	if len(data) <= len(buf) {
		copy(buf, data)
	}
	result(stack, int32(len(data)))
}

func envGet(x Exchange, mem Memory, stack []uint64) error {
	key, err := span(FuncEnvGet, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	buf, err := span(FuncEnvGet, mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	v, ok := x.Env(string(key))
	if !ok {
		result(stack, ErrNotFound)
		return nil
	}
	fill(stack, buf, []byte(v))
	return nil
}

func envKeys(x Exchange, mem Memory, stack []uint64) error {
	buf, err := span(FuncEnvKeys, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	var all []byte
	for _, k := range x.EnvKeys() {
		all = append(all, k...)
		all = append(all, 0)
	}
	fill(stack, buf, all)
	return nil
}

// maxEnvAll caps env_all's result so its length fits a non-negative i32.
const maxEnvAll = 1<<31 - 1

func envAll(x Exchange, mem Memory, stack []uint64) error {
	buf, err := span(FuncEnvAll, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	keys := x.EnvKeys()
	total := 0
	for _, k := range keys {
		v, _ := x.Env(k)
		total += len(k) + 5 + len(v)
	}
	if total > maxEnvAll {
		result(stack, ErrTooLarge)
		return nil
	}
	if total > len(buf) {
		result(stack, int32(total))
		return nil
	}
	out := buf[:0]
	for _, k := range keys {
		v, _ := x.Env(k)
		out = append(out, k...)
		out = append(out, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	result(stack, int32(total))
	return nil
}

func read(x Exchange, mem Memory, stack []uint64) error {
	buf, err := span(FuncRead, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	if len(buf) == 0 {
		result(stack, ErrInvalid)
		return nil
	}
	buf = buf[:min(len(buf), maxRead)]
	for {
		n, err := x.Read(buf)
		if n > 0 {
			result(stack, int32(n))
			return nil
		}
		if err == io.EOF {
			result(stack, 0)
			return nil
		}
		if err != nil {
			result(stack, ErrorCode(err))
			return nil
		}
		// (0, nil) is allowed by io.Reader and means nothing happened; the
		// ABI's 0 means end of input, so ask again.
	}
}

func write(x Exchange, mem Memory, stack []uint64) error {
	buf, err := span(FuncWrite, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	if len(buf) > math.MaxInt32 {
		result(stack, ErrInvalid)
		return nil
	}
	if _, err := x.Write(buf); err != nil {
		result(stack, ErrorCode(err))
		return nil
	}
	result(stack, int32(len(buf)))
	return nil
}

func flush(x Exchange, _ Memory, stack []uint64) error {
	if err := x.Flush(); err != nil {
		result(stack, ErrorCode(err))
		return nil
	}
	result(stack, 0)
	return nil
}

func setStatus(x Exchange, _ Memory, stack []uint64) error {
	code := int32(uint32(stack[0]))
	switch {
	case code < 200 || code > 999:
		result(stack, ErrInvalid)
	case !x.SetStatus(int(code)):
		result(stack, ErrCommitted)
	default:
		result(stack, 0)
	}
	return nil
}

func setHeader(x Exchange, mem Memory, stack []uint64) error {
	return header(FuncSetHeader, false, x, mem, stack)
}

func addHeader(x Exchange, mem Memory, stack []uint64) error {
	return header(FuncAddHeader, true, x, mem, stack)
}

func header(fn string, add bool, x Exchange, mem Memory, stack []uint64) error {
	name, err := span(fn, mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	value, err := span(fn, mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	if code := CheckResponseHeader(name, value); code != 0 {
		result(stack, code)
		return nil
	}
	result(stack, x.SetHeader(string(name), string(value), add))
	return nil
}

// logFunc clamps the level and cuts the record to MaxLogBytes before it
// copies anything out of guest memory.
func logFunc(x Exchange, mem Memory, stack []uint64) error {
	msg, err := span(FuncLog, mem, u32(stack[1]), u32(stack[2]))
	if err != nil {
		return err
	}
	x.Log(LogLevel(int32(uint32(stack[0]))), CutLog(msg, MaxLogBytes))
	return nil
}

// ErrorCode maps an I/O error from an Exchange to the ABI's negative result.
func ErrorCode(err error) int32 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrInputTooLarge):
		return ErrTooLarge
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrClosedPipe),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.Canceled),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return ErrClosed
	}
	return ErrIO
}

// ValidHeaderName reports whether name is a non-empty RFC 9110 token
// (spec.ValidHeaderName).
func ValidHeaderName(name []byte) bool { return spec.ValidHeaderName(name) }

// ValidHeaderValue reports whether value holds no control byte other than
// HTAB (spec.ValidHeaderValue).
func ValidHeaderValue(value []byte) bool { return spec.ValidHeaderValue(value) }
