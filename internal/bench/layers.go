package main

import "strings"

// A layer is a part of the request pipeline that `bench profile` charges
// CPU samples to. classify walks a sample's stack from the leaf and charges
// the first frame that a layer claims; frames no layer claims (the Go
// runtime's malloc, memmove, stack growth, locks) count for their caller.
// Whole-stack layers come first: a sample anywhere inside garbage
// collection, a system call or the scheduler is charged there, whoever
// caused it.
type layer struct {
	name string
	// prefixes of the function names (package path and name) it claims.
	prefixes []string
	// whole: the layer claims the sample when any frame matches, before the
	// leaf-first walk.
	whole bool
	// byCaller: the table splits the layer by the layer of the nearest
	// caller outside it (who asked for the timer, say).
	byCaller bool
	// passThrough: never named as a caller (it only passes calls on).
	passThrough bool
}

const bubble = "github.com/bubblewasm/bubblewasm/"

var layers = []layer{
	{name: "garbage collection", whole: true, prefixes: []string{
		"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcStart",
		"runtime.markroot", "runtime.gcDrain", "runtime.sweepone", "runtime.(*sweepLocked)", "runtime.freeSomeWbufs"}},
	{name: "syscalls: socket read/write", whole: true, prefixes: []string{
		"syscall.", "internal/runtime/syscall.", "internal/poll.ignoringEINTR"}},
	{name: "scheduler, netpoll, timers (runtime)", whole: true, prefixes: []string{
		"runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.goexit0", "runtime.netpoll", "runtime.mcall",
		"runtime.mstart", "runtime.sysmon", "runtime.goschedImpl", "runtime.gopreempt_m", "runtime.exitsyscall", "runtime.entersyscall",
		"runtime.ready", "runtime.wakep", "runtime.notewakeup", "runtime.futexwakeup", "runtime.netpollblock", "runtime.gopark"}},
	// runtime._ExternalCode: a sample in machine code the Go runtime does
	// not know, the guest's compiled code above all.
	{name: "engine call, guest code (wazero / wasmtime)", prefixes: []string{"runtime._ExternalCode",
		"github.com/tetratelabs/wazero", "github.com/bytecodealliance/wasmtime-go", "_cgo", "runtime.cgocall",
		bubble + "internal/wazeroengine.", bubble + "internal/wasmtimeengine."}},
	{name: "ABI host functions", prefixes: []string{bubble + "abi."}},
	{name: "wasm handler (slots, instances, host exchange)", prefixes: []string{bubble + "server/wasm."}},
	{name: "router", prefixes: []string{bubble + "server.(*Router)", bubble + "server.(*Route)", bubble + "server.Pattern"}},
	{name: "env (build, clone, look up)", prefixes: []string{
		bubble + "server.Env", bubble + "server.ConnEnv", bubble + "server/transport.requestEnv", bubble + "server/transport.cleanPath"}},
	{name: "HTTP transport (bubblewasm)", prefixes: []string{bubble + "server/transport."}},
	{name: "server: accept, per-connection", prefixes: []string{bubble + "server.", bubble + "server/app."}},
	{name: "logging", prefixes: []string{"log/slog.", "log."}},
	// Clock reads and timers wherever they are (formatting a time counts
	// for its caller: net/http's Date header).
	{name: "contexts, timers, clock reads", byCaller: true, prefixes: []string{
		"context.", "time.Now", "time.runtimeNow", "time.Since", "time.Until", "time.AfterFunc", "time.NewTimer", "time.(*Timer)",
		"time.newTimer", "time.stopTimer", "time.resetTimer", "time.Sleep",
		"runtime.(*timer)", "runtime.(*timers)", "runtime.addtimer", "runtime.modtimer", "runtime.deltimer", "runtime.resettimer",
		"internal/poll.(*FD).SetDeadline", "internal/poll.(*FD).SetReadDeadline", "internal/poll.(*FD).SetWriteDeadline", "internal/poll.setDeadlineImpl",
		"internal/poll.runtime_pollSetDeadline", "runtime.poll_runtime_pollSetDeadline"}},
	{name: "net/http", prefixes: []string{"net/http.", "net/textproto.", "net/url.", "bufio.", "mime."}},
	{name: "net, poller", passThrough: true, prefixes: []string{"net.", "internal/poll."}},
}

// otherLayer takes what no layer claims: stacks of runtime frames only.
const otherLayer = "runtime, other"

// classify returns the layer of a sample whose stack is given leaf first,
// and for a byCaller layer the layer of the nearest frame further out that
// another leaf-first layer claims ("" when none does).
func classify(stack []string) (layer, caller string) {
	for _, l := range layers {
		if l.whole && l.claimsAny(stack) {
			return l.name, ""
		}
	}
	for i, f := range stack {
		l, ok := leafLayer(f)
		if !ok {
			continue
		}
		if l.byCaller {
			for _, g := range stack[i+1:] {
				if c, ok := leafLayer(g); ok && c.name != l.name && !c.passThrough {
					return l.name, c.name
				}
			}
		}
		return l.name, ""
	}
	return otherLayer, ""
}

// leafLayer returns the first leaf-first layer that claims fn.
func leafLayer(fn string) (layer, bool) {
	for _, l := range layers {
		if !l.whole && l.claims(fn) {
			return l, true
		}
	}
	return layer{}, false
}

func (l layer) claims(fn string) bool {
	for _, p := range l.prefixes {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

func (l layer) claimsAny(stack []string) bool {
	for _, f := range stack {
		if l.claims(f) {
			return true
		}
	}
	return false
}

// layerNames lists the layers in table order.
func layerNames() []string {
	names := make([]string, 0, len(layers)+1)
	for _, l := range layers {
		names = append(names, l.name)
	}
	return append(names, otherLayer)
}
