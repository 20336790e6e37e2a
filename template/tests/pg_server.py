"""A throwaway Postgres server for the tests that must run on Postgres too (migrations).

Uses TEST_DATABASE_URL when set (an empty database, e.g. a CI service). Otherwise, where the
Postgres server binaries are installed (Debian/Ubuntu `postgresql`, present on GitHub's Ubuntu
runners), starts one on 127.0.0.1 in a temporary directory and stops it afterwards. As root,
`initdb` refuses to run, so the server then runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"


def server_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, else initdb on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: Path(p).parts[4])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a server with trust auth on a free loopback port; yield a SQLAlchemy URL."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data, port = base / "data", _free_port()

    def command(name: str, *args: str) -> list[str]:
        line = [str(bin_dir / name), *args]
        return ["runuser", "-u", SERVER_USER, "--", *line] if as_root else line

    def run(name: str, *args: str) -> None:
        subprocess.run(command(name, *args), check=True, capture_output=True, cwd=base)  # noqa: S603 - our own binaries

    if as_root:
        shutil.chown(base, user=SERVER_USER)
    try:
        run("initdb", "-D", str(data), "-U", SERVER_USER, "--auth=trust", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
        try:
            yield f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
