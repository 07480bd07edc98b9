# peershare: build, test, run, benchmark, install.
#
#   make run     install missing Debian packages, build (release), start the agent
#   make test    install missing Debian packages, build, run every test (unit, integration, LAN lab)
#   make bench   benchmark against tar|nc, scp and rsync (writes BENCHMARKS.md); not part of `make test`
#   make bench-links  the same over shaped links between two network namespaces (100 Mbit/s, 1 Gbit/s;
#                the "Shaped links" section of BENCHMARKS.md); root; takes long at full size
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
LAB_DEPS   = avahi-daemon avahi-utils dbus iproute2 procps psmisc jq nftables util-linux python3 python3-cryptography
BENCH_DEPS = openssh-server openssh-client rsync netcat-openbsd hyperfine time
LINKS_DEPS = $(BENCH_DEPS) zstd iproute2 util-linux
DOC_DEPS   = mandoc man-db
# Desktop notifications: gdbus at run time (recommended), a private session bus and a
# python3-dbus notification server in Tests/notify.
NOTIFY_DEPS = libglib2.0-bin dbus-daemon python3-dbus python3-gi
PKG_DEPS   = dpkg-dev systemd gzip binutils

.PHONY: all deps build release run test unit-test lan-test bench bench-links clean install uninstall

all: build

## deps: install the Debian packages that are missing (needs root; apt-get update first).
deps:
	@missing=""; for p in $(BUILD_DEPS) $(LAB_DEPS) $(DOC_DEPS) $(PKG_DEPS) $(NOTIFY_DEPS) $(EXTRA_DEPS); do \
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

## test: every test: unit, integration and hostile-peer tests (Swift Testing, run as an
## ordinary user by scripts/test-as-user.sh), the control-socket client (Tests/control), desktop notifications (Tests/notify), the LAN lab (root for the namespaces and daemons;
## its agents and CLI run as an ordinary user), then the packaging tests.
test: deps
	$(SWIFT) build --build-tests
	/usr/bin/python3 docs/vectors/check_vectors.py
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash scripts/test-as-user.sh
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/control/run.sh
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/notify/run.sh
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/lan/run.sh
	$(MAKE) --no-print-directory package-test

unit-test: build
	$(SWIFT) build --build-tests
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash scripts/test-as-user.sh

lan-test: build
	PEERSHARE_BIN=$(CURDIR)/$(BIN_DEBUG) bash Tests/lan/run.sh

bench:
	$(MAKE) deps EXTRA_DEPS="$(BENCH_DEPS)"
	$(MAKE) --no-print-directory $(BIN_STATIC)
	PEERSHARE_BIN=$(CURDIR)/$(BIN_STATIC) bash scripts/bench.sh

## bench-links: scripts/bench-links.sh (BENCH_QUICK=1, BENCH_BIG_MIB=N and others: see the script).
bench-links:
	$(MAKE) deps EXTRA_DEPS="$(LINKS_DEPS)"
	$(MAKE) --no-print-directory $(BIN_STATIC)
	PEERSHARE_BIN=$(CURDIR)/$(BIN_STATIC) bash scripts/bench-links.sh

clean:
	rm -rf .build

# ---------------------------------------------------------------------------------------------
# Installing and packaging
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   binary, man page, completions, systemd user unit
#   make uninstall [PREFIX=/usr/local] [DESTDIR=] removes exactly the files install wrote
#   make deb                                      Packaging/peershare_<version>_<arch>.deb
#   make completions                              bash, zsh and fish scripts from the built binary
#   make package-test                             Tests/packaging/run.sh
#
# What gets installed (and packaged) is a release build with the Swift runtime linked in
# statically (--static-swift-stdlib, in its own scratch path), so it needs only Debian's
# libraries, not /opt/swift. These targets never run `deps` (no apt-get). The binary is
# rebuilt only when a source is newer, so `make deb && sudo make install` needs no swift
# on root's PATH. INSTALL_BIN=path installs another, already built, binary.

STATIC_SCRATCH ?= .build-static
BIN_STATIC      = $(STATIC_SCRATCH)/release/peershare
INSTALL_BIN    ?= $(BIN_STATIC)
PKG_BUILD       = .build-packaging
DEB_ROOT        = Packaging/root

BINDIR      = $(PREFIX)/bin
MAN1DIR     = $(PREFIX)/share/man/man1
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
USERUNITDIR = $(PREFIX)/lib/systemd/user
# "Send with peershare" in file managers: a dialog script and Nemo, Caja and Dolphin actions.
LIBEXECDIR  = $(PREFIX)/libexec/peershare
NEMODIR     = $(PREFIX)/share/nemo/actions
CAJADIR     = $(PREFIX)/share/file-manager/actions
DOLPHINDIR  = $(PREFIX)/share/kio/servicemenus
DESKTOP_FILES = $(LIBEXECDIR)/send-dialog $(NEMODIR)/peershare-send.nemo_action \
	$(CAJADIR)/peershare-send.desktop $(DOLPHINDIR)/peershare-send.desktop
INSTALLED_FILES = $(BINDIR)/peershare $(MAN1DIR)/peershare.1.gz $(BASHCOMPDIR)/peershare \
	$(ZSHCOMPDIR)/_peershare $(FISHCOMPDIR)/peershare.fish $(USERUNITDIR)/peershare.service $(DESKTOP_FILES)
