// Package events holds the host-side event services that wasm handlers reach
// through ABI extensions: a publish/subscribe broker, signals (wait until
// someone sends), and a key-value store with expiry.
//
// Each service is a small interface (Broker, Signals, KV) so that a
// networked backend (AMQP, Redis, …) can replace the in-memory default
// (MemoryBroker, MemorySignals, MemoryKV) without touching the ABI glue.
// Every method that may wait or talk to a network takes a context.Context;
// the in-memory implementations never block on another caller's slowness,
// only on their own wait.
//
// # Why state lives outside the instance
//
// A wasm instance lives for one exchange (or is pooled and shared), so a
// chat participant's queue cannot live in guest memory between two long
// polls. The broker keeps it and hands the guest an unguessable
// subscription ID, which the guest stores in a session or cookie and
// presents on its next request, as in the comet chat this package was
// designed around: every participant has a queue of 10 messages and is
// dropped when it overflows or stops pulling.
//
// # Waiting without a goroutine
//
// Broker.Watch and Signals.Watch register a waiter and return at once: the
// caller selects on the Watch's Ready channel with its own timer and
// context, then Stop says what happened. A parked exchange (the host's
// bubblewasm_park_v1) waits this way, on the goroutine that already serves
// its connection; a watch takes no message and keeps a subscription from
// idling out.
//
// # Names
//
// Channel names, signal names and KV namespaces follow one rule (CheckName):
// 1 to 256 bytes of printable ASCII without spaces and without the glob
// characters '*', '?', '[', ']' and '\'. Single dots separate the non-empty
// levels of a hierarchy ("chat.room1"; "chat." and "chat..x" are invalid),
// which grant patterns (ChannelAllowed) use.
//
// # Errors
//
// Failures are reported with the sentinel errors in errors.go, usually
// wrapped with details; test them with errors.Is. Context errors are
// returned as ctx.Err().
package events
