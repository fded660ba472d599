# sluice — build, try, test and install. GNU make; run as root on a fresh Debian 12 (or with sudo).

SWIFT      ?= swift
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
BINDIR      = $(DESTDIR)$(PREFIX)/bin
SHAREDIR    = $(DESTDIR)$(PREFIX)/share/sluice
DOCDIR      = $(DESTDIR)$(PREFIX)/share/doc/sluice
UNITDIR     = $(DESTDIR)$(PREFIX)/lib/systemd/system
CONF       ?= Conf/sluice.conf
RELEASE_BIN = .build/release

# Debian packages, installed with apt-get only when missing.
# Building needs libsystemd (sd_notify, socket activation, journal) through pkg-config.
BUILD_PACKAGES = libsystemd-dev pkg-config
# prometheus: its promtool checks the /metrics exposition (PrometheusTests);
# systemd: systemd-socket-activate for the socket-activation tests; redis and postgresql:
# real backends for the health-check tests.
TEST_PACKAGES = $(BUILD_PACKAGES) python3 socat prometheus systemd redis-server redis-tools postgresql
RUN_PACKAGES  = $(BUILD_PACKAGES) python3
# The benchmark's peers, load generators and backends (Debian 12 ships nginx's stream module
# separately, in libnginx-mod-stream).
BENCH_PACKAGES = $(BUILD_PACKAGES) python3 haproxy nginx libnginx-mod-stream iperf3 wrk redis-server redis-tools postgresql
QUICK ?=
# The soak's backends and load generators: redis-server, redis-benchmark (redis-tools),
# PostgreSQL 15 with pgbench (postgresql -> postgresql-15).
SOAK_PACKAGES = $(BUILD_PACKAGES) python3 redis-server redis-tools postgresql
SOAK_SECONDS ?= 600

SHELL := /bin/bash

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# $(call ensure-packages,PKG...): one apt-get update, then install only what dpkg lacks.
define ensure-packages
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi
endef

.PHONY: all build build-deps run test test-deps check clean install uninstall bench soak fuzz test-asan test-tsan format lint

all: build

build-deps:
	$(call ensure-packages,$(BUILD_PACKAGES))

build: build-deps
	$(SWIFT) build -c release

# Two tiny web servers on 127.0.0.1:8081 and :8082 behind sluice on 127.0.0.1:8080.
# Try it with `curl 127.0.0.1:8080`; Ctrl-C stops sluice and the backends.
run:
	$(call ensure-packages,$(RUN_PACKAGES))
	$(SWIFT) build -c release
	@set -e; \
	tmp=$$(mktemp -d); \
	for n in 1 2; do mkdir -p $$tmp/web$$n; echo "hello from web$$n (127.0.0.1:808$$n)" > $$tmp/web$$n/index.html; done; \
	/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 --directory $$tmp/web1 >$$tmp/web1.log 2>&1 & p1=$$!; \
	/usr/bin/python3 -m http.server 8082 --bind 127.0.0.1 --directory $$tmp/web2 >$$tmp/web2.log 2>&1 & p2=$$!; \
	trap 'kill $$p1 $$p2 2>/dev/null || true; rm -rf $$tmp' EXIT INT TERM; \
	for port in 8081 8082; do \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null && break; sleep 0.1; done; \
	done; \
	echo "backends: pids $$p1 $$p2; sluice on 127.0.0.1:8080 (Ctrl-C to stop)"; \
	$(RELEASE_BIN)/sluice -f $(CONF)

test-deps:
	$(call ensure-packages,$(TEST_PACKAGES))

# The end-to-end suite is `.serialized` in the sources (E2E parent suite), so plain
# `swift test` is safe: unit tests run in parallel, scenarios one at a time.
# Then every fuzz target briefly, and in CI (CI=true, or TEST_ASAN=1 here) the whole suite
# again built with AddressSanitizer: about 8 more minutes, which a local edit-test cycle skips.
TEST_ASAN ?= $(if $(filter-out 0 false,$(CI)),1,)
test: test-deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(if $(TEST_ASAN),$(MAKE) test-asan,@echo "AddressSanitizer suite skipped (CI=true or TEST_ASAN=1 runs it)")

