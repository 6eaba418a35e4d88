# effortd — build, test, demo and install.
#
#   make            build effortd and effortctl
#   make check      install missing packages, build with -Werror, run every test
#   make demo       private PostgreSQL + effortd + the sample organisation
#   make install    PREFIX=/usr/local DESTDIR=
#   make deb        Debian packages effortd and effortctl in build/deb/

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
DATADIR   ?= $(PREFIX)/share/effortd
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR   ?= /lib/systemd/system

CC        ?= cc
BUILD     ?= build
SQLDIR    ?= $(abspath sql)
# The libraries each program links (pkg-config names): effortctl only
# those it calls, so that it needs no PostgreSQL, libcurl or systemd
# client library (tests/t/linking.t).
DAEMON_PKGS := libevent libevent_openssl jansson libconfig libpq libsystemd libcrypto libssl cjose libcurl
CLI_PKGS    := libevent libevent_openssl jansson libconfig libcrypto libssl cjose
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral
CFLAGS    ?= -O2 -g
# The version, in one place: the top entry of debian/changelog (the
# packages' version); effortd and effortctl print it.
VERSION   := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
CPPFLAGS  += -D_GNU_SOURCE -DSQLDIR='"$(SQLDIR)"' -DEFFORTD_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(DAEMON_PKGS) 2>/dev/null)
DAEMON_LIBS := $(shell pkg-config --libs $(DAEMON_PKGS) 2>/dev/null) -lcsv -lm
CLI_LIBS    := $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)

