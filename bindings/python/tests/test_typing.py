"""The stubs shipped in the wheel describe the module that runs, and the package's
Python code type-checks strictly against them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import coalmine

HERE = Path(__file__).resolve().parent
PACKAGE = Path(coalmine.__file__).resolve().parent
# Run from the build output folder, so that mypy's cache lands there and not in the
# source tree.
TARGET = HERE.parents[2] / "target"


def _run(*args: str) -> subprocess.CompletedProcess:
    TARGET.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, cwd=TARGET
    )


def test_stubs_match_the_runtime_module() -> None:
    r = _run("mypy.stubtest", "coalmine", "--allowlist", str(HERE / "stubtest-allowlist.txt"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_package_and_tests_typecheck_strictly() -> None:
    assert (PACKAGE / "py.typed").is_file() and (PACKAGE / "_coalmine.pyi").is_file()
    r = _run("mypy", "--strict", str(PACKAGE), str(HERE / "test_typing_usage.py"))
    assert r.returncode == 0, r.stdout + r.stderr
