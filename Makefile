# sluice — build, try, test and install. GNU make; run as root on a fresh Debian 12 (or with sudo).

SWIFT      ?= swift
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
BINDIR      = $(DESTDIR)$(PREFIX)/bin
SHAREDIR    = $(DESTDIR)$(PREFIX)/share/sluice
CONF       ?= Conf/sluice.conf
RELEASE_BIN = .build/release

# Debian packages the tests need; apt-get runs only when one is missing.
# Later: redis-server postgresql libsystemd-dev
# prometheus: its promtool checks the /metrics exposition (PrometheusTests).
TEST_PACKAGES = python3 socat prometheus redis-server redis-tools postgresql
RUN_PACKAGES  = python3

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

.PHONY: all build run test test-deps check clean install uninstall

all: build

build:
	$(SWIFT) build -c release

# Two tiny web servers on 127.0.0.1:8081 and :8082 behind sluice on 127.0.0.1:8080.
# Try it with `curl 127.0.0.1:8080`; Ctrl-C stops sluice and the backends.
run: build
	$(call ensure-packages,$(RUN_PACKAGES))
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
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

check: build
	$(RELEASE_BIN)/sluice -c -f $(CONF)

clean:
	$(SWIFT) package clean
	rm -rf .build

# Binaries to $(PREFIX)/bin, the example config to $(PREFIX)/share/sluice, and to
# $(SYSCONFDIR)/sluice/sluice.conf only when no config is there yet.
install: build
	install -d $(BINDIR) $(SHAREDIR) $(DESTDIR)$(SYSCONFDIR)/sluice
	install -m 0755 $(RELEASE_BIN)/sluice $(RELEASE_BIN)/sluicectl $(BINDIR)/
	install -m 0644 $(CONF) $(SHAREDIR)/sluice.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.conf ] || \
		install -m 0644 $(CONF) $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.conf

uninstall:
	rm -f $(BINDIR)/sluice $(BINDIR)/sluicectl $(SHAREDIR)/sluice.conf.example
