package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// wrk 4.1's report with --latency, as the bench reads it.
const wrkOutput = `Running 2s test @ http://127.0.0.1:40000/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   502.11us  401.22us   8.01ms   90.12%
    Req/Sec     9.10k   210.33     9.40k    70.00%
  Latency Distribution
     50%  448.00us
     75%  600.00us
     90%  800.00us
     99%    2.40ms
  18232 requests in 2.00s, 2.15MB read
  Non-2xx or 3xx responses: 7
  Socket errors: connect 0, read 1, write 0, timeout 0
Requests/sec:   9115.93
Transfer/sec:      1.07MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want wrkRun
		err  bool
	}{
		{"full", wrkOutput, wrkRun{requests: 18232, rps: 9115.93, p50: 448 * time.Microsecond, p99: 2400 * time.Microsecond,
			non2xx: 7, sockErr: "connect 0, read 1, write 0, timeout 0"}, false},
		{"seconds", strings.Replace(wrkOutput, "2.40ms", "1.20s", 1), wrkRun{requests: 18232, rps: 9115.93, p50: 448 * time.Microsecond,
			p99: 1200 * time.Millisecond, non2xx: 7, sockErr: "connect 0, read 1, write 0, timeout 0"}, false},
		{"no requests line", "unable to connect to 127.0.0.1:1 Connection refused", wrkRun{}, true},
		{"empty", "", wrkRun{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "# x\n\n## Performance\n\n" + readmeBegin + "\nold table\n" + readmeEnd + "\n\n## Next\n"
	tests := []struct {
		name, doc, body, want string
		err                   bool
	}{
		{"replaces", doc, "| new |\n", "# x\n\n## Performance\n\n" + readmeBegin + "\n\n| new |\n\n" + readmeEnd + "\n\n## Next\n", false},
		{"no markers", "# x\n", "| new |", "", true},
		{"end first", readmeEnd + readmeBegin, "b", "", true},
		{"twice", doc + doc, "b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceSection([]byte(tt.doc), []byte(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// Rewriting is idempotent: the markers stay for the next run.
	once, _ := replaceSection([]byte(doc), []byte("| new |"))
	twice, _ := replaceSection(once, []byte("| new |"))
	if string(once) != string(twice) {
		t.Errorf("second rewrite changed the document:\n%s", twice)
	}
}

// The project's README keeps exactly one bench section, so that `make
// bench-readme` has somewhere to write.
func TestREADMEHasBenchSection(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replaceSection(readme, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		stack []string // leaf first
		want  string
	}{
		{[]string{"runtime.mallocgc", bubble + "server/transport.requestEnv", bubble + "server/transport.(*httpTransport).ServeHTTP"}, "env (build, clone, look up)"},
		{[]string{"internal/runtime/syscall/linux.Syscall6", "syscall.RawSyscall6", "syscall.Syscall", "internal/poll.(*FD).Write", "net/http.(*response).finishRequest"}, "syscalls: socket read/write"},
		{[]string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"}, "garbage collection"},
		{[]string{"runtime.mallocgc", "runtime.gcAssistAlloc", "runtime.mallocgc", "net/http.(*conn).readRequest"}, "garbage collection"},
		{[]string{"runtime.(*timer).modify", "time.AfterFunc", "context.WithDeadlineCause", bubble + "server/wasm.(*Handler).Serve"}, "contexts, timers, clock reads"},
		{[]string{"runtime._ExternalCode", "runtime._System"}, "engine call, guest code (wazero / wasmtime)"},
		{[]string{"github.com/tetratelabs/wazero/internal/engine/wazevo.(*callEngine).callWithStack", bubble + "server/wasm.(*Handler).Serve"}, "engine call, guest code (wazero / wasmtime)"},
		{[]string{"runtime.mapaccess2_faststr", bubble + "server.(*Router).Serve"}, "router"},
		{[]string{"log/slog.(*Logger).Enabled", bubble + "server/wasm.(*Handler).Serve"}, "logging"},
		{[]string{"runtime.findRunnable", "runtime.schedule", "runtime.park_m", "runtime.mcall"}, "scheduler, netpoll, timers (runtime)"},
		{[]string{"time.Time.appendFormat", "net/http.(*response).finishRequest"}, "net/http"},
		{[]string{"runtime.modtimer", "runtime.poll_runtime_pollSetDeadline", "internal/poll.(*FD).SetWriteDeadline", "net.(*conn).SetWriteDeadline", bubble + "server.(*timeoutConn).Write"}, "contexts, timers, clock reads"},
		{[]string{"runtime.memmove"}, otherLayer},
		{nil, otherLayer},
	}
	for _, tt := range tests {
		if got, _ := classify(tt.stack); got != tt.want {
			t.Errorf("classify(%q) = %q, want %q", tt.stack, got, tt.want)
		}
	}
	// A timer is charged to its layer and to the layer that asked for it.
	layer, caller := classify([]string{"runtime.(*timer).modify", "time.AfterFunc", "context.WithDeadlineCause", bubble + "server/wasm.(*Handler).Serve", "net/http.serverHandler.ServeHTTP"})
	if layer != "contexts, timers, clock reads" || caller != "wasm handler (slots, instances, host exchange)" {
		t.Errorf("a route's timeout: %q called from %q", layer, caller)
	}
}

func TestPlan(t *testing.T) {
	all := plan(nil)
	if want := len(helloModules) * len(engines) * len(lifecycles); len(all) != want {
		t.Fatalf("%d scenarios, want %d", len(all), want)
	}
	got := plan(regexp.MustCompile(`^wat/wazero/`))
	if len(got) != len(lifecycles) {
		t.Fatalf("wat/wazero/: %d scenarios, want %d", len(got), len(lifecycles))
	}
	for i, s := range got {
		if s.lifecycle != lifecycles[i] || s.engine != "wazero" || s.module.short != "wat" {
			t.Errorf("scenario %d = %s", i, s.key())
		}
	}
}

// The configuration a scenario writes is valid TOML naming its engine,
// lifecycle (none for "default") and module, on a loopback listener.
func TestScenarioConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello-wat.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, life := range []string{"pool", "default"} {
		s := scenario{module: helloModules[0], engine: "wasmtime", lifecycle: life}
		path, err := s.config(dir, dir, filepath.Join(dir, "cache"), "127.0.0.1:1234")
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Engine   string
			Listener []struct{ Address string }
			Route    []map[string]any
		}
		if _, err := toml.DecodeFile(path, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Engine != "wasmtime" || cfg.Listener[0].Address != "tcp://127.0.0.1:1234" || cfg.Route[0]["module"] != filepath.Join(dir, "hello-wat.wasm") {
			t.Errorf("%s: %+v", life, cfg)
		}
		if inst, ok := cfg.Route[0]["instances"]; (life == "default") == ok || ok && inst != life {
			t.Errorf("%s: instances = %v", life, inst)
		}
	}
	s := scenario{module: helloModule{file: "missing.wasm"}, engine: "wazero", lifecycle: "pool"}
	if _, err := s.config(dir, dir, dir, "127.0.0.1:1"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing module: err = %v", err)
	}
}

