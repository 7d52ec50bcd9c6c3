# mptun: one plain Makefile. `make demo` and `make test` are the two promises;
# both install missing Debian packages first (scripts/deps.sh).
CC      ?= cc
OPT     ?= -O2
CFLAGS  := -std=c11 -Wall -Wextra -Werror $(OPT) -g -D_GNU_SOURCE -MMD -MP $(EXTRA_CFLAGS)
SODIUM_CFLAGS := $(shell pkg-config --cflags libsodium 2>/dev/null)
SODIUM_LIBS   := $(shell pkg-config --libs libsodium 2>/dev/null || echo -lsodium)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
# the daemon's `mptun status` table reads the status document with jansson
JANSSON_LIBS  := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
LDLIBS  := $(SODIUM_LIBS) -lm

B       ?= build
V       ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

CORE_SRC  := $(wildcard core/*.c)
SCHED_SRC := $(wildcard sched/*.c)
SIM_LIB_SRC := $(filter-out sim/main.c,$(wildcard sim/*.c))
DAEMON_LIB_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
# unit tests of daemon/ modules link the daemon's objects; every other one the simulator's
DAEMON_UNIT_SRC := tests/unit/test_addr.c tests/unit/test_conffile.c tests/unit/test_config.c tests/unit/test_keys.c tests/unit/test_loop.c \
		   tests/unit/test_metrics.c tests/unit/test_scrape.c tests/unit/test_status.c
UNIT_SRC  := $(filter-out $(DAEMON_UNIT_SRC),$(wildcard tests/unit/test_*.c))

CORE_OBJ  := $(CORE_SRC:%.c=$(B)/obj/%.o)
SCHED_OBJ := $(SCHED_SRC:%.c=$(B)/obj/%.o)
SIM_LIB_OBJ := $(SIM_LIB_SRC:%.c=$(B)/obj/%.o)
DAEMON_LIB_OBJ := $(DAEMON_LIB_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
DAEMON_UNIT_BIN := $(DAEMON_UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

DEPS_BUILD := gcc libc6-dev make pkg-config libsodium-dev libcmocka-dev libjansson-dev
DEPS_DEMO  := $(DEPS_BUILD) gnuplot-nox
# the netns tests: the real daemon between namespaces, checked with real tools
DEPS_NETNS := iproute2 iputils-ping netcat-openbsd nftables iperf3 jq procps ethtool mptcpize python3 curl \
	      prometheus
# make install's check: systemd-analyze verify on the unit, man -l on the man page
DEPS_INSTALL := systemd man-db groff-base
DEPS_TEST  := $(DEPS_DEMO) clang libclang-rt-14-dev $(DEPS_NETNS) $(DEPS_INSTALL)
DEPS_BENCH := $(DEPS_DEMO) $(DEPS_NETNS) wireguard-go wireguard-tools

.PHONY: install uninstall installcheck all demo test netns soak netem-test unit unit-bins simcheck asan clang-check mutants bench plots fuzz fuzz-regress clean deps-demo deps-test deps-bench
all: $(B)/sim $(B)/mptun $(B)/wiretool $(B)/nulltun $(B)/linkemu $(UNIT_BIN) $(DAEMON_UNIT_BIN)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@[ "$(V)" != 0 ] || echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(SODIUM_CFLAGS) -I. -c $< -o $@

$(B)/sim: $(B)/obj/sim/main.o $(SIM_LIB_OBJ) $(SCHED_OBJ) $(CORE_OBJ)
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/mptun: $(B)/obj/daemon/main.o $(DAEMON_LIB_OBJ) $(SCHED_OBJ) $(CORE_OBJ)
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(JANSSON_LIBS) $(LDLIBS)

# the netns tests' attacker: records and replays frames, throws junk (tests/netns/)
$(B)/wiretool: tests/netns/wiretool.c
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

# make bench's floor: a tun <-> UDP relay with no header, crypto or scheduler (tests/netns/)
$(B)/nulltun: tests/netns/nulltun.c
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

# the real-time link emulator of the netem tests: the simulator's link model on the wall clock
$(B)/linkemu: $(B)/obj/tests/netem/linkemu.o $(B)/obj/sim/link.o $(B)/obj/sim/trace.o \
		$(B)/obj/sim/scenario.o $(B)/obj/core/rng.o
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(DAEMON_UNIT_BIN): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(DAEMON_LIB_OBJ) $(SCHED_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(JANSSON_LIBS) $(LDLIBS)

$(UNIT_BIN): $(B)/tests/%: $(B)/obj/tests/unit/%.o $(SIM_LIB_OBJ) $(SCHED_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	@[ "$(V)" != 0 ] || echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

deps-demo:
	@scripts/deps.sh $(DEPS_DEMO)
deps-test:
	@scripts/deps.sh $(DEPS_TEST)
deps-bench:
	@scripts/deps.sh $(DEPS_BENCH)

# The demo: default four-link mix, every scheduler, table on the terminal, PNGs in plots/out/.
demo: deps-demo
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -rf plots/out && mkdir -p plots/out
	$(Q)$(B)/sim --sched all --out plots/out
	$(Q)scripts/plots.sh plots/out
	@echo "plots: $$(ls plots/out/*.png | tr '\n' ' ')"

plots:
	$(Q)scripts/plots.sh plots/out

unit: all
	$(Q)scripts/run-unit.sh $(B)/tests

# the unit test binaries alone (make mutants rebuilds these for each mutant)
unit-bins: $(UNIT_BIN) $(DAEMON_UNIT_BIN)

simcheck: all
	$(Q)scripts/simcheck.sh $(B)/sim

asan:
	$(Q)$(MAKE) --no-print-directory -j2 B=build/asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/run-unit.sh build/asan/tests

# libFuzzer harnesses (tests/fuzz/), linked with core/, sched/ and daemon/ but daemon/main.c:
# `make fuzz` explores for FUZZ_SECONDS each (`make fuzz FUZZ_SECONDS=300` runs each harness
# 5 minutes); `make fuzz FUZZ_MERGE=1` also merges the new inputs that add coverage into
# tests/fuzz/corpus/NAME, for a commit; FUZZ_HARNESS="engine wire" runs only those; a failing
# input's path is printed.
# `make test` replays their corpus as a regression test.
FUZZ_SECONDS ?= 60
FUZZ_MERGE ?= 0
FUZZ_HARNESS ?=
fuzz: deps-test
	$(Q)FUZZ_MERGE=$(FUZZ_MERGE) scripts/fuzz.sh fuzz $(FUZZ_SECONDS) $(FUZZ_HARNESS)
fuzz-regress:
	$(Q)scripts/fuzz.sh regress

clang-check:
	$(Q)$(MAKE) --no-print-directory -j2 B=build/clang CC=clang all

# each safety property broken on purpose in a copy of the tree: the unit tests must fail on every one
mutants:
	$(Q)scripts/mutants.sh

# each phase says how long it took (scripts/timed.sh)
test: deps-test
	$(Q)scripts/timed.sh build $(MAKE) --no-print-directory -j2 all
	$(Q)scripts/timed.sh clang $(MAKE) --no-print-directory clang-check
	$(Q)scripts/purity.sh
	$(Q)scripts/timed.sh simcheck $(MAKE) --no-print-directory simcheck
	$(Q)scripts/timed.sh fuzz-regress $(MAKE) --no-print-directory fuzz-regress
	$(Q)scripts/timed.sh asan $(MAKE) --no-print-directory asan
	$(Q)scripts/timed.sh unit $(MAKE) --no-print-directory unit
	$(Q)scripts/timed.sh mutants $(MAKE) --no-print-directory mutants
	$(Q)scripts/timed.sh installcheck $(MAKE) --no-print-directory installcheck
	$(Q)scripts/timed.sh netns $(MAKE) --no-print-directory netns
	$(Q)scripts/timed.sh netem tests/netem/run.sh $(B)

# the real daemon between network namespaces (root; skips with a reason otherwise)
netns: all
	$(Q)tests/netns/daemon.sh $(B)
	$(Q)tests/netns/secrets.sh $(B)
	$(Q)tests/netns/edges.sh $(B)
	$(Q)tests/netns/conffile.sh $(B)
	$(Q)tests/netns/dualstack.sh $(B)
	$(Q)tests/netns/metrics.sh $(B)
	$(Q)tests/netns/hub.sh $(B)

# the daemon for SOAK_SECONDS (600 by default) under rekeys every 5 s, a flapping uplink, junk
# and TCP transfers: memory, descriptors, session and ping loss checked (root; not in make test)
SOAK_SECONDS ?= 600
soak: all
	$(Q)SOAK_SECONDS=$(SOAK_SECONDS) tests/netns/soak.sh $(B)

# the real daemon over four emulated uplinks, against one uplink, MPTCP and the simulator
netem-test: deps-test
	$(Q)$(MAKE) --no-print-directory -j2 all
	$(Q)tests/netem/run.sh $(B)

bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh $(B)/sim
	$(Q)tests/netns/bench-daemon.sh $(B) 10
	$(Q)tests/netns/bench-hub.sh $(B)
	$(Q)scripts/bench-testbed.sh $(B)

# make install [PREFIX=/usr/local] [DESTDIR=]: the daemon, its man page, the systemd unit
# mptun@.service (`systemctl start mptun@NAME` runs `mptun -c /etc/mptun/NAME.conf`) and the
# example configurations in share/doc/mptun/. Nothing is written to /etc.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/mptun
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: $(B)/mptun
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/mptun $(DESTDIR)$(SBINDIR)/mptun
	install -m 0644 dist/mptun.8 $(DESTDIR)$(MANDIR)/man8/mptun.8
	install -m 0644 examples/mptun.conf examples/mptun-server.conf $(DESTDIR)$(DOCDIR)/
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/mptun@.service >$(DESTDIR)$(UNITDIR)/mptun@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mptun@.service
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mptun $(DESTDIR)$(MANDIR)/man8/mptun.8 \
	  $(DESTDIR)$(UNITDIR)/mptun@.service $(DESTDIR)$(DOCDIR)/mptun.conf \
	  $(DESTDIR)$(DOCDIR)/mptun-server.conf
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# make install into a scratch DESTDIR, its layout, the unit, the man page and the examples
# checked (seconds; tests/install.sh)
installcheck: all
	$(Q)tests/install.sh $(B)

clean:
	rm -rf build plots/out

-include $(shell find $(B) -name '*.d' 2>/dev/null)