# One layout for every Swift file (.swift-format: 4 spaces, 120 columns), with the formatter
# that ships with the toolchain. `make format` rewrites in place; `make lint` (the first step
# of `make test`) fails on any file `make format` would change.
format:
	$(SWIFT) format -i -r Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict -r Package.swift Sources Tests

# The whole suite (unit and end-to-end) with the daemon, the CLI and the tests built with
# AddressSanitizer. Every process writes its reports to .build-asan/reports (the end-to-end
# tests' sluice children inherit ASAN_OPTIONS); any report fails the run. Tests that bound
# resident memory step aside (SLUICE_SANITIZER): ASan's quarantine keeps freed memory. Leak
# checking is off: the daemon's exit after SIGTERM leaves thread-owned buffers the OS reclaims.
ASAN_REPORTS = $(CURDIR)/.build-asan/reports
test-asan: test-deps
	rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	$(SWIFT) build --build-tests --sanitize=address --build-path .build-asan
	SLUICE_SANITIZER=address ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN_REPORTS)/asan \
		$(SWIFT) test --skip-build --sanitize=address --build-path .build-asan
	@if ls $(ASAN_REPORTS)/asan* >/dev/null 2>&1; then \
		cat $(ASAN_REPORTS)/asan*; echo "AddressSanitizer reported the above"; exit 1; \
	else echo "AddressSanitizer: no report"; fi

# The whole suite with the daemon, the CLI and the tests built with ThreadSanitizer, the same way
# as test-asan: reports go to .build-tsan/reports (the end-to-end tests' sluice children inherit
# TSAN_OPTIONS) and any report fails the run. exitcode=0: a process with a report still exits as
# it would, so the tests' exit-status checks don't hide the report behind a failure of their own.
# Tests/tsan.supp holds the suppressed false positives (Synchronization's Mutex waits on a bare
# futex TSan does not see), each with what is handed over and through which lock.
# SLUICE_TEST_TIME_SCALE stretches the end-to-end waits: the daemon runs 5-15x slower under TSan.
# Not part of `make test` (CI time).
TSAN_REPORTS = $(CURDIR)/.build-tsan/reports
TSAN_TIME_SCALE ?= 5
test-tsan: test-deps
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	$(SWIFT) build --build-tests --sanitize=thread --build-path .build-tsan
	TSAN_OPTIONS=exitcode=0:log_path=$(TSAN_REPORTS)/tsan:suppressions=$(CURDIR)/Tests/tsan.supp \
	SLUICE_SANITIZER=thread SLUICE_TEST_TIME_SCALE=$(TSAN_TIME_SCALE) \
		$(SWIFT) test --skip-build --sanitize=thread --build-path .build-tsan
	@if ls $(TSAN_REPORTS)/tsan* >/dev/null 2>&1; then \
		cat $(TSAN_REPORTS)/tsan*; echo "ThreadSanitizer reported the above"; exit 1; \
	else echo "ThreadSanitizer: no report"; fi

# Coverage-guided fuzzing (libFuzzer + ASan) of the parsers and state machines that see outside
# bytes or outside order (Tests/Fuzz; `session` drives a real worker over loopback):
# each target runs FUZZ_SECONDS from the committed seeds in Tests/Fuzz/corpus/TARGET; what it
# learns stays in .build-fuzz/corpus. A finding stops the run with its input saved as
# .build-fuzz/crashes/TARGET-crash-...: replay it with
#   SLUICE_FUZZ_TARGET=TARGET .build-fuzz/debug/sluice-fuzz FILE
# then add it to Tests/Fuzz/corpus/TARGET and to a regression test. `make test` runs each briefly.
# SWIFT_BACKTRACE=enable=no: libFuzzer and ASan report a trap themselves; Swift's backtracer,
# spawned on a trap, was seen outliving the fuzzer by minutes with its output still open.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?= config admin statefile probe proxy pump metrics session
FUZZ_BUILD = .build-fuzz
fuzz: build-deps
	set -o pipefail; SLUICE_FUZZ=1 $(SWIFT) build --build-path $(FUZZ_BUILD) --product sluice-fuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address \
		2>&1 | grep -v "Cannot export local symbol"
	@set -e; mkdir -p $(FUZZ_BUILD)/crashes; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		if SWIFT_BACKTRACE=enable=no SLUICE_FUZZ_TARGET=$$t $(FUZZ_BUILD)/debug/sluice-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
			$(FUZZ_BUILD)/corpus/$$t Tests/Fuzz/corpus/$$t > $(FUZZ_BUILD)/$$t.log 2>&1; then \
			echo "fuzz $$t: $$(grep -E '^Done' $(FUZZ_BUILD)/$$t.log), no finding"; \
		else \
			tail -n 60 $(FUZZ_BUILD)/$$t.log; echo "fuzz $$t: FINDING (see above; input in $(FUZZ_BUILD)/crashes)"; exit 1; \
		fi; \
	done

