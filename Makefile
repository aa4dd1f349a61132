# ngx_integrations_module
#
#   make run      build, then serve conf/demo.conf on 127.0.0.1:8080
#                 (DEMO_PORT=9080 make run: on 9080 to 9088 instead)
#   make test     build, then run the unit and integration tests
#                 (make test VALGRIND=1: nginx under valgrind memcheck;
#                 JOBS=1: one test file at a time, not two)
#   make bench    wrk against bare proxy_pass and the module's locations,
#                 the payments API, the durable store, notifications,
#                 order sync and activation redeems
#                 (make bench-instructions: callgrind's count per request)
#   make fuzz     run every libFuzzer target for FUZZ_SECONDS each, JOBS
#                 (2) at a time
#
# The module is built against the nginx source tree that Debian's
# nginx-dev installs, configured with the flags Debian's nginx was built
# with, so the stock /usr/sbin/nginx loads it.

SHELL        := /bin/bash
NGINX_SRC    ?= /usr/share/nginx/src
NGINX_BIN    ?= /usr/sbin/nginx
VECTORS_DIR  ?= $(abspath ../shared/vectors)
BUILD        := build
MODULE       := $(BUILD)/ngx_integrations_module.so
FUZZ_SECONDS ?= 20
# builds, fuzzers and integration test files run JOBS at a time
JOBS         ?= 2

# src/<capability>/: integrations_* is the nginx-free core, ngx_* the glue
SRC_DIRS     := $(sort $(dir $(wildcard src/*/*.c)))
CORE_SRCS    := $(wildcard src/*/integrations_*.c)
CORE_HDRS    := $(wildcard src/*/integrations_*.h)
GLUE_SRCS    := $(wildcard src/ngx_*.[ch] src/*/ngx_*.[ch])
CORE_INCS    := $(patsubst %/,-I%,$(SRC_DIRS))
UNIT_TESTS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(wildcard t/unit/test_*.c))
FUZZERS      := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/fuzz_*.c))

CC           ?= cc
PQ_INCS      := -I$(shell pg_config --includedir 2>/dev/null \
                     || echo /usr/include/postgresql)
UNIT_CFLAGS  := -std=gnu99 -O1 -g -Wall -Wextra -Werror $(CORE_INCS) \
                $(PQ_INCS) -It/unit
CORE_LIBS    := -lcrypto -lyajl -lsqlite3 -lpq -lpthread

# Debian packages: to build and test, and the extras fuzzing needs.
DEPS         := make gcc libc6-dev perl curl openssl nginx nginx-dev libssl-dev \
                libyajl-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev \
                sqlite3 postgresql redis-server wrk valgrind bsdutils procps \
                python3-aiosmtpd
FUZZ_DEPS    := clang libclang-rt-14-dev

.PHONY: all deps deps-fuzz module unit integration test run bench \
        bench-instructions fuzz clean check-core

all: module

deps:
	@./t/deps $(DEPS)

deps-fuzz:
	@./t/deps $(FUZZ_DEPS)

module: $(MODULE)

# The core must build and be tested without nginx: a core file that
# includes an nginx header (or a glue header) fails the build.
check-core:
	@bad=$$(grep -lE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]ngx_' \
	    $(CORE_SRCS) $(CORE_HDRS)); \
	if [ -n "$$bad" ]; then \
	    echo "nginx header included by the nginx-free core:" $$bad >&2; \
	    exit 1; \
	fi

$(BUILD)/nginx/configure:
	rm -rf $(BUILD)/nginx
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(BUILD)/nginx

$(BUILD)/nginx/objs/Makefile: config $(BUILD)/nginx/configure
	cd $(BUILD)/nginx && source ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt='-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2' \
	        --with-ld-opt='-Wl,-z,relro -Wl,-z,now' \
	        --add-dynamic-module=$(CURDIR) > configure.log \
	    || { tail -20 configure.log; exit 1; }

$(MODULE): $(BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS) \
        | check-core
	$(MAKE) -s -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/ngx_integrations_module.so $@