COMMON_SRC  := $(wildcard common/*.c)
DAEMON_SRC  := $(wildcard daemon/*.c)
CLI_SRC     := $(wildcard cli/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Daemon objects the unit tests link against (everything but main).
DAEMON_LIB  := $(filter-out $(BUILD)/daemon/main.o,$(DAEMON_OBJ))

.PHONY: all check check-asan fuzz bench deps demo install clean format format-check deb check-deb

all: $(BUILD)/effortd $(BUILD)/effortctl

# Each program sees only its own headers and common/'s: the CLI cannot
# include a daemon header (daemon/README: the parts and what they may call).
$(BUILD)/common/%.o: CPPFLAGS += -Icommon
$(BUILD)/daemon/%.o: CPPFLAGS += -Idaemon -Icommon
$(BUILD)/cli/%.o: CPPFLAGS += -Icli -Icommon
$(BUILD)/tests/%: CPPFLAGS += -Idaemon -Icommon

# -MMD -MP: each object's .d file names the headers it read, so a header
# change rebuilds only what includes it.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The objects that print the version are made again when it changes.
$(BUILD)/daemon/main.o $(BUILD)/cli/effortctl.o $(BUILD)/cli/client.o: debian/changelog

$(BUILD)/effortd: $(DAEMON_OBJ) $(COMMON_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) $(LDLIBS)

$(BUILD)/effortctl: $(CLI_OBJ) $(COMMON_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CLI_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(DAEMON_LIB) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(filter %.o,$^) $(DAEMON_LIBS) $(LDLIBS) -lcmocka

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/tests/*.d)

deps:
	@scripts/install-deps

# Every test: cmocka unit tests, pgTAP rule tests and the integration tests
# (real effortd, effortctl and a throwaway PostgreSQL), all under prove.
# Three test files at once (PROVE_JOBS): the integration tests wait for a
# part of their time (drain and statement timeouts, retries, a standby
# catching up), so on the 2-core machine a third file keeps both cores
# busy: 587-593 s with three against 666 s with two, 10-11 % of the CPU
# still idle.
check: deps check-layers
	$(MAKE) all $(UNIT_BIN)
	PROVE_JOBS=$${PROVE_JOBS:-3} scripts/run-tests $(UNIT_BIN)

# No source file includes a header of a part above its own (daemon/README).
.PHONY: check-layers
check-layers:
	scripts/check-layers

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer
# (leak checking included): any report fails the test that saw it.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		build-asan/effortd build-asan/effortctl \
		$(UNIT_BIN:$(BUILD)/%=build-asan/%)
	BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		scripts/run-tests $(UNIT_BIN:$(BUILD)/%=build-asan/%)

# End to end: headless Chromium renders each HTML report served by a real
# effortd (tests/e2e/*.t; E2E_SCREENSHOT_DIR=dir keeps the screenshots).
.PHONY: check-e2e
check-e2e: deps
	$(MAKE) all
	TESTS="$(wildcard tests/e2e/*.t)" scripts/run-tests

# libFuzzer targets (tests/fuzz/: feed parsers, config loader, query
# string) built with clang under ASan+UBSan, each run FUZZ_SECONDS (60).
fuzz: deps
	tests/fuzz/run

demo: deps all
	scripts/demo

# The soak (scripts/soak, docs/operations.md): mixed load and faults for
# SOAK_SECONDS (600) against a private PostgreSQL; prints its figures.
.PHONY: soak
soak: deps all
	scripts/soak

# The benchmark (docs/performance.md) on a fresh private PostgreSQL:
# STAFF (10000) and MONTHS (12); results in bench/results-<date>-<staff>.txt.
bench: deps all
	scripts/bench

# The installed effortd looks for its SQL where install puts it: unless the
# build already has SQLDIR = $(DATADIR)/sql (debian/rules sets it), effortd is
# built again for installing, in $(BUILD)/installed, with that SQLDIR.
INSTALL_SQLDIR := $(DATADIR)/sql
INSTALLED_EFFORTD = $(if $(filter $(INSTALL_SQLDIR),$(SQLDIR)),$(BUILD)/effortd,$(BUILD)/installed/effortd)

install: all
	$(if $(filter $(INSTALL_SQLDIR),$(SQLDIR)),,rm -rf $(BUILD)/installed && \
		$(MAKE) BUILD=$(BUILD)/installed SQLDIR=$(INSTALL_SQLDIR) $(BUILD)/installed/effortd)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sql/functions \
		$(DESTDIR)$(SYSCONFDIR)/effortd $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(INSTALLED_EFFORTD) $(DESTDIR)$(SBINDIR)/effortd
	install -m 755 $(BUILD)/effortctl $(DESTDIR)$(BINDIR)/effortctl
	install -m 644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	install -m 644 sql/functions/*.sql $(DESTDIR)$(DATADIR)/sql/functions/
	sed 's|^\(\s*sql_dir\s*=\s*\).*|\1"$(DATADIR)/sql";|' conf/effortd.conf > $(DESTDIR)$(SYSCONFDIR)/effortd/effortd.conf.example
	sed 's|/usr/local/sbin/effortd|$(SBINDIR)/effortd|g' systemd/effortd.service > $(DESTDIR)$(UNITDIR)/effortd.service
	install -m 644 docs/effortd.8 $(DESTDIR)$(MANDIR)/man8/effortd.8
	install -m 644 docs/effortctl.1 $(DESTDIR)$(MANDIR)/man1/effortctl.1

# Debian packages (debian/): built by dpkg-buildpackage in a copy of the
# tree, checked by lintian, left in build/deb/ (scripts/build-deb).
deb: deps
	scripts/build-deb

# The packages installed on this machine (as root): files, user, modes,
# the installed effortd and effortctl against a private PostgreSQL, then
# purged (tests/deb/packages.t); an upgrade from the first packaged commit
# with a populated database (tests/deb/upgrade.t).  Removes them at the end.
check-deb: deb
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE prove -I tests/lib tests/deb/*.t

format:
	clang-format -i common/*.[ch] daemon/*.[ch] cli/*.[ch] tests/unit/*.c

format-check:
	clang-format --dry-run --Werror common/*.[ch] daemon/*.[ch] cli/*.[ch] tests/unit/*.c

clean:
	rm -rf $(BUILD) build-asan build-fuzz
