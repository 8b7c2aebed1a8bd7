package wasm

import (
	"context"
	"fmt"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Services are the host services a route grants to its module through the
// extension import modules. Each field binds the service to one exchange
// (its context: deadline, cancellation) and to the route's grants; a nil
// field means the route does not grant that extension, and a module that
// imports it is refused at load.
type Services struct {
	PubSub  func(ctx context.Context) abi.PubSub
	Signals func(ctx context.Context) abi.Signals
	KV      func(ctx context.Context) abi.KV
	Dial    func(ctx context.Context) abi.Dial
}

// checkGrants refuses a module that imports an extension its route does
// not grant, naming the configuration key that would grant it.
func checkGrants(m Module, s Services) error {
	granted := map[string]bool{
		abi.PubSubModule: s.PubSub != nil,
		abi.SignalModule: s.Signals != nil,
		abi.KVModule:     s.KV != nil,
		abi.DialModule:   s.Dial != nil,
	}
	key := map[string]string{abi.PubSubModule: "pubsub", abi.SignalModule: "signals", abi.KVModule: "kv", abi.DialModule: "dial"}
	example := map[string]string{abi.PubSubModule: "[...]", abi.SignalModule: "[...]", abi.KVModule: `"NAME"`, abi.DialModule: `{ NAME = "ADDRESS" }`}
	for _, imp := range m.Imports() {
		if ok, ext := granted[imp.Module]; ext && !ok {
			return fmt.Errorf("it imports %s.%s, but the route grants no %s (add %s = %s to the route)", imp.Module, imp.Name, key[imp.Module], key[imp.Module], example[imp.Module])
		}
	}
	return nil
}

// bound holds an exchange's service bindings, made on first use.
type bound struct {
	pubsub  abi.PubSub
	signals abi.Signals
	kv      abi.KV
	dial    abi.Dial
}

// PubSub binds the route's broker grant to this exchange.
func (e *hostExchange) PubSub() abi.PubSub {
	if e.bound.pubsub == nil && e.services.PubSub != nil && e.ctx != nil {
		e.bound.pubsub = e.services.PubSub(e.ctx)
	}
	return e.bound.pubsub
}

// Signals binds the route's signal grant to this exchange.
func (e *hostExchange) Signals() abi.Signals {
	if e.bound.signals == nil && e.services.Signals != nil && e.ctx != nil {
		e.bound.signals = e.services.Signals(e.ctx)
	}
	return e.bound.signals
}

// KV binds the route's key-value grant to this exchange.
func (e *hostExchange) KV() abi.KV {
	if e.bound.kv == nil && e.services.KV != nil && e.ctx != nil {
		e.bound.kv = e.services.KV(e.ctx)
	}
	return e.bound.kv
}

// Dial binds the route's dial targets to this exchange.
func (e *hostExchange) Dial() abi.Dial {
	if e.bound.dial == nil && e.services.Dial != nil && e.ctx != nil {
		e.bound.dial = e.services.Dial(e.ctx)
	}
	return e.bound.dial
}

var _ abi.Extended = (*hostExchange)(nil)
