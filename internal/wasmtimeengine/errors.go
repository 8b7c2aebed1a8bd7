//go:build cgo

package wasmtimeengine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// maxFrames bounds the wasm stack trace kept in an error, as wazero does: a
// stack overflow's trace has one frame per call, tens of thousands of them.
const maxFrames = 30

// callError is a failed guest call: a condensed message, and the errors it
// stands for (the wasmtime error, and the host function's error or the
// context's when there is one).
type callError struct {
	msg  string
	errs []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.errs }

// describe splits an error from wasmtime into its cause and at most
// maxFrames frames of its wasm stack trace ("" when it has none).
//
// A trap of wasm code (a *wasmtime.Trap) says what it is with its code and
// where with its frames. Every other error (a *wasmtime.Error: a host
// function's, the epoch callback's, a WASI exit, compilation,
// instantiation) has nothing but its text in wasmtime-go v39, and so has a
// trap whose code wasmtime-go does not name: condense reads that text.
func describe(err error) (cause, trace string) {
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if code := trap.Code(); code != nil && trapCauses[*code] != "" {
			return "wasm trap: " + trapCauses[*code], frameTrace(trap.Frames())
		}
	}
	return condense(err.Error())
}

// trapCauses are the messages wasmtime gives its trap codes (wasmtime's
// Display of wasmtime::Trap). Only the codes up to Interrupt: wasmtime-go
// v39's constants after it are not wasmtime 39's numbers.
var trapCauses = map[wasmtime.TrapCode]string{
	wasmtime.StackOverflow:          "call stack exhausted",
	wasmtime.MemoryOutOfBounds:      "out of bounds memory access",
	wasmtime.HeapMisaligned:         "unaligned atomic",
	wasmtime.TableOutOfBounds:       "undefined element: out of bounds table access",
	wasmtime.IndirectCallToNull:     "uninitialized element",
	wasmtime.BadSignature:           "indirect call type mismatch",
	wasmtime.IntegerOverflow:        "integer overflow",
	wasmtime.IntegerDivisionByZero:  "integer divide by zero",
	wasmtime.BadConversionToInteger: "invalid conversion to integer",
	wasmtime.UnreachableCodeReached: "wasm `unreachable` instruction executed",
	wasmtime.Interrupt:              "interrupt",
}

// frameTrace formats the first maxFrames frames as wasmtime does, innermost
// first: "0: 0x1d - <unknown>!<wasm function 1>".
func frameTrace(frames []*wasmtime.Frame) string {
	if len(frames) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nwasm stack trace:")
	for i, f := range frames[:min(len(frames), maxFrames)] {
		fmt.Fprintf(&b, "\n\t%d: ", i)
		if off := f.ModuleOffset(); off != ^uint(0) { // unknown
			fmt.Fprintf(&b, "%#x - ", off)
		}
		module, fn := "<unknown>", fmt.Sprintf("<wasm function %d>", f.FuncIndex())
		if n := f.ModuleName(); n != nil {
			module = *n
		}
		if n := f.FuncName(); n != nil {
			fn = *n
		}
		b.WriteString(module + "!" + fn)
	}
	if more := len(frames) - maxFrames; more > 0 {
		fmt.Fprintf(&b, "\n\t... %d more frames", more)
	}
	return b.String()
}

// condense reads wasmtime's error text, which is anyhow's debug format,
//
//	error while executing at wasm backtrace:
//	    0:   0x1d - <unknown>!<wasm function 1>
//	    ...
//
//	Caused by:
//	    wasm trap: wasm `unreachable` instruction executed
//
//	Stack backtrace:   (only with RUST_BACKTRACE set)
//	    ...
//
// into the cause and at most maxFrames frames of the wasm trace.
func condense(text string) (cause, trace string) {
	if i := strings.Index(text, "\n\nStack backtrace:"); i >= 0 {
		text = text[:i]
	}
	head, causes, _ := strings.Cut(text, "\n\nCaused by:\n")
	var msgs []string
	var frames string
	if rest, ok := strings.CutPrefix(head, "error while executing at wasm backtrace:"); ok {
		frames = rest
	} else if head = strings.TrimSpace(head); head != "" {
		msgs = append(msgs, strings.ReplaceAll(head, "\n", " "))
	}
	for _, l := range lines(causes) {
		// Several causes are numbered "0: ...", "1: ...".
		if n, rest, ok := strings.Cut(l, ": "); ok && strings.Trim(n, "0123456789") == "" {
			l = rest
		}
		msgs = append(msgs, l)
	}
	cause = strings.Join(msgs, ": ")
	// The trace can have tens of thousands of lines: only the first
	// maxFrames are split off.
	var kept []string
	for len(kept) < maxFrames {
		var l string
		l, frames, _ = strings.Cut(frames, "\n")
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
		if frames == "" {
			break
		}
	}
	if len(kept) == 0 {
		return cause, ""
	}
	if more := strings.Count(strings.TrimSpace(frames), "\n"); strings.TrimSpace(frames) != "" {
		kept = append(kept, fmt.Sprintf("... %d more frames", more+1))
	}
	return cause, "\nwasm stack trace:\n\t" + strings.Join(kept, "\n\t")
}

// lines returns the non-empty lines of s, trimmed.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