DESKTOP_SED = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'

SWIFT_INPUTS = $(shell find Sources -type f 2>/dev/null) Package.swift $(wildcard Package.resolved)

.PHONY: deb completions package-test

# The static release build; rebuilt when a source changes.
$(BIN_STATIC): $(SWIFT_INPUTS)
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_SCRATCH) --product peershare
	@touch $@

## completions: generate the bash, zsh and fish completion scripts into .build-packaging/completions.
completions: $(INSTALL_BIN)
	bash scripts/completions.sh $(INSTALL_BIN) $(PKG_BUILD)/completions

## install: install into $(DESTDIR)$(PREFIX) (default /usr/local).
install: $(INSTALL_BIN) completions
	install -Dm755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/peershare
	gzip -9n < Man/peershare.1 > $(PKG_BUILD)/peershare.1.gz
	install -Dm644 $(PKG_BUILD)/peershare.1.gz $(DESTDIR)$(MAN1DIR)/peershare.1.gz
	install -Dm644 $(PKG_BUILD)/completions/peershare.bash $(DESTDIR)$(BASHCOMPDIR)/peershare
	install -Dm644 $(PKG_BUILD)/completions/_peershare $(DESTDIR)$(ZSHCOMPDIR)/_peershare
	install -Dm644 $(PKG_BUILD)/completions/peershare.fish $(DESTDIR)$(FISHCOMPDIR)/peershare.fish
	sed 's|@BINDIR@|$(BINDIR)|g' Packaging/peershare.service.in > $(PKG_BUILD)/peershare.service
	install -Dm644 $(PKG_BUILD)/peershare.service $(DESTDIR)$(USERUNITDIR)/peershare.service
	$(DESKTOP_SED) Packaging/desktop/send-dialog.in > $(PKG_BUILD)/send-dialog
	install -Dm755 $(PKG_BUILD)/send-dialog $(DESTDIR)$(LIBEXECDIR)/send-dialog
	$(DESKTOP_SED) Packaging/desktop/peershare-send.nemo_action.in > $(PKG_BUILD)/peershare-send.nemo_action
	install -Dm644 $(PKG_BUILD)/peershare-send.nemo_action $(DESTDIR)$(NEMODIR)/peershare-send.nemo_action
	$(DESKTOP_SED) Packaging/desktop/peershare-send-caja.desktop.in > $(PKG_BUILD)/peershare-send-caja.desktop
	install -Dm644 $(PKG_BUILD)/peershare-send-caja.desktop $(DESTDIR)$(CAJADIR)/peershare-send.desktop
	$(DESKTOP_SED) Packaging/desktop/peershare-send-dolphin.desktop.in > $(PKG_BUILD)/peershare-send-dolphin.desktop
	install -Dm644 $(PKG_BUILD)/peershare-send-dolphin.desktop $(DESTDIR)$(DOLPHINDIR)/peershare-send.desktop

## uninstall: remove what install wrote (directories are left alone).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))

## deb: Packaging/peershare_<version>_<arch>.deb from a staging root (Packaging/root).
deb: $(BIN_STATIC)
	rm -rf $(DEB_ROOT) Packaging/peershare_*.deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr INSTALL_BIN=$(BIN_STATIC)
	bash Packaging/build-deb.sh $(DEB_ROOT) Packaging

## package-test: the man page, install/uninstall, the .deb, the systemd unit, completions.
package-test: $(BIN_STATIC)
	MAKE="$(MAKE)" PEERSHARE_PACKAGE_BIN=$(CURDIR)/$(BIN_STATIC) bash Tests/packaging/run.sh

# ---------------------------------------------------------------------------------------------
# Fuzzing and sanitizers
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="manifest frame path handshake"]
#       builds the libFuzzer targets of Fuzz/ (Fuzz/build.sh, outputs in .build-fuzz/) and runs
#       each for FUZZ_SECONDS from a copy of its committed corpus (Fuzz/run.sh); prints the
#       executions and crashes per target and fails on any crash.
#   make sanitize [SANITIZE_FILTER='PeershareCoreTests|PeershareAgentTests']
#       the unit tests under ThreadSanitizer (.build-tsan), then AddressSanitizer (.build-asan).

FUZZ_SECONDS    ?= 60
FUZZ_TARGETS    ?=
SANITIZE_FILTER ?= PeershareCoreTests|PeershareAgentTests

.PHONY: fuzz sanitize sanitize-ci

## fuzz: build the fuzz targets and run each for FUZZ_SECONDS seconds.
fuzz: deps
	bash Fuzz/build.sh
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash Fuzz/run.sh $(FUZZ_TARGETS)

## sanitize-ci: the unit tests under ThreadSanitizer only, as CI runs them (AddressSanitizer
## runs in CI through the fuzz targets, which are built with it).
## The full-disk tests need the tmpfs mounts of scripts/test-as-user.sh and run in make test.
sanitize-ci: deps
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter '$(SANITIZE_FILTER)' --skip FullDiskTests

## sanitize: unit tests under TSan and ASan, each in its own scratch path (Fuzz/lsan.supp
## lists the leak reports that are not peershare's: toolchain, TOMLKit, false positives).
sanitize: deps
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter '$(SANITIZE_FILTER)'
	LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp \
	  $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter '$(SANITIZE_FILTER)'
