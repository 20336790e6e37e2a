"""Benchmark: render time, and time-to-green per use-case profile.

Time-to-green = render -> `make install` (from the lock) -> `make check` (lint, then strict
types, the quick tests and the eval gate side by side), as a developer meets it on a machine
with warm uv and mypy caches (an earlier project filled them), for Q&A alone and for Q&A with
extraction. Then the split of the default profile, each step run alone: lint, types with the
shared cache and cold, the quick tests, the eval gate, and the whole suite (`make test`, as CI
runs it). Prints figures; asserts nothing (performance targets are tracked here, not in timed
tests).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import render, run


def timed(command: list[str], repo: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    run(command, repo, env=env)
    return time.perf_counter() - started


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        renders = []
        for attempt in range(3):
            started = time.perf_counter()
            render(Path(tmp) / f"render-{attempt}")
            renders.append(time.perf_counter() - started)
        print(f"render (default profile): median {statistics.median(renders):.2f} s of 3 runs")

        # Warm the shared caches the way an earlier project on this machine would have.
        timed(["make", "install", "typecheck"], Path(tmp) / "render-0")

        profiles: dict[str, dict[str, object]] = {
            "qa": {},
            "qa + extraction": {"use_cases": ["qa", "extraction"]},
        }
        repos = {}
        for profile, answers in profiles.items():
            started = time.perf_counter()
            repo = render(Path(tmp) / f"green-{len(repos)}", **answers)
            rendered = time.perf_counter() - started
            installed = timed(["make", "install"], repo)
            checked = timed(["make", "check"], repo)
            total = time.perf_counter() - started
            repos[profile] = repo
            print(f"time-to-green ({profile}): {total:.2f} s on {os.cpu_count()} cores")
            print(f"  render                             {rendered:6.2f} s")
            print(f"  make install                       {installed:6.2f} s")
            print(f"  make check                         {checked:6.2f} s")
        repo = repos["qa"]

        cold = {"MYPY_CACHE_DIR": str(Path(tmp) / "mypy-cold")}
        split: list[tuple[str, list[str], dict[str, str]]] = [
            ("lint (ruff check + format --check)", ["make", "lint"], {}),
            ("types, shared mypy cache", ["make", "typecheck"], {}),
            ("types, cold (empty mypy cache)", ["make", "typecheck"], cold),
            ("quick tests (make test-fast)", ["make", "test-fast"], {}),
            ("quick tests in one process", ["make", "test-fast", "TEST_WORKERS=0"], {}),
            ("eval gate (make eval)", ["make", "eval"], {}),
            ("whole suite (make test)", ["make", "test"], {}),
            ("whole suite in one process", ["make", "test", "TEST_WORKERS=0"], {}),
        ]
        print("split of the qa profile, each step alone:")
        for name, command, env in split:
            print(f"  {name:<36} {timed(command, repo, env):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
