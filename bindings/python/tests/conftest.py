"""Shared fixtures: seeded generators and the Rust programs the parity tests compare
against (built by `make python-test`; their paths can be overridden by environment
variables)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Dict

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _binary(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default))
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: build it with `make python-test` "
            f"(or point {env} at it)"
        )
    return path


@pytest.fixture(scope="session")
def coalmine_bin() -> Path:
    """The `coalmine` command."""
    return _binary("COALMINE_BIN", ROOT / "target" / "release" / "coalmine")


@pytest.fixture(scope="session")
def parity_bin() -> Path:
    """The program that writes a simulated rollout with the Rust crate's decisions."""
    return _binary(
        "COALMINE_PARITY_BIN", ROOT / "target" / "release" / "coalmine-python-parity"
    )


@pytest.fixture(scope="session")
def simulated(
    tmp_path_factory: pytest.TempPathFactory, parity_bin: Path
) -> Callable[[str, int], Path]:
    """A folder with a simulated rollout and the Rust crate's results, one per
    (scenario, seed), made once per session."""
    made: Dict[tuple, Path] = {}

    def make(scenario: str, seed: int) -> Path:
        key = (scenario, seed)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"{scenario}-{seed}")
            subprocess.run([str(parity_bin), scenario, str(seed), str(folder)], check=True)
            made[key] = folder
        return made[key]

    return make
