# peershare: build, test, run, benchmark, install.
#
#   make run     install missing Debian packages, build (release), start the agent
#   make test    install missing Debian packages, build, run every test (unit, integration, LAN lab)
#   make bench   benchmark against tar|nc, scp and rsync (writes BENCHMARKS.md); not part of `make test`
#
# As root the Debian packages are installed with apt-get; otherwise they must already be there.

SWIFT      ?= swift
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIG     ?= release
BIN_DEBUG   = .build/debug/peershare
BIN_RELEASE = .build/release/peershare

# Build and run-time packages; the LAN lab and the benchmark need the rest.
BUILD_DEPS = pkg-config libsodium-dev libavahi-client-dev libavahi-core-dev
LAB_DEPS   = avahi-daemon avahi-utils dbus iproute2 procps psmisc
BENCH_DEPS = openssh-server openssh-client rsync netcat-openbsd hyperfine time
DOC_DEPS   = mandoc man-db

.PHONY: all deps build release run test unit-test lan-test bench clean install uninstall

all: build

## deps: install the Debian packages that are missing (needs root; apt-get update first).
deps:
	@missing=""; for p in $(BUILD_DEPS) $(LAB_DEPS) $(DOC_DEPS) $(EXTRA_DEPS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Missing Debian packages:$$missing (run as root, or install them)"; exit 1; fi; \
	  echo "Installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## run: start the agent in the foreground (Ctrl-C stops it).
run: release
	$(BIN_RELEASE) run $(ARGS)

## test: every test. Unit and integration tests with swift test, then the LAN lab (root only).
test: deps
	$(SWIFT) build --build-tests
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) $(SWIFT) test --skip-build --parallel --num-workers 2
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/lan/run.sh

unit-test: build
	$(SWIFT) build --build-tests
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) $(SWIFT) test --skip-build

lan-test: build
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/lan/run.sh

bench:
	$(MAKE) deps EXTRA_DEPS="$(BENCH_DEPS)"
	$(SWIFT) build -c release
	bash scripts/bench.sh

clean:
	rm -rf .build
