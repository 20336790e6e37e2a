"""A real, throwaway Postgres server for tests (Debian package `postgresql`, no Docker).

`initdb` refuses to run as root, so as root the data directory belongs to the `postgres` user and
every server command runs through `runuser -u postgres --`; as any other user it runs directly.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from .helpers import free_port

DEBIAN_PACKAGE = "postgresql"
SERVER_USER = "postgres"  # the OS user that owns the data directory when we run as root


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, else PATH; fail clearly."""
    versions = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions.sort(
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0
    )
    if versions:
        return versions[-1]
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise RuntimeError(
        "Postgres server binaries (initdb, pg_ctl) not found: install the Debian package "
        f"`{DEBIAN_PACKAGE}` (apt-get install -y {DEBIAN_PACKAGE}); .ci/run does this in CI."
    )


class PostgresServer:
    """One Postgres cluster in a temp dir, listening on 127.0.0.1:<free port>.

    `url` is a SQLAlchemy URL for a password role owning one database. `stop()` and `start()`
    reuse the same data directory and port, so a test can take the database away and bring it
    back. Use as a context manager or call `close()` to stop it and delete everything.
    """

    user = "thinslice"
    password = "thinslice-test-pw"  # a throwaway local test server
    database = "thinslice"

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="thinslice-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "socket"
        self.log_file = self.base / "postgres.log"
        self.port = free_port()
        try:
            self._init_cluster()
            self.start()
            self._create_role_and_database()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    # --- running commands as the server owner ---
    def _command(self, name: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / name), *args]
        if self.as_root:
            return ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, name: str, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            self._command(name, *args),
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
        )
        if result.returncode != 0:
            log = (
                self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
            )
            raise RuntimeError(
                f"`{name} {' '.join(args)}` exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n"
                f"--- server log ---\n{log}"
            )
        return result.stdout

    def _init_cluster(self) -> None:
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir()
        self.log_file.touch()
        if self.as_root:
            # mkdtemp makes the base 0700 for root: the server user must own the whole tree.
            for path in (self.base, self.data_dir, self.socket_dir, self.log_file):
                shutil.chown(path, user=SERVER_USER, group=None)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def _create_role_and_database(self) -> None:
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'", database="postgres")
        self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}", database="postgres")

    # --- lifecycle ---
    def start(self) -> None:
        """Start (or restart) the server on the same data directory and port; wait until ready."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                self._command(
                    "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVER_USER
                ),
                check=False,
                capture_output=True,
                cwd=self.base,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Postgres on port {self.port} not ready within 30 s")
            time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect clients; `immediate`: like a crash)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        status = subprocess.run(
            self._command("pg_ctl", "-D", str(self.data_dir), "status"),
            check=False,
            capture_output=True,
            cwd=self.base,
        )
        return status.returncode == 0

    def close(self) -> None:
        """Stop the server if it runs and delete the temp dir."""
        try:
            if self.data_dir.joinpath("postmaster.pid").exists():
                self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- assertions ---
    def psql(self, sql: str, *, database: str | None = None, user: str = SERVER_USER) -> str:
        """Run SQL as the server owner (superuser; or `user`) over TCP; return the unaligned,
        tuples-only output (e.g. `int(server.psql("SELECT count(*) FROM requests"))`)."""
        return self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            user,
            "-d",
            database or self.database,
            "-v",
            "ON_ERROR_STOP=1",
            "-X",
            "-A",
            "-t",
            "-c",
            sql,
        ).strip()
