# Makefile - build, test, fuzz, bench and run the outbound mail aggregation harness.
# Every entry point installs missing Debian packages first (tools/deps.sh), then
# re-enters make so that pkg-config sees what was just installed.

SHELL := /bin/bash
.DEFAULT_GOAL := all
# The Debian tools deps.sh installs come first: a python3 from pyenv, say, starts in
# 0.4 s instead of 0.05 s, which would show in every timed test and lab wait.
export PATH := /usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin:$(PATH)

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build/sanitize
BIN := build/sanitize/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD := build/release
BIN := bin
SANFLAGS :=
endif

ENTRY_GOALS := all test fuzz fuzz-run bench plot compare deps-check lint \
               scenario-congestion scenario-congestion-bulk scenario-resource \
               scenario-concurrent scenario-concurrent-continuous scenario-faults scenario-all hosts-down

ifndef HARNESS_DEPS_DONE
# ---- entry: install dependencies, then run the real goal in a fresh make -------------
$(ENTRY_GOALS):
	@tools/deps.sh
	@$(MAKE) --no-print-directory HARNESS_DEPS_DONE=1 $@

deps:
	@tools/deps.sh

clean:
	rm -rf build bin

.PHONY: $(ENTRY_GOALS) deps clean
else
# ---- the real rules ------------------------------------------------------------------
CC ?= cc
PKGS := openssl libcurl
EV_CFLAGS := $(shell pkg-config --cflags libev 2>/dev/null)
EV_LIBS := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)) $(EV_CFLAGS)
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) $(EV_LIBS) -lm
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -Ilib $(PKG_CFLAGS) $(SANFLAGS)
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
LDFLAGS := $(SANFLAGS)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBA := $(BUILD)/libharness.a

# A program is a directory with a main.c and its own modules; mx/ holds two: mx
# (main.c) and collect (collect_*.c with the JSON reader and latency modules).
PROG_NAMES := $(foreach p,proxy mua mx tarpit,$(if $(wildcard $(p)/main.c),$(p))) \
              $(if $(wildcard mx/collect_main.c),collect) $(if $(wildcard scenarios/main.c),scenario)
COLLECT_SRCS := $(wildcard mx/collect_*.c) mx/json_read.c mx/latency.c
PROG_BINS := $(PROG_NAMES:%=$(BIN)/%)

UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRCS := $(if $(FUZZ_ONLY),$(FUZZ_ONLY:%=tests/fuzz/%_fuzz.c),$(wildcard tests/fuzz/*_fuzz.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 30
# a program's own parsers, fuzzed with the library
FUZZ_EXTRA_fault := scenarios/fault.c
FUZZ_EXTRA_relay := proxy/relay.c proxy/smtp_reply.c
FUZZ_EXTRA_smtp_reply := proxy/smtp_reply.c
FUZZ_EXTRA_json_read := mx/json_read.c
FUZZ_EXTRA_admission := proxy/admission.c
FUZZ_EXTRA_policy_file := proxy/policy_file.c proxy/admission.c
FUZZ_EXTRA_metrics_merge := proxy/metrics_merge.c
PROG_INCLUDES := -Iproxy -Itarpit -Iscenarios -Imx

all: $(PROG_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

objs = $(patsubst %.c,$(BUILD)/%.o,$(1))
$(BIN)/mx: $(call objs,mx/main.c) $(LIBA)
$(BIN)/collect: $(call objs,$(COLLECT_SRCS)) $(LIBA)
$(BIN)/proxy: $(call objs,$(wildcard proxy/*.c)) $(LIBA)
$(BIN)/mua: $(call objs,$(wildcard mua/*.c)) $(LIBA)
$(BIN)/tarpit: $(call objs,$(wildcard tarpit/*.c)) $(LIBA)
$(BIN)/scenario: $(call objs,$(wildcard scenarios/*.c)) $(LIBA)

$(PROG_BINS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/tests/%_test: $(BUILD)/tests/unit/%_test.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIBA),$^) $(LIBA) $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-field-initializers $(CMOCKA_CFLAGS) -Itests/unit $(PROG_INCLUDES) $(DEPFLAGS) -c $< -o $@

# a program's own modules, tested on their own: their objects are linked in beside the library
$(BUILD)/tests/fault_test: $(BUILD)/scenarios/fault.o
$(BUILD)/tests/relay_test: $(BUILD)/proxy/relay.o $(BUILD)/proxy/smtp_reply.o
$(BUILD)/tests/smtp_reply_test: $(BUILD)/proxy/smtp_reply.o
$(BUILD)/tests/policy_test: $(BUILD)/tarpit/policy.o
$(BUILD)/tests/admission_test: $(BUILD)/proxy/admission.o
$(BUILD)/tests/policy_file_test: $(BUILD)/proxy/policy_file.o $(BUILD)/proxy/admission.o
$(BUILD)/tests/metrics_merge_test: $(BUILD)/proxy/metrics_merge.o
$(BUILD)/tests/json_read_test: $(BUILD)/mx/json_read.o
$(BUILD)/tests/latency_test: $(BUILD)/mx/latency.o
$(BUILD)/tests/sink_test: $(BUILD)/mx/json_read.o

test: all $(UNIT_BINS)
	@BUILD=$(BUILD) BIN=$(BIN) SANITIZE=$(SANITIZE) tests/run.sh

# libFuzzer targets: clang, with ASan and UBSan, the library compiled in.
build/fuzz/%_fuzz: tests/fuzz/%_fuzz.c $(LIB_SRCS) $(wildcard lib/*.h scenarios/*.[ch] proxy/*.[ch] tarpit/*.[ch] mx/*.[ch])
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Ilib $(PROG_INCLUDES) $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(LIB_SRCS) $(FUZZ_EXTRA_$*) $(PKG_LIBS)

fuzz: $(FUZZ_BINS)

# FUZZ_RUNS=N runs each target N times instead of FUZZ_SECONDS; FUZZ_ONLY="a b" runs the
# targets a_fuzz and b_fuzz only. The corpora under tests/fuzz/corpus/ are committed, so
# every run starts where the last one ended.
fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do \
	    name=$$(basename $$f); corpus=tests/fuzz/corpus/$$name; mkdir -p $$corpus build/fuzz/new/$$name; \
	    if [ -n "$(FUZZ_RUNS)" ]; then limit="-runs=$(FUZZ_RUNS)"; else limit="-max_total_time=$(FUZZ_SECONDS)"; fi; \
	    echo "== $$f ($$limit)"; \
	    $$f $$limit -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/new/$$name $$corpus \
	        >build/fuzz/$$name.log 2>&1 || { grep -A30 -E 'ERROR|SUMMARY' build/fuzz/$$name.log; exit 1; }; \
	    grep -E 'stat::number_of_executed_units' build/fuzz/$$name.log; \
	    $$f -merge=1 $$corpus build/fuzz/new/$$name 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || true; \
	done

# the study's experiments; VARIANT=postfix|proxy, SCALE, ROUNDS, INTERVAL, DRAIN pass through;
# HOSTS=INVENTORY.yml runs them on real hosts through Ansible (lab/HOSTS.md)
scenario-congestion scenario-congestion-bulk scenario-resource scenario-concurrent scenario-concurrent-continuous scenario-faults: all
	scenarios/run scenarios/$(@:scenario-%=%).conf

# every scenario at its documented scale, one after the other, then one summary page
# (results/runs/all/<UTC time>/summary.md) over the runs this made
scenario-all: all
	@start=$$(date -u +%FT%TZ); status=0; \
	for sc in congestion congestion-bulk resource concurrent concurrent-continuous; do \
	    scenarios/run scenarios/$$sc.conf || status=1; \
	done; \
	results/summary.py --since "$$start" --results "$${RESULTS:-results/runs}" || status=1; \
	exit $$status

# remove everything a HOSTS= run deployed, also after a failed run
hosts-down:
	@[ -n "$(HOSTS)" ] || { echo "hosts-down: usage: make hosts-down HOSTS=INVENTORY.yml" >&2; exit 2; }
	lab/hosts --inventory "$(HOSTS)" undeploy

# two runs of one scenario side by side: results/compare/A-vs-B/compare.{md,html}
compare:
	@[ -n "$(A)" ] && [ -n "$(B)" ] || { echo "compare: usage: make compare A=RUN_DIR B=RUN_DIR" >&2; exit 2; }
	@python3 results/pages.py compare "$(A)" "$(B)" "results/compare/$$(basename "$(A)")-vs-$$(basename "$(B)")"

# the proxy and the tools against their peers on loopback; QUICK=1: a short check run
bench: all
	bench/bench $(if $(filter 1,$(QUICK)),--quick)

plot:
	@run='$(RUN)'; [ -n "$$run" ] || run=$$(ls -d results/runs/*/* 2>/dev/null | sort -t/ -k4 | tail -n 1); \
	[ -n "$$run" ] || { echo "plot: no run under results/runs/ yet: make scenario-congestion first, or give RUN=DIR" >&2; exit 2; }; \
	results/plot "$$run"

# the same check as the test suite's: every shell script of the project, shellcheck -x
lint:
	@out=$$(bash tests/e2e/shellcheck.sh); echo "$$out" | grep -v '^ok '; ! echo "$$out" | grep -q '^not ok'

.PHONY: all test fuzz fuzz-run lint bench plot compare hosts-down scenario-all scenario-congestion scenario-congestion-bulk \
        scenario-resource scenario-concurrent scenario-concurrent-continuous scenario-faults
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
endif
