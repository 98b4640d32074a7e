# bench/bench.mk — `make bench`: the seed's stack (dumb-init + runit), s6 and
# svinit side by side on the same offline base, in one run (issue 5).
# Writes bench/RESULTS.md, bench/results.json and bench/results.svg.
#
#   make bench                                  the full run (about 19 minutes on a busy 2-core VM)
#   make bench BENCH_FLAGS='-runs 1 -metrics idle,size'   a quick look
#
# Flags of bench/cmd/bench: -runs, -steady-runs, -stacks, -metrics (idle, services, steady, stubborn, crash,
# zombies, syslog, size), -syslog-messages, -orphans, -crash-window.

BENCH_FLAGS ?=

.PHONY: bench

bench: ## compare seed, s6 and svinit; writes bench/RESULTS.md, results.json, results.svg
	@scripts/ensure-docker
	@$(MAKE) --no-print-directory base
	@$(MAKE) --no-print-directory image FLAVOR=offline
	$(GO) run ./bench/cmd/bench -svinit-image alpine-server:$(VERSION)-offline $(BENCH_FLAGS)
