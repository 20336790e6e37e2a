"""Refresh the dependency locks shipped with the template: one per supported Python version.

A generated repo must install from a committed `uv.lock`, so the template carries one lock per
Python version in `locks/` (with a placeholder project name) and `template/uv.lock.jinja`
includes the right one. Run `make lock` after changing dependencies in
`template/pyproject.toml.jinja`; the tests fail (`uv sync --locked`) when a lock is stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import yaml

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "thinslice-lock-placeholder"


def python_versions() -> list[str]:
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    return [str(version) for version in questions["python_version"]["choices"]]


def lock_for(version: str, workdir: Path, extra_args: list[str]) -> str:
    target = workdir / f"py{version}"
    copier.run_copy(
        str(ROOT),
        target,
        data={"project_name": PLACEHOLDER, "python_version": version},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    # The rendered uv.lock is the current one, so `uv lock` keeps existing pins unless --upgrade.
    lock = target / "uv.lock"
    if not lock.read_text().strip():
        lock.unlink()  # first run: no lock yet
    subprocess.run(["uv", "lock", "--quiet", *extra_args], cwd=target, check=True)
    return (target / "uv.lock").read_text()


def main() -> int:
    """Usage: scripts/lock.py [--upgrade]  (extra arguments go to `uv lock`)."""
    out = ROOT / "locks"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for version in python_versions():
            (out / f"uv-py{version}.lock").touch()
            lock = lock_for(version, Path(tmp), sys.argv[1:])
            (out / f"uv-py{version}.lock").write_text(lock)
            print(f"locks/uv-py{version}.lock: {lock.count('[[package]]')} packages")
    shutil.rmtree(ROOT / "template" / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
