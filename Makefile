# coalmine — build and test entry points. `make test` runs every suite and installs
# what it needs by itself (rustfmt and clippy through rustup when they are missing).

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: test prometheus-test toolchain fmt-check lint rust-test example fuzz-smoke fuzz bench bench-quick fixtures fixtures-check doc clean nab \
	python-build python-test python-bench

test: toolchain fmt-check lint rust-test doc example prometheus-test fuzz-smoke c-test go-test argo-test python-test
	@echo "make test: all suites passed"

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs"; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Unit, property, oracle and allocation tests, the examples' own tests, the bare-loop
# equivalence tests of the benchmarks, and doc tests.
rust-test:
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

# The README's main command and the examples must keep working.
example:
	$(CARGO) run --release -p coalmine-cli -- demo --report target/coalmine-demo.html
	$(CARGO) run --release -p coalmine-examples --example quickstart
	$(CARGO) run --release -p coalmine-examples --example rollout

# learn and analyze --prometheus against a real Prometheus (Debian package
# `prometheus`, which .ci/run installs): the same profile and decisions as the CSV
# path, and the error cases.
prometheus-test:
	scripts/prometheus-test.sh

# Every fuzz target briefly, so the targets keep building and the seeds keep passing;
# `make fuzz` (or scripts/fuzz.sh SECONDS) is the real campaign.
FUZZ_SMOKE_SECONDS ?= 10
fuzz-smoke:
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

fuzz:
	scripts/fuzz.sh 600

bench:
	$(CARGO) bench -p coalmine-benches

bench-quick:
	$(CARGO) bench -p coalmine-benches -- --quick

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet numpy pandas scipy statsmodels

# The Python package's build and test tools and its oracles, installed once into the
# same virtual environment (delete .venv to start afresh).
PYTHON_DEPS := $(VENV)/.coalmine-python-deps
$(PYTHON_DEPS): $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet maturin numpy pandas scipy statsmodels river pytest mypy
	touch $@

# Builds the extension with its own target folder (sharing cargo's would make each
# rebuild the other's pyo3) and installs it into the virtual environment, editable.
python-build: $(PYTHON_DEPS)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release --quiet \
		-m bindings/python/Cargo.toml --target-dir target/maturin

# The pytest suite: the oracle contracts, the API and its errors, parity with the Rust
# crate and the command (built here), threads, and the stubs against the module.
python-test: python-build
	$(CARGO) build --release -p coalmine-cli -p coalmine-python-parity
	COALMINE_BIN=$(abspath target/release/coalmine) \
	COALMINE_PARITY_BIN=$(abspath target/release/coalmine-python-parity) \
		$(VENV)/bin/python -m pytest -q bindings/python/tests

# The Python package against the Rust per-point cost, river and pandas (one run).
python-bench: python-build
	$(VENV)/bin/python benches/python_bench.py

# Regenerate the oracle fixtures from statsmodels, pandas and scipy.
fixtures: $(VENV)/bin/python
	$(VENV)/bin/python scripts/oracles.py
	$(VENV)/bin/python scripts/oracles_comparison.py
	$(VENV)/bin/python scripts/t_tail.py

# Regenerate into a scratch folder and compare with the committed fixtures.
fixtures-check: $(VENV)/bin/python
	rm -rf target/fixtures-check
	$(VENV)/bin/python scripts/oracles.py target/fixtures-check
	$(VENV)/bin/python scripts/oracles_comparison.py target/fixtures-check
	$(VENV)/bin/python scripts/t_tail.py target/fixtures-check
	$(VENV)/bin/python scripts/compare_fixtures.py crates/coalmine/tests/fixtures target/fixtures-check

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

clean:
	$(CARGO) clean

# NAB: score the labelled subset with `coalmine score` and print NAB's scores.
nab:
	scripts/nab.sh ../shared/nab target/nab

# --- The C ABI (bindings/c) and the Go package (bindings/go) --------------------------
CBINDGEN_VERSION := 0.29.4
GO ?= go
C_DIR := bindings/c
C_OUT := target/c
C_LIB := target/release/libcoalmine.a
# What a static Rust library needs from the system on Linux, as printed by
# `cargo rustc -p coalmine-ffi --release --lib --crate-type staticlib -- --print native-static-libs`.
C_NATIVE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
C_FLAGS := -std=c11 -Wall -Wextra -Werror -pedantic -g -I$(C_DIR)/include
CXX_FLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic -g -I$(C_DIR)/include
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
VALGRIND_FLAGS := --quiet --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
PARITY_FIXTURE := target/parity/rollouts.txt
C_TESTS := rollout bad_input parity

.PHONY: cbindgen c-header c-header-check c-lib parity-fixture valgrind c-test go-test bench-go

# The pinned cbindgen, installed when missing or another version.
cbindgen:
	@cbindgen --version 2>/dev/null | grep -qx "cbindgen $(CBINDGEN_VERSION)" \
		|| $(CARGO) install cbindgen --locked --version $(CBINDGEN_VERSION)

# Regenerates the committed header from the FFI crate's source.
c-header: cbindgen
	cd $(C_DIR) && cbindgen --config cbindgen.toml --crate coalmine-ffi --output include/coalmine.h --quiet .

