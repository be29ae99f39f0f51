# coalmine — build and test entry points. `make test` runs every suite and installs
# what it needs by itself (rustfmt and clippy through rustup when they are missing).

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: test prometheus-test toolchain fmt-check lint rust-test example fuzz-smoke fuzz bench bench-quick fixtures fixtures-check doc clean nab

test: toolchain fmt-check lint rust-test doc example prometheus-test fuzz-smoke
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
