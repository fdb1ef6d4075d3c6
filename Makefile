# qmail-remote replacement. `make test` and `make demo` work on a fresh
# Debian 12 machine: both install what is missing first (make deps).

QMAIL_ROOT ?= /var/qmail
DESTDIR    ?=
CXX        ?= g++
CXXFLAGS   ?= -O2 -g1
CXXFLAGS   += -std=c++20 -Wall -Wextra -Werror -I. -DQMAIL_ROOT_DEFAULT='"$(QMAIL_ROOT)"'
LDLIBS     += -lldns -lssl -lcrypto
# fmt formats qmail-routes' output (list, check's modes and fix commands);
# qmail-remote, static or sanitized, never links it.
FMT_LDLIBS ?= -lfmt
# qmail-remote runs once per delivery, so its start-up is on every mail's
# path: it is linked fully static (Debian ships libldns.a, libssl.a,
# libcrypto.a, libstdc++.a, libc.a). bench/RESULTS.md: 1.41 ms and 1.9 MiB
# peak RSS per small delivery instead of 3.80 ms and 5.3 MiB dynamic. It
# needs no NSS (no getaddrinfo/getpwnam; DNS is ldns): --no-warnings hides
# ld's warnings about the NSS functions that libcrypto/libldns contain but
# qmail-remote never calls. Sanitizer builds cannot be static: they link
# qmail-remote with the libraries of LDLIBS, dynamically.
# link/hot-text.ld puts the code a delivery runs together, first in the
# text segment, so that a delivery maps fewer pages of the binary
# (link/README.md: peak RSS with STARTTLS 5.5 -> 3.6 MiB); link/collect
# makes it. The map feeds link/collect.
QR_LAYOUT  ?= link/hot-text.ld
QR_STATIC   = -static -Wl,--no-warnings -Wl,-T,$(QR_LAYOUT) -Wl,-Map=$(BUILD)/qmail-remote.map
QR_LDLIBS  ?= $(if $(findstring -fsanitize,$(CXXFLAGS)),$(LDLIBS),$(QR_STATIC) -lldns -lssl -lcrypto)

BUILD := build
LIB_SRCS  := $(sort $(wildcard lib/*.cc lib/*/*.cc))
LIB_OBJS  := $(LIB_SRCS:%.cc=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.cc))
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
# Where the programs go: here by default; a sanitizer or fuzzing build puts
# them in its own BUILD directory (make OUT=build/san BUILD=build/san ...).
OUT       ?= .
PROGRAMS  := $(OUT)/qmail-remote $(OUT)/qmail-routes

.PHONY: all deps test unit integration demo install clean format bench

all: $(PROGRAMS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libqr.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/qmail-remote: $(BUILD)/qmail-remote.o $(BUILD)/libqr.a $(QR_LAYOUT)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $(BUILD)/qmail-remote.o $(BUILD)/libqr.a $(QR_LDLIBS)

# Dynamic: run by hand, so its start-up time does not matter (INSTALL.md).
$(OUT)/qmail-routes: $(BUILD)/qmail-routes.o $(BUILD)/libqr.a
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(FMT_LDLIBS)

# Catch2's main is compiled once: it is most of the build time.
$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libqr.a
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(FMT_LDLIBS)

# t_tcpto.sh's helper: records dead hosts through lib/net/tcpto (SPEC §12).
$(BUILD)/tcpto-probe: $(BUILD)/tests/integration/tcpto_probe.o $(BUILD)/libqr.a
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(BUILD)/unit-tests $(BUILD)/tcpto-probe

# Every suite: unit, integration (real Exim and Unbound), the sanitizer
# build, a short run of every fuzz target. tests/run-all prints the sum last.
test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) all unit sanitize-build
	@tests/run-all

integration: deps
	@$(MAKE) --no-print-directory all
	@tests/integration/run

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# Performance figures against msmtp and /bin/true (bench/RESULTS.md).
bench: all
	@bench/run

install: all
	install -d $(DESTDIR)$(QMAIL_ROOT)/bin $(DESTDIR)/usr/share/man/man8
	install -m 0711 $(OUT)/qmail-remote $(DESTDIR)$(QMAIL_ROOT)/bin/qmail-remote
	install -m 0755 $(OUT)/qmail-routes $(DESTDIR)$(QMAIL_ROOT)/bin/qmail-routes
	for m in $(wildcard man/*.8); do install -m 0644 $$m $(DESTDIR)/usr/share/man/man8/; done

format:
	clang-format -i $(wildcard *.cc lib/*.h lib/*.cc lib/*/*.h lib/*/*.cc tests/unit/*.cc tests/integration/*.cc)

clean:
	rm -rf build qmail-remote qmail-routes

# --- Fuzzing and sanitizers (doc/TESTING.md) ---------------------------
# One instrumented tree, build/san, built by clang in a sub-make: ASan and
# UBSan for the sanitizer suite, and libFuzzer's coverage instrumentation
# (fuzzer-no-link, inert outside a fuzz target) so that the fuzz targets
# link the very same libqr.a. One tree instead of two (gcc's sanitizer tree
# and clang's fuzz tree) takes a third off the build of `make test` on two
# cores (issue 13). The flags go in through the environment so that the
# CXXFLAGS += above still adds -std=c++20 and the warnings.
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CXX     ?= clang++-14
SAN_CXXFLAGS := -O1 -g1 $(SAN_FLAGS) -fsanitize=fuzzer-no-link
FUZZ_TARGETS := $(basename $(notdir $(wildcard fuzz/*.cc)))
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 50000

.PHONY: fuzz fuzz-smoke fuzz-build sanitize sanitize-build

# Only meaningful in the sub-make below (BUILD=build/san, CXX=clang).
$(BUILD)/fuzz-%: fuzz/%.cc fuzz/fuzz_util.h $(BUILD)/libqr.a
	$(CXX) $(CXXFLAGS) -fsanitize=fuzzer -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libqr.a $(LDLIBS)

# The whole instrumented tree: the programs, the unit tests, every fuzz
# target. One sub-make, so that no two makes write build/san at once.
sanitize-build:
	@env CXXFLAGS='$(SAN_CXXFLAGS)' \
	  $(MAKE) -s --no-print-directory CXX=$(SAN_CXX) BUILD=build/san OUT=build/san \
	  build/san/qmail-remote build/san/qmail-routes build/san/unit-tests \
	  $(FUZZ_TARGETS:%=build/san/fuzz-%)

fuzz-build: sanitize-build

# Every target for FUZZ_SECONDS each, from its committed seeds.
fuzz: fuzz-build
	@fuzz/run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Every target for a fixed number of runs: the check of `make test`.
fuzz-smoke: fuzz-build
	@fuzz/run --runs $(FUZZ_SMOKE_RUNS) $(FUZZ_TARGETS)

# Unit tests and a subset of the integration tests under ASan, UBSan, LSan.
sanitize: sanitize-build
	@tests/sanitize

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