# Fails when the committed header is not what the source generates.
c-header-check: cbindgen
	@cd $(C_DIR) && cbindgen --config cbindgen.toml --crate coalmine-ffi --output include/coalmine.h --quiet --verify . \
		|| { echo "bindings/c/include/coalmine.h is stale: run 'make c-header' and commit it"; exit 1; }

# libcoalmine.a and libcoalmine.so under target/release.
c-lib:
	$(CARGO) build --release -p coalmine-ffi

# The rollouts and the core's decisions that the C and Go parity tests replay.
parity-fixture:
	$(CARGO) run --release -p coalmine-ffi --example parity_fixture -- $(PARITY_FIXTURE)

# valgrind comes from the system's packages; installed when missing and possible.
valgrind:
	@command -v valgrind >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind) >/dev/null \
				|| echo "warning: could not install valgrind"; \
		fi; }

# Only coalmine_ symbols exported, the header as C11 and C++, the C tests plain, under
# valgrind and with AddressSanitizer and UndefinedBehaviorSanitizer, and the C example.
c-test: c-header-check c-lib parity-fixture valgrind
	@mkdir -p $(C_OUT)
	@bad=$$(nm -D --defined-only target/release/libcoalmine.so | awk '{print $$3}' | grep -v '^coalmine_' || true); \
		if [ -n "$$bad" ]; then echo "libcoalmine.so exports symbols without the coalmine_ prefix: $$bad"; exit 1; fi
	$(CC) $(C_FLAGS) $(C_DIR)/tests/header.c $(C_LIB) $(C_NATIVE_LIBS) -o $(C_OUT)/header_c
	$(CXX) $(CXX_FLAGS) $(C_DIR)/tests/header.cpp $(C_LIB) $(C_NATIVE_LIBS) -o $(C_OUT)/header_cpp
	$(C_OUT)/header_c && $(C_OUT)/header_cpp
	$(CC) $(C_FLAGS) -O1 $(C_DIR)/examples/rollout.c $(C_LIB) $(C_NATIVE_LIBS) -o $(C_OUT)/example_rollout
	$(C_OUT)/example_rollout
	for t in $(C_TESTS); do \
		$(CC) $(C_FLAGS) -O1 $(C_DIR)/tests/$$t.c $(C_LIB) $(C_NATIVE_LIBS) -o $(C_OUT)/$$t || exit 1; \
		$(CC) $(C_FLAGS) -O1 $(SAN_FLAGS) $(C_DIR)/tests/$$t.c $(C_LIB) $(C_NATIVE_LIBS) -o $(C_OUT)/$$t-san || exit 1; \
	done
	$(C_OUT)/rollout && $(C_OUT)/bad_input && $(C_OUT)/parity $(PARITY_FIXTURE)
	$(C_OUT)/rollout-san && $(C_OUT)/bad_input-san && $(C_OUT)/parity-san $(PARITY_FIXTURE)
	@if command -v valgrind >/dev/null 2>&1; then \
		set -e; for t in rollout bad_input "parity $(PARITY_FIXTURE)" example_rollout; do \
			echo "valgrind $$t"; valgrind $(VALGRIND_FLAGS) $(C_OUT)/$$t >/dev/null; \
		done; \
	else \
		echo "SKIPPED: valgrind is not installed and could not be installed; the C tests ran plain and with sanitizers only"; \
	fi

# go vet, then the Go tests plain, with the most aggressive GC and cgo pointer checks,
# and with the race detector.
go-test: c-lib parity-fixture
	@command -v $(GO) >/dev/null 2>&1 || { echo "go not found: install Go 1.24 or newer from https://go.dev/dl"; exit 1; }
	cd bindings/go && $(GO) vet ./...
	cd bindings/go && COALMINE_PARITY_FIXTURE=$(abspath $(PARITY_FIXTURE)) $(GO) test -count=1 ./...
	cd bindings/go && COALMINE_PARITY_FIXTURE=$(abspath $(PARITY_FIXTURE)) GOGC=1 GODEBUG=cgocheck=1 $(GO) test -count=1 ./...
	cd bindings/go && COALMINE_PARITY_FIXTURE=$(abspath $(PARITY_FIXTURE)) $(GO) test -race -count=1 ./...

# Go's Observe and ObserveMany beside the Rust figure for the same ticks, as ratios
# measured in one interleaved run (docs/benchmarks.md).
bench-go: c-lib parity-fixture
	$(CARGO) build --release -p coalmine-ffi --example bench_ticks
	bindings/go/bench.sh $(PARITY_FIXTURE)

# --- The Argo Rollouts metric-provider plugin (integrations/argo-rollouts) -----------
.PHONY: argo-test

# go vet, then the plugin's tests: configuration, Prometheus responses, phases, and
# healthy and faulty rollouts through Argo Rollouts' own plugin client against a
# Prometheus stand-in, with restarts from the measurements' checkpoints; and against a
# real Prometheus when the `prometheus` binary is installed.
argo-test: c-lib
	@command -v $(GO) >/dev/null 2>&1 || { echo "go not found: install Go 1.24 or newer from https://go.dev/dl"; exit 1; }
	cd integrations/argo-rollouts && $(GO) vet ./...
	cd integrations/argo-rollouts && $(GO) test -count=1 ./...
	cd integrations/argo-rollouts && $(GO) test -race -short -count=1 ./...
