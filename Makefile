# stocksync: the PostgreSQL extension (PGXS) and the top-level targets.
#
#   make demo    set up, build, and run the demo scenario (README)
#   make test    set up, build, and run every test suite against a throwaway cluster
#   make bench   run the benchmarks; their sections go to build/benchmarks.md
#   make fuzz    run the webhook fuzz target for 5 minutes

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

EXTENSION = stocksync
MODULE_big = stocksync
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard extension/src/*.cpp)))
DATA = $(sort $(wildcard extension/scripts/stocksync--*.sql))
PGFILEDESC = "stocksync - stock ledger and channel sync"

# pg_regress tests are every sql/*.sql, isolation specs every
# test/isolation/specs/*.spec: found by wildcard, never by a hand-kept list.
REGRESS = $(sort $(notdir $(basename $(wildcard sql/*.sql))))
REGRESS_OPTS = --dbname=stocksync_regress
ISOLATION = $(sort $(notdir $(basename $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output

# The extension is PostgreSQL-dialect C++ (CONVENTIONS.md): no exceptions and
# no RTTI, so the compiler rejects what would break ereport's longjmp.
PG_CXXFLAGS += -std=c++17 -fno-exceptions -fno-rtti -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wno-missing-field-initializers -Wno-register -MMD -MP
# The bitcode step would compile without -std=c++17; the extension gains
# nothing from JIT-inlining its SPI-bound functions.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Link with the C++ driver so that the C++ runtime is pulled in.
override COMPILER = $(CXX) $(CXXFLAGS)

-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d) test/isolation/output build build-sanitize build-fuzz

.PHONY: bootstrap cpp test demo bench format sanitize fuzz
bootstrap:
	./scripts/bootstrap

# The worker, the simulator, unit tests and benchmarks (CMake).
cpp:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j2

test: bootstrap
	$(MAKE) all
	$(MAKE) install
	$(MAKE) cpp
	./scripts/run-tests

demo: bootstrap
	$(MAKE) all
	$(MAKE) install
	$(MAKE) cpp
	./scripts/demo

bench: bootstrap
	$(MAKE) all
	$(MAKE) install
	$(MAKE) cpp
	./bench/run-all

# The worker's and the simulator's unit tests under AddressSanitizer and UBSan,
# each file compiled on its own (no unity build), so that a file that only
# compiles after another one's includes is caught here.
sanitize: bootstrap
	cmake -S . -B build-sanitize -DSTOCKSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_UNITY_BUILD=OFF >/dev/null
	cmake --build build-sanitize -j2 --target worker_tests sim_tests
	ctest --test-dir build-sanitize --output-on-failure --no-tests=error

# The webhook fuzz target (libFuzzer, clang) for 5 minutes; make test runs it for 20 s.
fuzz: bootstrap
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} ./scripts/fuzz-webhooks

format:
	clang-format -i extension/src/*.cpp extension/src/*.hpp $(wildcard worker/*.cpp worker/*.hpp sim/src/*.cpp sim/src/*.hpp)