func TestSummarize(t *testing.T) {
	wat := scenario{module: helloModules[0], engine: "wazero", lifecycle: "pool"}
	snap := scenario{module: helloModules[0], engine: "wazero", lifecycle: "snapshot"}
	run := func(s scenario, cpu time.Duration, reqs int64) measurement {
		return measurement{scenario: s, cpu: cpu, wrk: wrkRun{requests: reqs, rps: float64(reqs)}}
	}
	ms := []measurement{
		run(scenario{}, 40*time.Millisecond, 1000), // 40 µs/req
		run(wat, 60*time.Millisecond, 1000),
		{scenario: snap, err: errors.New(`server exited (exit status 3): bubblewasm: x.toml:11: route[1].instances: unknown instances policy "snapshot"`)},
		run(scenario{}, 44*time.Millisecond, 1000),
		run(wat, 50*time.Millisecond, 1000),
		run(wat, 70*time.Millisecond, 1000),
	}
	rows, failed, refused := summarize(ms)
	if len(rows) != 2 || len(failed) != 0 || len(refused) != 1 || refused[0] != "snapshot" {
		t.Fatalf("rows %d, failed %v, refused %v", len(rows), failed, refused)
	}
	if rows[0].cpu != 42*time.Microsecond || rows[1].cpu != 60*time.Microsecond || rows[1].runs != 3 {
		t.Errorf("native %s (want 42µs), wat %s over %d runs (want 60µs over 3)", rows[0].cpu, rows[1].cpu, rows[1].runs)
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{thousands(9115.9), "9,116"}, {thousands(999), "999"}, {thousands(1234567), "1,234,567"},
		{micros(41 * time.Microsecond), "41.0"}, {micros(4315 * time.Millisecond / 1000), "4,315"},
		{short(448 * time.Microsecond), "448 µs"}, {short(2400 * time.Microsecond), "2.4 ms"}, {short(1200 * time.Millisecond), "1.20 s"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
