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
	// Outbound binds the route's outbound HTTP grant; when what it
	// returns has a CloseAll method, CloseAll runs when the exchange ends
	// (however it ends), to close every response still open.
	Outbound func(ctx context.Context) abi.Outbound
}

// grantKeys names, for each extension module, the route key that grants
// it and an example value.
var grantKeys = map[string][2]string{
	abi.PubSubModule: {"pubsub", "[...]"},
	abi.SignalModule: {"signals", "[...]"},
	abi.KVModule:     {"kv", `"NAME"`},
	abi.DialModule:   {"dial", `{ NAME = "ADDRESS" }`},
	abi.HTTPModule:   {"outbound", `["https://api.example.com"]`},
}

// GrantKey returns the route key that grants the extension module and an
// example of its value; ok is false for a module no route key grants
// (the core module, parking, WASI).
func GrantKey(module string) (key, example string, ok bool) {
	g, ok := grantKeys[module]
	return g[0], g[1], ok
}

// checkGrants refuses a module that imports an extension its route does
// not grant, naming the configuration key that would grant it.
func checkGrants(m Module, s Services) error {
	granted := map[string]bool{
		abi.PubSubModule: s.PubSub != nil,
		abi.SignalModule: s.Signals != nil,
		abi.KVModule:     s.KV != nil,
		abi.DialModule:   s.Dial != nil,
		abi.HTTPModule:   s.Outbound != nil,
	}
	for _, imp := range m.Imports() {
		if ok, ext := granted[imp.Module]; ext && !ok {
			key, example, _ := GrantKey(imp.Module)
			return fmt.Errorf("it imports %s.%s, but the route grants no %s (add %s = %s to the route)", imp.Module, imp.Name, key, key, example)
		}
	}
	return nil
}

// bound holds an exchange's service bindings, made on first use.
type bound struct {
	pubsub   abi.PubSub
	signals  abi.Signals
	kv       abi.KV
	dial     abi.Dial
	outbound abi.Outbound
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

// Outbound binds the route's outbound HTTP grant to this exchange.
func (e *hostExchange) Outbound() abi.Outbound {
	if e.bound.outbound == nil && e.services.Outbound != nil && e.ctx != nil {
		e.bound.outbound = e.services.Outbound(e.ctx)
	}
	return e.bound.outbound
}

// closeBound ends the exchange's service bindings that hold resources
// (the outbound grant's open responses).
func (e *hostExchange) closeBound() {
	if c, ok := e.bound.outbound.(interface{ CloseAll() }); ok {
		c.CloseAll()
	}
}

var _ abi.Extended = (*hostExchange)(nil)
