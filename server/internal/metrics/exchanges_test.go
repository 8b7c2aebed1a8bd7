package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
)

// deadlineWriter is a ResponseWriter with read and write deadlines, as the
// HTTP transport's is.
type deadlineWriter struct {
	server.BufferedWriter
	reads, writes int
}

func (w *deadlineWriter) SetReadDeadline(time.Time) error  { w.reads++; return nil }
func (w *deadlineWriter) SetWriteDeadline(time.Time) error { w.writes++; return nil }

// TestWrap: the status counted is the error's, else the one the handler
// set (200 by default); the wrapped writer's deadlines stay reachable.
func TestWrap(t *testing.T) {
	m := metrics.New()
	r := m.Route("r")
	for _, c := range []struct {
		name string
		h    server.HandlerFunc
	}{
		{"default 200", func(context.Context, *server.Exchange) error { return nil }},
		{"set 201", func(_ context.Context, x *server.Exchange) error { x.Writer.SetStatus(201); return nil }},
		{"set after commit", func(_ context.Context, x *server.Exchange) error {
			x.Writer.Write([]byte("x"))
			x.Writer.SetStatus(418) // too late: 200 was sent
			return nil
		}},
		{"error 404", func(context.Context, *server.Exchange) error { return fmt.Errorf("%w here", server.ErrNoRoute) }},
		{"error beats status", func(_ context.Context, x *server.Exchange) error { x.Writer.SetStatus(202); return server.ErrTimeout }},
		{"huge status", func(_ context.Context, x *server.Exchange) error { x.Writer.SetStatus(5000); return nil }},
		{"deadlines", func(_ context.Context, x *server.Exchange) error {
			x.Writer.(server.ReadDeadliner).SetReadDeadline(time.Time{})
			x.Writer.(server.WriteDeadliner).SetWriteDeadline(time.Time{})
			return nil
		}},
	} {
		w := &deadlineWriter{}
		r.Wrap(c.h).Serve(context.Background(), &server.Exchange{Env: server.Env{}, Reader: strings.NewReader(""), Writer: w})
		if c.name == "deadlines" && (w.reads != 1 || w.writes != 1) {
			t.Errorf("deadlines reached the writer %d and %d times, want 1 and 1", w.reads, w.writes)
		}
	}
	// A writer without deadlines: setting one does nothing.
	r.Wrap(server.HandlerFunc(func(_ context.Context, x *server.Exchange) error {
		return x.Writer.(server.ReadDeadliner).SetReadDeadline(time.Time{})
	})).Serve(context.Background(), &server.Exchange{Env: server.Env{}, Writer: server.NewStreamWriter(&strings.Builder{})})

	want := `
# HELP bubblewasm_exchanges_total Exchanges finished, by route and status (the error's for a failed exchange, else the one the handler set; 200 by default).
# TYPE bubblewasm_exchanges_total counter
bubblewasm_exchanges_total{route="r",status="200"} 4
bubblewasm_exchanges_total{route="r",status="201"} 1
bubblewasm_exchanges_total{route="r",status="404"} 1
bubblewasm_exchanges_total{route="r",status="504"} 1
bubblewasm_exchanges_total{route="r",status="other"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "bubblewasm_exchanges_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "bubblewasm_exchange_duration_seconds"); n != 1 {
		t.Errorf("%d duration histograms, want 1", n)
	}
}

// TestNil: nil metrics count nothing and change no handler.
func TestNil(t *testing.T) {
	var m *metrics.Metrics
	h := server.HandlerFunc(func(context.Context, *server.Exchange) error { return nil })
	if r := m.Route("r"); r != nil || m.Registry() != nil {
		t.Fatal("nil metrics made a route or a registry")
	}
	if got := m.Route("r").Wrap(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Error("a nil route wrapped the handler")
	}
	m.Gauge("g", "", nil, func() float64 { return 0 })
	m.Route("r").Count(nil)
}

// BenchmarkWrap is the cost Wrap adds to an exchange.
func BenchmarkWrap(b *testing.B) {
	h := server.HandlerFunc(func(context.Context, *server.Exchange) error { return nil })
	x := &server.Exchange{Env: server.Env{}, Writer: &server.BufferedWriter{}}
	for _, c := range []struct {
		name string
		h    server.Handler
	}{{"bare", h}, {"wrapped", metrics.New().Route("r").Wrap(h)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.h.Serve(context.Background(), x)
			}
		})
	}
}