# Benchmark against direct, HAProxy (plain and splice) and nginx stream on loopback; writes
# bench/results/latest.{md,json,svg}. QUICK=1: fewer runs, shorter (under 3 minutes).
# One benchmark at a time on the machine, or the numbers mean nothing.
bench:
	$(call ensure-packages,$(BENCH_PACKAGES))
	$(SWIFT) build -c release
	QUICK=$(QUICK) /usr/bin/python3 bench/run.py

# Soak (reliability over time): SOAK_SECONDS (default 600) of bulk and short echo sessions
# (every byte checked), redis-benchmark and pgbench through one sluice, while echo and redis
# backends are killed and restarted, health checks fail and recover, servers are drained,
# put in maint, added and deleted over the admin socket, and the config is rewritten and
# reloaded every 5 s. Samples sluice's RSS, fds and counters; writes bench/results/soak.{md,json,svg}
# and exits non-zero when RSS or fds trend up after warm-up (SOAK_RSS_SLOPE_MAX KiB/min,
# SOAK_FD_DRIFT_MAX fds), a byte comes back wrong, the counters disagree or sluice died.
# Takes SOAK_SECONDS plus about 5 s of setup (initdb included) and 10-30 s of wind-down (the
# paced bulk sessions finish); SOAK_KEEP_TMP=1 keeps the temp dir (config, state file, every log);
# SOAK_SEED and SOAK_CHAOS replay and narrow a failure. See docs/testing.md, "Soak".
soak:
	$(call ensure-packages,$(SOAK_PACKAGES))
	$(SWIFT) build -c release
	SOAK_SECONDS=$(SOAK_SECONDS) /usr/bin/python3 bench/soak.py

check: build
	$(RELEASE_BIN)/sluice -c -f $(CONF)

clean:
	$(SWIFT) package clean
	rm -rf .build

# Binaries to $(PREFIX)/bin, the example config to $(PREFIX)/share/sluice, and to
# $(SYSCONFDIR)/sluice/sluice.conf only when no config is there yet.
# Units go to $(PREFIX)/lib/systemd/system (on systemd's search path for /usr/local and /usr)
# with ExecStart pointing at the installed binary.
install: build
	install -d $(BINDIR) $(SHAREDIR) $(DOCDIR) $(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sluice
	install -m 0755 $(RELEASE_BIN)/sluice $(RELEASE_BIN)/sluicectl $(BINDIR)/
	install -m 0644 $(CONF) $(SHAREDIR)/sluice.conf.example
	install -m 0644 README.md docs/*.md $(DOCDIR)/
	sed -e 's#/usr/local/bin/#$(PREFIX)/bin/#g' -e 's#/etc/sluice/#$(SYSCONFDIR)/sluice/#g' \
		-e 's#/usr/local/share/doc/sluice/#$(PREFIX)/share/doc/sluice/#g' \
		Systemd/sluice.service > $(UNITDIR)/sluice.service
	install -m 0644 Systemd/sluice.socket $(UNITDIR)/sluice.socket
	[ -e $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.conf ] || \
		install -m 0644 $(CONF) $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.conf

uninstall:
	rm -f $(BINDIR)/sluice $(BINDIR)/sluicectl $(SHAREDIR)/sluice.conf.example
	rm -f $(UNITDIR)/sluice.service $(UNITDIR)/sluice.socket
	rm -rf $(DOCDIR)
