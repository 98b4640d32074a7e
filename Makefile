# alpine-server — build, test and run svinit and its image.
# `make test` is the one command that proves everything (CI runs it).

VERSION   := $(shell cat VERSION)
COMMIT    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
GO        ?= go
BIN       := bin/svinit
LDFLAGS   := -s -w -X alpine-server/internal/buildinfo.Version=$(VERSION) -X alpine-server/internal/buildinfo.Commit=$(COMMIT)
STATICCHECK ?= $(shell command -v staticcheck || echo $(HOME)/go/bin/staticcheck)

.PHONY: build test deps unit lint fuzz fuzz-long demo clean

TEST_STEPS := deps lint unit fuzz e2e
test: ## everything CI proves: vet+staticcheck, unit+PID-1 tests, fuzz, container tests
	@MAKE='$(MAKE)' scripts/test-steps $(TEST_STEPS)

deps: ## tools the tests compare against (gosu, busybox-static, util-linux), installed when missing
	@scripts/test-deps

build: ## static svinit binary, prints its size
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN) ./cmd/svinit
	@ls -l $(BIN) | awk '{printf "svinit: %s bytes (%.2f MB)\n", $$5, $$5/1048576}'

# Both halves run even when the first fails (make stops a recipe at its
# first failing line, which would hide the PID-1 tests' verdict).
unit: ## Go unit + PID-1 integration tests (race detector on the internal packages)
	@rc=0; \
	echo '$(GO) test -count=1 -race ./internal/...'; $(GO) test -count=1 -race ./internal/... || rc=1; \
	echo '$(GO) test -count=1 ./cmd/... ./test/pid1/... ./test/maketest/'; $(GO) test -count=1 ./cmd/... ./test/pid1/... ./test/maketest/ || rc=1; \
	exit $$rc

lint:
	$(GO) vet ./...
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(STATICCHECK) ./...

FUZZCOUNT ?= 2000x
fuzz: ## each fuzz target for a fixed number of executions (deterministic: make test never flakes)
	@scripts/fuzz-all $(FUZZCOUNT)

FUZZTIME ?= 30s
fuzz-long: ## each fuzz target for FUZZTIME (time-based; not part of make test)
	@scripts/fuzz-all --long $(FUZZTIME)

demo: build ## svinit in the foreground over examples/services (Ctrl-C stops it)
	SVINIT_SERVICES_DIR=examples/services SVINIT_STARTUP_DIR=examples/startup.d \
	SVINIT_SHUTDOWN_DIR=examples/shutdown.d SVINIT_CONTROL=/tmp/svinit-demo/control.sock \
	./$(BIN)

clean:
	rm -rf bin

-include image/image.mk
-include bench/bench.mk
