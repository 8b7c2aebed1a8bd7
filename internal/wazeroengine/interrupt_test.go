package wazeroengine_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// envExchange answers env_get with nothing; the rest is never called.
type envExchange struct{}

func (envExchange) Env(string) (string, bool)            { return "", false }
func (envExchange) EnvKeys() []string                    { return nil }
func (envExchange) Read([]byte) (int, error)             { return 0, errors.New("unused") }
func (envExchange) Write([]byte) (int, error)            { return 0, errors.New("unused") }
func (envExchange) Flush() error                         { return nil }
func (envExchange) SetStatus(int) bool                   { return false }
func (envExchange) SetHeader(string, string, bool) int32 { return 0 }
func (envExchange) Log(slog.Level, string)               {}

// pastDeadline is a context whose deadline has passed but which never
// ends: as one whose timer was not run.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Second), true }

// TestHostCallsStopAtDeadline: a guarded guest that loops on host calls
// stops once its call's deadline has passed by the clock, even if the
// context never ends (its timer not run), with an error that wraps
// context.DeadlineExceeded.
func TestHostCallsStopAtDeadline(t *testing.T) {
	e := newEngine(t, "")
	ctx := context.Background()
	bin := testutil.WAT(t, `(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "bubblewasm.interrupt") (mut i32) (i32.const 0))
  (global (export "bubblewasm.interrupt.ticks") (mut i32) (i32.const 1000))
  (func (export "bubble_handle") (result i32)
    (loop $spin
      (drop (call $env_get (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 16)))
      (br $spin))
    (i32.const 0)))`)
	m, err := e.Compile(ctx, bin, wasm.Limits{InterruptGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	inst, err := m.Instantiate(ctx, wasm.InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := inst.Handle(pastDeadline{context.Background()}, envExchange{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want one that wraps context.DeadlineExceeded", err)
		}
	case <-time.After(testutil.Guard):
		t.Fatal("the guest still runs past its deadline")
	}
}
