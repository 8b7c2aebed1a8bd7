package ratelog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bubblewasm/bubblewasm/server/internal/ratelog"
)

// sink collects JSON records.
type sink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// records returns every record logged so far, decoded.
func (s *sink) records(t testing.TB) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(t testing.TB, opts ratelog.Options, level slog.Level) (*slog.Logger, *ratelog.Limiter, *sink) {
	s := &sink{}
	l := ratelog.New(opts)
	t.Cleanup(func() { l.Close() })
	return l.Logger(slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: level}))), l, s
}

// messages lists the records' messages, with the dropped count appended to
// the report's: "DROPPED:15".
func messages(recs []map[string]any) []string {
	var out []string
	for _, r := range recs {
		msg := r["msg"].(string)
		if msg == ratelog.DroppedMessage {
			msg = "DROPPED:" + jsonNumber(r["dropped"])
		}
		out = append(out, msg)
	}
	return out
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A burst passes, the rest is dropped, and the count is reported once,
// ReportEvery after the first drop, however many records pass or drop in
// between.
func TestBurstThenOneReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, lim, out := newLogger(t, ratelog.Options{Rate: 10, Burst: 5, ReportEvery: 5 * time.Second}, slog.LevelInfo)
		for i := range 20 {
			logger.Info("r", "i", i)
		}
		if got := messages(out.records(t)); strings.Join(got, ",") != "r,r,r,r,r" {
			t.Fatalf("burst: %v", got)
		}
		if lim.Dropped() != 15 {
			t.Fatalf("Dropped() = %d, want 15", lim.Dropped())
		}
		// A sustained flood: a record every 50 ms, one token every 100 ms.
		for range 40 {
			time.Sleep(50 * time.Millisecond)
			logger.Warn("flood")
		}
		synctest.Wait()
		got := messages(out.records(t))
		var reports []string
		passed := 0
		for _, m := range got {
			switch {
			case strings.HasPrefix(m, "DROPPED:"):
				reports = append(reports, m)
			case m == "flood":
				passed++
			}
		}
		// 2 s of flood: 20 tokens, 20 more drops; the first report came
		// 5 s after the first drop, which is not yet.
		if len(reports) != 0 || passed != 20 {
			t.Fatalf("after 2 s: %d passed, reports %v", passed, reports)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		recs := out.records(t)
		report := recs[len(recs)-1]
		if m := messages(recs[len(recs)-1:]); m[0] != "DROPPED:35" {
			t.Fatalf("the report: %v", m)
		}
		if report["level"] != "WARN" || report["rate"] != 10.0 || report["burst"] != 5.0 {
			t.Errorf("report record: %v", report)
		}
	})
}

// With nothing let through afterwards, the count is reported after
// ReportEvery, once; Close reports what is left.
func TestReportAfterSilenceAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, lim, out := newLogger(t, ratelog.Options{Rate: 1, Burst: 1, ReportEvery: time.Minute}, slog.LevelInfo)
		logger.With("route", "r1").Info("first")
		for range 7 {
			logger.With("route", "r1").Info("flood")
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := messages(out.records(t)); len(got) != 1 {
			t.Fatalf("before ReportEvery: %v", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		recs := out.records(t)
		if got := messages(recs); strings.Join(got, ",") != "first,DROPPED:7" {
			t.Fatalf("after ReportEvery: %v", got)
		}
		if recs[1]["route"] != "r1" {
			t.Errorf("the report lacks the dropper's attributes: %v", recs[1])
		}
		time.Sleep(10 * time.Minute) // nothing more to report
		synctest.Wait()
		if n := len(out.records(t)); n != 2 {
			t.Fatalf("%d records after a quiet spell, want 2", n)
		}
		// Dropped just before Close: reported by Close, no timer left.
		logger.Info("ok")
		logger.Info("dropped")
		lim.Close()
		if got := messages(out.records(t)); strings.Join(got[2:], ",") != "ok,DROPPED:1" {
			t.Fatalf("at Close: %v", got[2:])
		}
		// After Close a drop arms no timer.
		logger.Info("dropped too")
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(out.records(t)); n != 4 {
			t.Fatalf("%d records after Close and an hour, want 4", n)
		}
	})
}

// A parent bounds the sum of its children.
func TestParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent := ratelog.New(ratelog.Options{Rate: 1, Burst: 3})
		out := &sink{}
		base := slog.New(slog.NewJSONHandler(out, nil))
		var loggers []*slog.Logger
		for range 4 {
			l := ratelog.New(ratelog.Options{Rate: 100, Burst: 100, Parent: parent})
			defer l.Close()
			loggers = append(loggers, l.Logger(base))
		}
		for range 10 {
			for _, lg := range loggers {
				lg.Info("r")
			}
		}
		if n := len(out.records(t)); n != 3 {
			t.Fatalf("%d records through a parent of burst 3", n)
		}
	})
}

// Records below the handler's level cost no token.
func TestDisabledRecordsNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, lim, out := newLogger(t, ratelog.Options{Rate: 1, Burst: 2}, slog.LevelInfo)
		for range 100 {
			logger.Debug("hidden")
		}
		logger.Info("a")
		logger.Info("b")
		if got := messages(out.records(t)); strings.Join(got, ",") != "a,b" || lim.Dropped() != 0 {
			t.Fatalf("got %v, %d dropped", got, lim.Dropped())
		}
	})
}

// Messages and string, error and grouped attributes over MaxBytes are cut
// and marked with their length; short ones are left alone.
func TestCut(t *testing.T) {
	logger, _, out := newLogger(t, ratelog.Options{MaxBytes: 100}, slog.LevelInfo)
	long := strings.Repeat("é", 5000) // 10,000 bytes
	logger.With("with", long).Info(long, "s", long, "err", errors.New(long), slog.Group("g", "x", long, "short", "ok"), "n", 7)
	logger.Info("short", "s", "fine")
	recs := out.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	g := r["g"].(map[string]any)
	for name, v := range map[string]any{"msg": r["msg"], "with": r["with"], "s": r["s"], "err": r["err"], "g.x": g["x"]} {
		s, _ := v.(string)
		if len(s) > 100 || !strings.HasSuffix(s, " …[truncated from 10000 bytes]") || !strings.HasPrefix(s, "éé") {
			t.Errorf("%s: %d bytes: %q", name, len(s), s)
		}
		if !strings.HasPrefix(s, strings.Repeat("é", (len(s)-len(" …[truncated from 10000 bytes]"))/2)) {
			t.Errorf("%s: cut inside a character: %q", name, s)
		}
	}
	if g["short"] != "ok" || r["n"] != 7.0 {
		t.Errorf("short attributes changed: %v", r)
	}
	if recs[1]["msg"] != "short" || recs[1]["s"] != "fine" {
		t.Errorf("a short record changed: %v", recs[1])
	}
}

// A flood from many goroutines at once lets through exactly the burst,
// plus nothing but reports (run with -race).
func TestConcurrentFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, lim, out := newLogger(t, ratelog.Options{Rate: 1, Burst: 50}, slog.LevelInfo)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5000 {
					logger.Info("flood")
				}
			})
		}
		wg.Wait()
		lim.Close()
		got := messages(out.records(t))
		if len(got) != 51 || got[50] != "DROPPED:39950" {
			t.Fatalf("%d records, last %q", len(got), got[len(got)-1])
		}
	})
}
