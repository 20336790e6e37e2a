"""Release bundles (content-addressed, allow-listed files only) and the drilled runbook's
parser. Offline and fast."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest
from support import RELEASE_ID, write_tree

from deploy import drill
from deploy.bundle import build_bundle, read_release_env, unpack_bundle

# --- bundles --------------------------------------------------------------------------------------

BUNDLED = {
    "pyproject.toml": "[project]\nname = 'fake'\n",
    "uv.lock": "version = 1\n",
    "README.md": "# Fake\n",
    ".python-version": "3.12\n",
    "src/fake/__init__.py": "ANSWER = 42\n",
    "data/corpus/leave.md": "# Leave\nCarry over up to 5 days.\n",
}
LEFT_OUT = {
    "src/fake/__pycache__/__init__.cpython-312.pyc": "bytecode",
    ".venv/bin/python": "#!/bin/sh\n",
    "var/deploy/production/state.json": "{}\n",
    "tests/test_fake.py": "def test_fake() -> None: ...\n",
    "docs/index.md": "# Docs\n",
    "deploy/__init__.py": "",
    ".env": "LOG_LEVEL=debug\n",
}


def bundle_members(store: Path, release: str) -> dict[str, str]:
    members: dict[str, str] = {}
    with tarfile.open(store / f"{release}.tar.gz") as archive:
        for member in archive.getmembers():
            file = archive.extractfile(member)
            assert file is not None, member.name
            members[member.name] = file.read().decode()
    return members


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A small fake checkout: the allow-listed files plus everything a release must leave out."""
    return write_tree(tmp_path / "checkout", BUNDLED | LEFT_OUT)


def test_same_tree_gives_the_same_release_id(checkout: Path, tmp_path: Path) -> None:
    """The id depends on paths and bytes only: not on where the tree is, nor on mtimes."""
    release = build_bundle(checkout, tmp_path / "store")
    copy = shutil.copytree(checkout, tmp_path / "elsewhere")
    os.utime(copy / "src" / "fake" / "__init__.py", (0, 0))

    assert RELEASE_ID.match(release)
    assert build_bundle(copy, tmp_path / "other-store") == release
    assert build_bundle(checkout, tmp_path / "store") == release


@pytest.mark.parametrize("name", ["pyproject.toml", "uv.lock", "src/fake/__init__.py"])
def test_a_changed_file_gives_a_new_release_id(checkout: Path, tmp_path: Path, name: str) -> None:
    """Any change to a bundled file is a different release."""
    before = build_bundle(checkout, tmp_path / "store")
    (checkout / name).write_text("# changed\n", encoding="utf-8")

    assert build_bundle(checkout, tmp_path / "store") != before


def test_a_moved_file_gives_a_new_release_id(checkout: Path, tmp_path: Path) -> None:
    """Paths are part of the id: the same bytes under another name are another release."""
    before = build_bundle(checkout, tmp_path / "store")
    (checkout / "data" / "corpus" / "leave.md").rename(checkout / "data" / "corpus" / "pto.md")

    assert build_bundle(checkout, tmp_path / "store") != before


def test_a_baked_in_setting_gives_a_new_release_id(checkout: Path, tmp_path: Path) -> None:
    """Settings baked into a release are part of its id (in any order)."""
    store = tmp_path / "store"
    plain = build_bundle(checkout, store)
    warning = build_bundle(checkout, store, {"LOG_LEVEL": "warning", "MODEL_MAX_RETRIES": "0"})
    error = build_bundle(checkout, store, {"LOG_LEVEL": "error", "MODEL_MAX_RETRIES": "0"})

    reordered = build_bundle(checkout, store, {"MODEL_MAX_RETRIES": "0", "LOG_LEVEL": "warning"})

    assert len({plain, warning, error}) == 3
    assert reordered == warning


def test_files_outside_the_allow_list_do_not_change_the_id(checkout: Path, tmp_path: Path) -> None:
    """Tests, .venv, var/, caches and secrets never reach a release, so they cannot change it."""
    before = build_bundle(checkout, tmp_path / "store")
    write_tree(checkout, dict.fromkeys(LEFT_OUT, "changed\n"))

    assert build_bundle(checkout, tmp_path / "store") == before