# The core is compiled once per flavour into an archive that every unit
# test (or fuzzer) links, rather than once per program.
UNIT_OBJS    := $(patsubst src/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
FUZZ_OBJS    := $(patsubst src/%.c,$(BUILD)/core-fuzz/%.o,$(CORE_SRCS))
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
                $(CORE_INCS) $(PQ_INCS)

$(BUILD)/core/%.o: src/%.c $(CORE_HDRS) | check-core
	@mkdir -p $(dir $@)
	@echo "cc core $<"
	@$(CC) $(UNIT_CFLAGS) -c $< -o $@

$(BUILD)/core.a: $(UNIT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: t/unit/%.c t/unit/tap.h $(BUILD)/core.a
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) $< $(BUILD)/core.a $(CORE_LIBS) -o $@

unit: $(UNIT_TESTS)
	VECTORS_DIR=$(VECTORS_DIR) prove --exec '' $(UNIT_TESTS)

# The test files run JOBS at a time (each makes its own gateways, ports,
# stand-ins, databases and directories; Gateway::free_port claims its
# ports), the longest first so that none is left running alone at the
# end; then, one at a time on a quiet machine, those whose assertions
# measure time or throughput (a flood, a rate, a spacing of releases).
QUIET_TESTS  := t/cluster.t t/rate_limit.t t/redis_rate_limit.t
SLOW_TESTS   := t/notify_providers.t t/activation_sweep.t t/coupang_orders.t \
                t/activation_e2e.t t/payments.t t/notify_crash.t \
                t/coupang_orders_cluster.t t/activation_inflight.t \
                t/store_outage.t t/payments_idempotency_race.t
PAR_TESTS    := $(SLOW_TESTS) \
                $(filter-out $(SLOW_TESTS) $(QUIET_TESTS),$(wildcard t/*.t))

integration: $(MODULE)
	@export NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) \
	    VECTORS_DIR=$(VECTORS_DIR) VALGRIND=$(VALGRIND); \
	echo "prove -j$(JOBS): every test file but $(QUIET_TESTS)"; \
	prove -I t/lib -j$(JOBS) $(PROVE_FLAGS) $(PAR_TESTS); rc=$$?; \
	echo "prove: $(QUIET_TESTS), one at a time"; \
	prove -I t/lib $(PROVE_FLAGS) $(QUIET_TESTS) || rc=1; \
	exit $$rc

# the unit tests and the module built JOBS at a time, then run
test: deps
	$(MAKE) -j$(JOBS) $(UNIT_TESTS) $(MODULE)
	$(MAKE) unit integration

# The first build copies and configures nginx's source tree: say so, or
# make run looks hung for a minute and a half.
run: deps
	@[ -f $(MODULE) ] || echo "make run: first build: copying and" \
	    "configuring nginx's source tree, then compiling the module" \
	    "(about 90 s; the configure log is build/nginx/configure.log)"
	@$(MAKE) -s --no-print-directory module
	@./t/run-demo $(NGINX_BIN) $(abspath $(MODULE))

bench: deps $(MODULE) $(BUILD)/bench/store_commit
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/run
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/payments
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/store
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/notify
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/coupang_orders
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/activation

# the cost of one durable commit, through the store's own code
$(BUILD)/bench/store_commit: bench/store_commit.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 $(CORE_INCS) $(PQ_INCS) $(CORE_SRCS) $< $(CORE_LIBS) -o $@

bench-instructions: deps $(MODULE)
	NGINX_BIN=$(NGINX_BIN) MODULE=$(abspath $(MODULE)) ./bench/instructions

$(BUILD)/core-fuzz/%.o: src/%.c $(CORE_HDRS) | check-core
	@mkdir -p $(dir $@)
	@echo "clang core $<"
	@clang $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/core-fuzz.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c $(BUILD)/core-fuzz.a
	@mkdir -p $(BUILD)/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CORE_INCS) $(PQ_INCS) \
	    $< $(BUILD)/core-fuzz.a $(CORE_LIBS) -o $@

# each target fuzzed for FUZZ_SECONDS, JOBS at a time (each is one
# process on one core)
FUZZ_RUNS    := $(patsubst $(BUILD)/fuzz/%,fuzz-run-%,$(FUZZERS))

# a fuzzer a run built is kept (not an intermediate file to delete)
.SECONDARY: $(FUZZERS)

fuzz: deps deps-fuzz
	$(MAKE) -j$(JOBS) $(FUZZERS)
	@$(MAKE) -s --no-print-directory -j$(JOBS) $(FUZZ_RUNS)

fuzz-run-%: $(BUILD)/fuzz/%
	@mkdir -p $(BUILD)/corpus/$*
	@seeds=; [ -d fuzz/corpus/$* ] && seeds=fuzz/corpus/$*; \
	echo "fuzz: $* ($(FUZZ_SECONDS)s)"; \
	$< -max_total_time=$(FUZZ_SECONDS) $(BUILD)/corpus/$* $$seeds \
	    2>$(BUILD)/fuzz/$*.log \
	|| { tail -40 $(BUILD)/fuzz/$*.log; exit 1; }

clean:
	rm -rf $(BUILD)
