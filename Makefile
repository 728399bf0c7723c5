# SPDX-License-Identifier: MIT
# The two commands: `make demo` and `make test`. Everything else is CMake and
# CTest; this file only installs missing Debian packages and drives them.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
# make fuzz: seconds per harness; make fuzz-ci: the CI's shorter run.
FUZZ_SECONDS ?= 300
FUZZ_CI_SECONDS ?= 60
WERROR     ?= 0
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build test test-asan test-tsan build-clang tidy fuzz-build \
	fuzz fuzz-ci demo bench bench-peers format clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DGL_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DGL_SANITIZE=ON -DGL_WERROR=$(WERROR) $(CMAKE_ARGS)

test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer over the threaded modules: the committer, verifiers,
# Raft and HTTP threads (ledger, order, gateway tests and the `gridledger
# node` processes they start, built with TSan too). Races inside libraries
# we do not build (libuv, libraft, libmicrohttpd, ...) are not checked:
# ignore_noninstrumented_modules, its reason in tests/tsan.supp.
TSAN_TESTS ?= ledger|order|raft|fixture|gateway|cluster|remote
$(TSAN_BUILD)/build.ninja: | deps
	CC=clang cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DGL_TSAN=ON -DGL_WERROR=$(WERROR) $(CMAKE_ARGS)

# Every process writes its reports to tsan-reports/ (the node processes'
# stderr is not the test's): any report fails the run and is printed.
test-tsan: deps $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	rm -rf $(TSAN_BUILD)/tsan-reports && mkdir -p $(TSAN_BUILD)/tsan-reports
	cd $(TSAN_BUILD) && rc=0; \
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$(CURDIR)/tests/tsan.supp log_path=$(CURDIR)/$(TSAN_BUILD)/tsan-reports/report" \
	    ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)' || rc=$$?; \
	for f in tsan-reports/report*; do \
	    [ -e "$$f" ] || continue; echo "== ThreadSanitizer: $$f"; cat "$$f"; rc=1; \
	done; exit $$rc

# The tree with clang and every warning as an error (CI).
$(CLANG_BUILD)/build.ninja: | deps
	CC=clang cmake -S . -B $(CLANG_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DGL_WERROR=ON $(CMAKE_ARGS)

build-clang: deps $(CLANG_BUILD)/build.ninja
	cmake --build $(CLANG_BUILD) -j $(JOBS)

# clang-tidy (.clang-tidy: bugprone-*, braces) over src/ and apps/, on the
# clang build's compile_commands.json; any finding fails.
tidy: build-clang
	sh scripts/tidy.sh $(CLANG_BUILD)

# libFuzzer harnesses (tests/fuzz, docs/fuzzing.md) with ASan and UBSan.
$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DGL_FUZZ=ON -DGL_WERROR=$(WERROR) $(CMAKE_ARGS)

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every harness for FUZZ_SECONDS; new corpus entries stay in the scratch
# directory it prints (FUZZ_SCRATCH to choose it). FUZZ=NAME for one.
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ)

fuzz-ci: fuzz-build
	FUZZ_SECONDS=$(FUZZ_CI_SECONDS) FUZZ_KEEP=0 sh scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ)

demo: build
	sh scripts/demo.sh $(BUILD)/gridledger

bench: build
	sh scripts/bench.sh $(BUILD)/gridledger

# PETra against the same contract on a local Ethereum node (npm packages).
bench-peers: build
	sh scripts/bench-peers.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
