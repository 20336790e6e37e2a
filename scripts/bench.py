"""Benchmark: render time and time-to-green for the default profile.

Time-to-green = render -> install from the lock -> format check, lint, type check, tests,
eval gate. Also prints the eval suite's own wall time (target: under 5 s for 50+ cases).
Prints figures; asserts nothing (performance targets are tracked here, not in timed tests).
Runs with the machine's warm uv cache, as a developer's second project would.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import render, run

STEPS = [
    ("install (uv sync --locked)", ["uv", "sync", "--locked", "--quiet"]),
    ("format check", ["uv", "run", "--locked", "ruff", "format", "--check", "."]),
    ("lint", ["uv", "run", "--locked", "ruff", "check", "."]),
    ("type check", ["uv", "run", "--locked", "mypy"]),
    ("tests", ["uv", "run", "--locked", "pytest", "-q"]),
    ("eval gate", ["uv", "run", "--locked", "python", "-m", "evals"]),
]


def main() -> int:
    renders = []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(3):
            started = time.perf_counter()
            repo = render(Path(tmp) / f"render-{attempt}")
            renders.append(time.perf_counter() - started)
        print(f"render (default profile): median {statistics.median(renders):.2f} s of 3 runs")

        started = time.perf_counter()
        repo = render(Path(tmp) / "green")
        timings = [("render", time.perf_counter() - started)]
        eval_wall = "n/a"
        for name, command in STEPS:
            step_started = time.perf_counter()
            output = run(command, repo).stdout
            timings.append((name, time.perf_counter() - step_started))
            if name == "eval gate":
                eval_wall = output.strip().splitlines()[-1]
        total = time.perf_counter() - started
    for name, seconds in timings:
        print(f"  {name:<28} {seconds:6.2f} s")
    print(f"eval suite wall time (cases only, as reported by the gate): {eval_wall}")
    print(f"time-to-green (default profile): {total:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