def test_bundle_holds_exactly_the_allow_listed_files(checkout: Path, tmp_path: Path) -> None:
    """The bundle mirrors .dockerignore: no .venv, var/, tests, docs, .env or __pycache__."""
    store = tmp_path / "store"
    plain = build_bundle(checkout, store)
    baked = build_bundle(checkout, store, {"LOG_LEVEL": "warning"})

    assert bundle_members(store, plain) == BUNDLED
    assert bundle_members(store, baked) == BUNDLED | {"release.env": "LOG_LEVEL=warning\n"}


def test_unpacked_bundle_is_the_checkout(checkout: Path, tmp_path: Path) -> None:
    """Unpacking gives back the bundled files and settings; a stale partial folder is replaced."""
    store = tmp_path / "store"
    release = build_bundle(checkout, store, {"LOG_LEVEL": "warning"})
    destination = tmp_path / "releases" / release
    write_tree(tmp_path / "releases" / f"{release}.partial", {"left-over.txt": "interrupted\n"})

    unpack_bundle(store / f"{release}.tar.gz", destination)

    unpacked = {
        path.relative_to(destination).as_posix(): path.read_text(encoding="utf-8")
        for path in destination.rglob("*")
        if path.is_file()
    }
    assert unpacked == BUNDLED | {"release.env": "LOG_LEVEL=warning\n"}
    assert read_release_env(destination) == {"LOG_LEVEL": "warning"}
    assert sorted(p.name for p in destination.parent.iterdir()) == [release]


def test_a_folder_without_pyproject_is_not_bundled(checkout: Path, tmp_path: Path) -> None:
    """Building from anything but a checkout of the service fails and writes nothing."""
    (checkout / "pyproject.toml").unlink()

    with pytest.raises(FileNotFoundError, match=r"pyproject\.toml"):
        build_bundle(checkout, tmp_path / "store")
    assert not (tmp_path / "store").exists()


# --- the drilled runbook --------------------------------------------------------------------------


def test_runbook_drills_the_local_rollback() -> None:
    """The real runbook marks status, rollback and smoke commands, in that order, for the drill."""
    blocks = drill.runbook_commands()

    def first(command: str) -> int:
        return next(i for i, block in enumerate(blocks) if command in block)

    assert len(blocks) >= 3
    assert first("make status") < first("make rollback ENV=production BACKEND=local")
    assert first("make rollback ENV=production BACKEND=local") < first("make smoke")
    # The Kubernetes commands cannot run in a local drill, so they must stay unmarked.
    assert not any("BACKEND=kubernetes" in block for block in blocks)


def test_marked_blocks_come_back_in_order(tmp_path: Path) -> None:
    """Only blocks right after a marker count, blank lines in between allowed."""
    runbook = tmp_path / "rollback.md"
    runbook.write_text(
        "# Runbook\n\n<!-- drill -->\n```bash\nmake status ENV=staging\n```\n\n"
        "```bash\nmake deploy ENV=staging\n```\n\n<!-- drill -->\n\n```\nmake smoke ENV=staging\n"
        "make status ENV=staging\n```\n",
        encoding="utf-8",
    )

    assert drill.runbook_commands(runbook) == [
        "make status ENV=staging\n",
        "make smoke ENV=staging\nmake status ENV=staging\n",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("# Runbook\n\n```bash\nmake status\n```\n", "no code block", id="no-marker"),
        pytest.param(
            "<!-- drill -->\nRun this:\n\n```bash\nmake status\n```\n",
            "must be followed by a fenced code block",
            id="marker-without-block",
        ),
    ],
)
def test_a_runbook_the_drill_cannot_run_fails_it(tmp_path: Path, text: str, message: str) -> None:
    """A runbook without drillable blocks fails the drill instead of passing vacuously."""
    runbook = tmp_path / "rollback.md"
    runbook.write_text(text, encoding="utf-8")

    with pytest.raises(drill.DrillFailedError, match=message):
        drill.runbook_commands(runbook)
