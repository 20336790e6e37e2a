"""Release bundles for the local backend: the same files the container image holds.

A bundle is content-addressed: its id is a digest of the paths and bytes it contains, so the
same tree always gives the same release id, and the id deployed to staging is provably the one
promoted to production (the local counterpart of an image digest).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path

# Mirrors the allow-list in .dockerignore (plus .python-version, which picks the interpreter).
BUNDLE_PATHS = ("pyproject.toml", "uv.lock", "README.md", ".python-version", "src", "data")
# Settings baked into a release, read by the local backend on start (overrides shared settings).
RELEASE_ENV = "release.env"
ID_LENGTH = 12


def _files(source: Path) -> Iterator[tuple[str, Path]]:
    for name in BUNDLE_PATHS:
        path = source / name
        if path.is_file():
            yield name, path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    yield file.relative_to(source).as_posix(), file


def _release_env_text(settings: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in sorted(settings.items()))


def build_bundle(
    source: Path, store: Path, release_settings: Mapping[str, str] | None = None
) -> str:
    """Pack `source` into `store/<id>.tar.gz` (unless it is there already) and return the id."""
    members: list[tuple[str, bytes]] = [
        (name, path.read_bytes()) for name, path in sorted(_files(source))
    ]
    if not any(name == "pyproject.toml" for name, _ in members):
        raise FileNotFoundError(f"{source} has no pyproject.toml: not a checkout of this service")
    if release_settings:
        members.append((RELEASE_ENV, _release_env_text(release_settings).encode()))
    digest = hashlib.sha256()
    for name, content in members:
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    release = digest.hexdigest()[:ID_LENGTH]

    store.mkdir(parents=True, exist_ok=True)
    target = store / f"{release}.tar.gz"
    if not target.exists():
        partial = target.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for name, content in members:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(content))
        partial.replace(target)
    return release


def unpack_bundle(bundle: Path, destination: Path) -> None:
    """Extract a bundle into a new folder (atomically: a half-extracted release never exists)."""
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted earlier attempt
    with tarfile.open(bundle, "r:gz") as archive:
        archive.extractall(partial, filter="data")
    partial.replace(destination)


def read_release_env(release_dir: Path) -> dict[str, str]:
    path = release_dir / RELEASE_ENV
    return parse_env_file(path) if path.exists() else {}


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments ignored (no quoting, no expansion)."""
    settings: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings
