# rackd — MAAS rack-controller daemon.  Plain GNU make + pkg-config.
#
#   make            build build/rackd
#   make check      install deps if missing, run unit + integration tiers,
#                   then both again under ASan/UBSan, then valgrind
#   make demo       install deps if missing, run the local demo
#   make fuzz       build and run the libFuzzer targets for a short while
#   make install    DESTDIR= PREFIX=/usr
#
# BUILD= selects the output directory (default build/), so several builds
# (plain, asan) can live side by side.

CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR ?=

PKGS    := libevent libevent_openssl libcurl yaml-0.1 jansson openssl libsystemd zlib
VERSION := $(shell cat VERSION 2>/dev/null || echo 3.4.0)

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
	   -Wstrict-prototypes -Wpointer-arith -Wno-unused-parameter
ifneq ($(CI),)
WARN    += -Werror
endif
ifneq ($(WERROR),)
WARN    += -Werror
endif

OPT     ?= -O2 -g
SAN     ?=
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -Iinclude \
	   -DRACKD_VERSION='"$(VERSION)"' \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
LDFLAGS += $(SAN)

# src/tools/*.c are small separate programs (one main each), linked
# against the same library; everything else but main.c is the library.
SRCS    := $(sort $(shell find src -name '*.c'))
TOOL_SRCS := $(sort $(wildcard src/tools/*.c))
TOOLS   := $(patsubst src/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
# The Kea hook library (see its rule below), when the Kea headers exist.
CXX     ?= g++
CXXFLAGS ?=
KEA_INC ?= /usr/include/kea
HAVE_KEA_DEV := $(wildcard $(KEA_INC)/hooks/hooks.h)
KEAHOOK_LIB := $(BUILD)/rackd-lease-hook.so
ifneq ($(HAVE_KEA_DEV),)
TOOLS   += $(KEAHOOK_LIB)
endif
OBJS    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIBOBJS := $(filter-out $(BUILD)/obj/main.o $(patsubst src/%.c,$(BUILD)/obj/%.o,$(TOOL_SRCS)),$(OBJS))
DEPS    := $(OBJS:.o=.d)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps check check-unit check-integration check-asan check-valgrind \
	demo fuzz install clean lint deb bench

all: $(BUILD)/rackd

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/librackd.a: $(LIBOBJS)
	@rm -f $@
	ar rcs $@ $^

# The daemon depends on its helper programs so that one target builds all.
$(BUILD)/rackd: $(BUILD)/obj/main.o $(BUILD)/librackd.a $(TOOLS)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/main.o $(BUILD)/librackd.a $(LDLIBS)

$(BUILD)/%: $(BUILD)/obj/tools/%.o $(BUILD)/librackd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Kea runs the lease hook once per lease event: link it with only the
# event codec and its two libraries (not libsystemd, which alone drags in
# five more), so a call costs well under a millisecond.
HOOK_OBJS := $(BUILD)/obj/tools/rackd-lease-hook.o $(BUILD)/obj/dhcp/lease_event.o \
	     $(BUILD)/obj/dhcp/lease_hookfile.o \
	     $(BUILD)/obj/region/amp.o $(BUILD)/obj/core/bytes.o $(BUILD)/obj/core/xmalloc.o
$(BUILD)/rackd-lease-hook: $(HOOK_OBJS)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ -ljansson -lz

# The Kea hook library (issue 12): Kea loads it instead of run_script, so
# no process runs per lease event.  Minimal C++ callouts (src/keahook/)
# around rackd's own C (the event codec and the hook spool file), compiled
# a second time as position-independent code.  Built only where the Kea
# headers are (Debian: kea-dev, libboost-dev); rackd falls back to
# run_script without it.
KEAHOOK_COBJS := $(patsubst %,$(BUILD)/pic/%.o,dhcp/lease_event dhcp/lease_hookfile \
		 region/amp core/bytes core/xmalloc)
KEAHOOK_LIBS := -lkea-dhcpsrv -lkea-dhcp++ -lkea-hooks -lkea-cc \
		-lkea-asiolink -lkea-exceptions -ljansson -lz

# Never sanitized: Kea is not, and an ASan library cannot load into it.
$(BUILD)/pic/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(SAN),$(CFLAGS)) -fPIC -MMD -MP -c -o $@ $<

$(BUILD)/pic/keahook/%.o: src/keahook/%.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(CXXFLAGS) $(OPT) -Wall -Wextra -Wno-unused-parameter \
		$(if $(WERROR),-Werror) -fPIC -Iinclude -I$(KEA_INC) -MMD -MP -c -o $@ $<

$(KEAHOOK_LIB): $(BUILD)/pic/keahook/rackd-lease-hook.o $(KEAHOOK_COBJS) \
		src/keahook/exports.map
	$(CXX) -shared $(filter-out $(SAN),$(LDFLAGS)) -Wl,-z,defs -Wl,--as-needed \
		-Wl,--version-script=src/keahook/exports.map -o $@ \
		$(filter %.o,$^) $(KEAHOOK_LIBS)

-include $(KEAHOOK_COBJS:.o=.d) $(BUILD)/pic/keahook/rackd-lease-hook.d

# Unit tests: one binary per module, linked against the static library so
# only the objects a test needs are pulled in.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librackd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/librackd.a \
		$(LDLIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BINS)

-include $(DEPS) $(UNIT_BINS:=.d)

# --- dependencies ------------------------------------------------------
deps:
	@sh tools/deps.sh

# --- tests -------------------------------------------------------------
# check-unit / check-integration use BUILD; check runs everything and
# prints one closing "N passed, N failed" line.
check-unit: $(BUILD)/rackd $(UNIT_BINS)
	@BUILD=$(BUILD) sh tests/unit/run

check-integration: $(BUILD)/rackd
	@BUILD=$(BUILD) bash tests/integration/run

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		build-asan/rackd unit
	@BUILD=build-asan sh tests/unit/run
	@BUILD=build-asan bash tests/integration/run

check-valgrind: $(BUILD)/rackd $(UNIT_BINS)
	@BUILD=$(BUILD) VALGRIND=1 sh tests/unit/run
	@BUILD=$(BUILD) RACKD_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
		bash tests/integration/run $(VALGRIND_TESTS)

check:
	@sh tools/deps.sh
	@bash tools/check-all

demo:
	@sh tools/deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/rackd
	@bash tools/demo

fuzz:
	@sh tools/deps.sh
	@bash tests/fuzz/run

bench: $(BUILD)/rackd
	@bash bench/run

lint: $(BUILD)/rackd
	@sh tools/layers.sh
	$(BUILD)/rackd -n -f etc/rackd.conf.example

deb:
	dpkg-buildpackage -us -uc -b

# --- install -----------------------------------------------------------
# rackd.conf(5) is generated from the key table, so it cannot drift.
$(BUILD)/rackd.conf.5: $(BUILD)/rackd
	$(BUILD)/rackd --man-conf > $@.tmp && mv $@.tmp $@

install: $(BUILD)/rackd $(BUILD)/rackd.conf.5
	install -D -m 0755 $(BUILD)/rackd $(DESTDIR)$(SBINDIR)/rackd
	install -D -m 0755 $(BUILD)/rackd-lease-hook $(DESTDIR)$(PREFIX)/lib/rackd/rackd-lease-hook
	if [ -f $(KEAHOOK_LIB) ]; then install -D -m 0644 $(KEAHOOK_LIB) \
		$(DESTDIR)$(PREFIX)/lib/rackd/rackd-lease-hook.so; fi
	install -D -m 0644 etc/rackd.conf.example $(DESTDIR)$(SYSCONFDIR)/maas/rackd.conf
	install -D -m 0644 debian/rackd.8 $(DESTDIR)$(MANDIR)/man8/rackd.8
	install -D -m 0644 $(BUILD)/rackd.conf.5 $(DESTDIR)$(MANDIR)/man5/rackd.conf.5

clean:
	rm -rf build build-* 
