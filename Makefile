# bubblewasm — build, run, test, bench.
#
#   make run     build everything and serve examples/hello on 127.0.0.1:8080
#   make test    install what is missing, then run every test
#   make bench   server CPU per request at a fixed load, as ratios to native
#                net/http measured in the same run; start-time of the examples
#   make profile where a request's CPU goes (pprof, layer by layer)
#   make check   format, vet, tidy, cross-build the guest SDK; fails on change
#   make fuzz    every fuzz target for FUZZTIME each (default 30s)

SHELL   := /bin/bash
GO      ?= go
BIN     := bin
# Every directory under modules/ is a module: Go (main.go), a build.sh
# script (C, Rust, AssemblyScript, ...: `build.sh OUT.wasm`), or one .wat file.
MODULES := $(notdir $(patsubst %/,%,$(wildcard modules/*/)))
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

WASM_GO := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath

.PHONY: all build cli modules run test test-go test-sdk test-newcomer bench bench-tool bench-readme bench-tls bench-router profile check fuzz deps deps-base clean

all: build

## deps: install the tools the build and the tests need, when missing
## (Debian packages, npm packages, Go modules, TinyGo).
deps:
	@bash scripts/deps.sh

## deps-base: only what `make run` needs.
deps-base:
	@bash scripts/deps.sh base

build: deps cli modules

cli:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bubblewasm ./cmd/bubblewasm

modules: $(addprefix $(BIN)/modules/,$(addsuffix .wasm,$(MODULES)))

$(BIN)/modules/%.wasm: FORCE
	@mkdir -p $(BIN)/modules
	@if [ -f modules/$*/main.go ]; then \
		echo "go    modules/$* -> $@"; $(WASM_GO) -o $@ ./modules/$*; \
	elif [ -f modules/$*/build.sh ]; then \
		echo "sh    modules/$* -> $@"; bash modules/$*/build.sh $(abspath $@); \
	else \
		echo "wat   modules/$* -> $@"; wat2wasm modules/$*/*.wat -o $@; \
	fi

FORCE:

## run: serve examples/hello; it needs only Go, so it builds only its modules.
run: deps-base cli $(BIN)/modules/hello.wasm $(BIN)/modules/echo.wasm
	$(BIN)/bubblewasm run -c examples/hello/bubble.toml

test: build test-go test-sdk test-newcomer

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

## test-sdk: the guest SDKs' native tests (C and Rust, against their fake hosts).
test-sdk:
	@for t in guest-sdk/*/test.sh; do echo "== $$t"; bash $$t || exit 1; done

## test-newcomer: the README's two commands in a fresh clone of HEAD.
test-newcomer:
	@bash scripts/newcomer-test.sh

## bench: hello modules (WAT, C, Rust, Go) on both engines in every
## lifecycle, each a server process pinned to one CPU under wrk at a fixed
## offered load; server CPU per request as a ratio to native net/http in
## the same run, then the examples' start times. ~7 min on 2 cores; knobs:
## FIXED_DUR (5s), ROUNDS (2), WARM, CONNS, THINK_MS, BENCH_ONLY (regexp
## over wat/wazero/pool, ...), BENCH_START=0. Report: bin/bench.md.
BENCH_MODULES := hello hello-wat hello-c hello-rust
bench: deps cli bench-tool $(addprefix $(BIN)/modules/,$(addsuffix .wasm,$(BENCH_MODULES)))
	@$(BIN)/bubblewasm build -c examples/rpc/bubble.toml >/dev/null
	@$(BIN)/bubblewasm build -c examples/chat/bubble.toml >/dev/null
	$(BIN)/bench
	@$(MAKE) --no-print-directory bench-router

## bench-router: the router alone, the first and the last of 10, 1,000 and
## 10,000 mounted routes (ns per lookup and rewrite; part of make bench).
bench-router:
	$(GO) test -run '^$$' -bench 'BenchmarkRouter/routes=' -benchtime 200000x ./server/

bench-tool:
	$(GO) build -o $(BIN)/bench ./internal/bench

## bench-tls: TLS handshakes/s, HTTPS and HTTP/2 req/s of bubblewasm and of
## a native Go net/http server, same certificate, same run (needs h2load).
bench-tls: cli $(BIN)/modules/hello.wasm
	$(GO) build -o $(BIN)/tlsbench ./internal/tlsbench
	$(BIN)/tlsbench -bin $(BIN)/bubblewasm -module $(BIN)/modules/hello.wasm

## bench-readme: README.md's performance section from the last make bench.
bench-readme: bench-tool
	$(BIN)/bench readme $(BIN)/bench.md README.md

## profile: a CPU profile of the WAT hello, pooled, over HTTP keep-alive at
## the bench's fixed load, summed by pipeline layer (PROFILE_FLAGS: -module,
## -engine, -instances, -native, -dur; go tool pprof bin/profile.pb.gz).
profile: deps cli bench-tool $(BIN)/modules/hello-wat.wasm
	$(BIN)/bench profile $(PROFILE_FLAGS)

check:
	@bash scripts/check.sh

## fuzz: run every target of scripts/fuzz-targets.txt for FUZZTIME each.
fuzz: deps-base
	@bash scripts/fuzz.sh

clean:
	rm -rf $(BIN)
