//go:build cgo

package wasmtimeengine

import (
	"fmt"
	"strings"
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

// condense turns wasmtime's error text, which is anyhow's debug format,
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
