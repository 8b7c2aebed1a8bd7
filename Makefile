# bubblewasm — build, run, test, bench.
#
#   make run     build everything and serve examples/hello on 127.0.0.1:8080
#   make test    install what is missing, then run every test
#   make bench   requests/s through bubblewasm vs native net/http, same run
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

WASM_GO := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags=-s

.PHONY: all build cli modules run test test-go test-sdk test-newcomer bench check fuzz deps deps-base clean

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

bench: deps cli $(BIN)/modules/hello.wasm $(BIN)/modules/hello-wat.wasm
	$(GO) run ./internal/bench

check:
	@bash scripts/check.sh

## fuzz: run every target of scripts/fuzz-targets.txt for FUZZTIME each.
fuzz: deps-base
	@bash scripts/fuzz.sh

clean:
	rm -rf $(BIN)
