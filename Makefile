# SPDX-License-Identifier: MIT
# The two commands: `make demo` and `make test`. Everything else is CMake and
# CTest; this file only installs missing Debian packages and drives them.

BUILD      ?= build
ASAN_BUILD ?= build-asan
WERROR     ?= 0
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build test test-asan demo bench bench-peers format clean

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
	rm -rf $(BUILD) $(ASAN_BUILD)
