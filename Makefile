# coalmine — build and test entry points. `make test` runs every suite and installs
# what it needs by itself (rustfmt and clippy through rustup when they are missing).

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: test toolchain fmt-check lint rust-test example fuzz-smoke fuzz bench bench-quick fixtures fixtures-check doc clean nab \
	python-build python-test python-bench

test: toolchain fmt-check lint rust-test doc example fuzz-smoke python-test
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

# Regenerate into a scratch folder and compare with the committed fixtures.
fixtures-check: $(VENV)/bin/python
	rm -rf target/fixtures-check
	$(VENV)/bin/python scripts/oracles.py target/fixtures-check
	$(VENV)/bin/python scripts/oracles_comparison.py target/fixtures-check
	$(VENV)/bin/python scripts/compare_fixtures.py crates/coalmine/tests/fixtures target/fixtures-check

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

clean:
	$(CARGO) clean

# NAB: score the labelled subset with `coalmine score` and print NAB's scores.
nab:
	scripts/nab.sh ../shared/nab target/nab
