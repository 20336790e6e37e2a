"""The production data path, against real servers: one Postgres shared by two service replicas.

A rendered service (default answers) runs as two processes on two ports with one Postgres (a
real server this test starts). Load comes from the generated repo's own `scripts/loadgen.py`.
Proven here, as the issue asks: no lost rows under load, feedback on the other replica, one
dashboard across replicas, a refresh every replica serves without a restart, a rejected
refresh that moves nothing, a Postgres outage and a killed replica that lose no answered row,
and the single-machine SQLite default under 10,000 requests at concurrency 64.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .helpers import free_port, installed_copy, project_env, run, wait_ready
from .postgres import PostgresServer

pytestmark = [pytest.mark.generated, pytest.mark.e2e, pytest.mark.postgres]

PACKAGE = "policy_assistant"
API_KEY = "production-path-test-key-0123456789"  # a throwaway test key
# Production requires a scrape token for /metrics (a throwaway one, like the key).
METRICS_TOKEN = "production-path-metrics-token-9f8e7d6c5b4a"  # pragma: allowlist secret
QUESTION = "How many days of annual leave can I carry over?"
# The served snapshot must change within this bound on every replica (the promise).
REFRESH_BOUND_SECONDS = 60


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    """Two replicas of one release on one database."""

    repo: Path
    corpus: Path
    env: dict[str, str]
    database: str = ""
    replicas: list[Replica] = field(default_factory=list)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(
            [str(self.repo / ".venv/bin/python"), "-m", PACKAGE, *args],
            self.repo,
            env=self.env,
            check=check,
            timeout=300,
        )

    def start(self, name: str, port: int | None = None) -> Replica:
        port = port or free_port()
        log = self.repo / "var" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("a", encoding="utf-8")
        process = subprocess.Popen(
            [str(self.repo / ".venv/bin/python"), "-m", PACKAGE, "serve"],
            cwd=self.repo,
            env=project_env()
            | self.env
            | {
                "PORT": str(port),
                "INDEX_CACHE_DIR": str(self.repo / "var" / f"cache-{name}"),
            },
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        replica = Replica(name, port, process, log)
        wait_ready(f"{replica.url}/readyz", process=process)
        self.replicas = [r for r in self.replicas if r.name != name] + [replica]
        return replica

    def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                os.killpg(replica.process.pid, signal.SIGTERM)
                try:
                    replica.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(replica.process.pid, signal.SIGKILL)

    def load(
        self,
        requests: int,
        concurrency: int,
        *,
        urls: list[str] | None = None,
        out: str,
        feedback: bool = True,
    ) -> dict[str, Any]:
        """Run scripts/loadgen.py to completion; returns its JSON (summary + records)."""
        report = self.repo / "var" / out
        args = [
            str(self.repo / ".venv/bin/python"),
            "scripts/loadgen.py",
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            "--api-key",
            API_KEY,
            *(["--feedback-to-other"] if feedback else []),
            "--json",
            str(report),
        ]
        for url in urls or [replica.url for replica in self.replicas]:
            args += ["--url", url]
        run(args, self.repo, env=self.env, timeout=900)
        return json.loads(report.read_text(encoding="utf-8"))


def _get(url: str, *, timeout: float = 5) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"X-API-Key": API_KEY})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _ask(url: str, question: str = QUESTION) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/v1/ask",
        data=json.dumps({"question": question}).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _rows(postgres: PostgresServer, database: str, where: str = "TRUE") -> int:
    return int(postgres.psql(f"SELECT count(*) FROM requests WHERE {where}", database=database))


def _request_ids(postgres: PostgresServer, database: str) -> set[str]:
    listing = postgres.psql("SELECT request_id FROM requests", database=database)
    return set(listing.split())


@pytest.fixture(scope="module")
def repo(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installed_copy(rendered["default"], tmp_path_factory.mktemp("production-data") / "repo")


@pytest.fixture(scope="module")
def deployment(
    repo: Path, postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    database = "production_path"
    postgres_server.psql(f"CREATE DATABASE {database} OWNER {postgres_server.user}")
    corpus = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(repo / "data" / "corpus", corpus)
    env = {
        "APP_ENV": "production",
        "API_KEYS": API_KEY,
        "METRICS_TOKEN": METRICS_TOKEN,
        "DATABASE_URL": postgres_server.url.rsplit("/", 1)[0] + f"/{database}",
        "CORPUS_DIR": str(corpus),
        "LOG_LEVEL": "warning",
    }
    deployment = Deployment(repo, corpus, env, database)
    refused = deployment.cli("serve", check=False)
    assert refused.returncode == 2 and "make migrate" in refused.stderr, refused.stderr
    assert "up to date" in deployment.cli("migrate").stdout
    assert "indexed 22 documents" in deployment.cli("ingest").stdout
    deployment.start("replica-1")
    deployment.start("replica-2")
    yield deployment
    deployment.stop_all()


def test_two_replicas_share_one_ledger_under_load(
    deployment: Deployment, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    database = deployment.database
    before = _rows(postgres_server, database)

    result = deployment.load(2000, 32, out="two-replicas.json")

    summary, records = result["summary"], result["records"]
    report(f"\n2 replicas, 2000 requests at concurrency 32: {summary}")
    assert [r for r in records if r["status"] != 200] == []
    assert {r["url"] for r in records} == {replica.url for replica in deployment.replicas}
    # Feedback always went to the replica that did NOT answer, and always found the request.
    assert all(r["feedback_url"] != r["url"] for r in records)
    assert [r for r in records if r["feedback_status"] != 201] == []
    assert _rows(postgres_server, database) - before == 2000
    assert {r["request_id"] for r in records} <= _request_ids(postgres_server, database)
    # Either replica's dashboard counts every request, whichever replica served it.
    totals = {
        replica.name: _get(f"{replica.url}/dashboard/data?window=1h")[1]["requests"]["total"]
        for replica in deployment.replicas
    }
    assert set(totals.values()) == {_rows(postgres_server, database)}, totals


@pytest.fixture
def report(figure: Callable[[str], None]) -> Callable[[str], None]:
    """Report a measured figure (printed at the end of the run; closing notes quote them)."""
    return lambda text: figure(f"[production data] {text.strip()}")


def _served_snapshots(deployment: Deployment) -> dict[str, str]:
    return {r.name: _get(f"{r.url}/readyz")[1]["snapshot_id"] for r in deployment.replicas}


def test_a_refresh_reaches_every_replica_without_a_restart(
    deployment: Deployment, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    old = set(_served_snapshots(deployment).values())
    assert len(old) == 1
    policy = deployment.corpus / "hr-leave-002.md"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("Up to 5 unused days", "Up to 8 unused days"),
        encoding="utf-8",
    )

    output = deployment.cli("ingest").stdout
    new = output.split("snapshot ", 1)[1].split(":", 1)[0]
    published = time.monotonic()
    while set(_served_snapshots(deployment).values()) != {new}:
        waited = time.monotonic() - published
        assert waited < REFRESH_BOUND_SECONDS, (
            f"after {waited:.0f} s: {_served_snapshots(deployment)}"
        )
        time.sleep(0.5)
    report(
        f"\nevery replica served snapshot {new} {time.monotonic() - published:.1f} s after it was published"
    )

    pids = {replica.name: replica.process.pid for replica in deployment.replicas}
    for replica in deployment.replicas:
        status, body = _ask(replica.url)
        assert status == 200 and "Up to 8 unused days" in body["answer"], body
        assert replica.process.poll() is None and pids[replica.name] == replica.process.pid
    assert new not in old


def test_a_refresh_that_quarantines_everything_changes_nothing(
    deployment: Deployment, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    served = _served_snapshots(deployment)
    broken = tmp_path / "broken-corpus"
    shutil.copytree(deployment.corpus, broken)
    for path in broken.glob("*.md"):
        path.write_text("no front matter\n", encoding="utf-8")

    result = run(
        [str(deployment.repo / ".venv/bin/python"), "-m", PACKAGE, "ingest"],
        deployment.repo,
        env=deployment.env | {"CORPUS_DIR": str(broken)},
        check=False,
    )

    assert result.returncode != 0
    assert "current snapshot unchanged" in result.stderr and "no valid documents" in result.stderr
    pointer = postgres_server.psql(
        "SELECT snapshot_id FROM index_current", database=deployment.database
    )
    assert {pointer} == set(served.values())
    assert _served_snapshots(deployment) == served


class _Poller(threading.Thread):
    """Scrapes /metrics of every replica while something else happens; keeps the statuses."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls, self.statuses, self.done = urls, [], threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for url in self.urls:
                try:
                    scrape = urllib.request.Request(
                        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                    )
                    with urllib.request.urlopen(scrape, timeout=5) as response:
                        self.statuses.append(response.status)
                except urllib.error.HTTPError as error:
                    self.statuses.append(error.code)
                except OSError:
                    self.statuses.append(0)
            time.sleep(0.5)


class _BackgroundLoad(threading.Thread):
    """scripts/loadgen.py running while the test breaks something; `.result` when joined."""

    def __init__(self, deployment: Deployment, requests: int, out: str) -> None:
        super().__init__(daemon=True)
        self.deployment, self.requests, self.out = deployment, requests, out
        self.result: dict[str, Any] = {}
        self.start()

    def run(self) -> None:
        self.result = self.deployment.load(self.requests, 16, out=self.out)


def test_a_postgres_outage_gives_503s_and_loses_no_answered_row(
    deployment: Deployment, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    database = deployment.database
    poller = _Poller([replica.url for replica in deployment.replicas])
    load = _BackgroundLoad(deployment, 2000, "outage.json")
    time.sleep(3)
    postgres_server.stop()
    poller.start()
    outage_started = time.monotonic()
    time.sleep(10)
    postgres_server.start()
    outage = time.monotonic() - outage_started
    load.join(600)
    poller.done.set()
    poller.join(10)

    records = load.result["records"]
    statuses = {r["status"] for r in records}
    codes = {r["code"] for r in records if r["status"] == 503}
    report(f"\nPostgres down {outage:.1f} s under load: {load.result['summary']}")
    assert statuses <= {200, 503}, statuses
    assert 503 in statuses, "the outage was not felt: the test proves nothing"
    assert codes <= {"ledger_unavailable"}, codes
    assert set(poller.statuses) == {200}, "/metrics must answer during the outage"
    answered = {r["request_id"] for r in records if r["status"] == 200}
    assert answered <= _request_ids(postgres_server, database), "an answered request lost its row"
    # Recovered by itself: both replicas answer again, no restart.
    for replica in deployment.replicas:
        assert _ask(replica.url)[0] == 200
        assert _get(f"{replica.url}/readyz")[0] == 200


def test_a_killed_replica_loses_no_answered_row(
    deployment: Deployment, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    database = deployment.database
    victim = deployment.replicas[1]
    load = _BackgroundLoad(deployment, 1200, "kill.json")
    time.sleep(4)
    os.killpg(victim.process.pid, signal.SIGKILL)
    load.join(600)

    records = load.result["records"]
    from_victim = [r for r in records if r["url"] == victim.url]
    answered = {r["request_id"] for r in from_victim if r["status"] == 200}
    report(f"\nreplica killed mid-load: {len(answered)} of its answers before the kill")
    assert answered, "the victim answered nothing before the kill: the test proves nothing"
    assert any(r["status"] == 0 for r in from_victim), "the kill happened after the load"
    assert answered <= _request_ids(postgres_server, database)
    survivor = deployment.replicas[0]
    assert {r["status"] for r in records if r["url"] == survivor.url} == {200}
    deployment.start(victim.name, victim.port)


def test_sqlite_default_holds_10000_requests_at_concurrency_64(
    repo: Path, tmp_path: Path, report: Callable[[str], None]
) -> None:
    """One machine, the default SQLite database: no "database is locked", no lost row."""
    env = {"API_KEYS": API_KEY, "LOG_LEVEL": "warning"}
    database = tmp_path / "ledger.sqlite"
    single = Deployment(
        repo, repo / "data" / "corpus", env | {"DATABASE_URL": f"sqlite:///{database}"}
    )
    replica = single.start("sqlite")
    try:
        result = single.load(10_000, 64, urls=[replica.url], out="sqlite.json", feedback=False)
    finally:
        single.stop_all()

    summary, records = result["summary"], result["records"]
    report(f"\nSQLite, 10,000 requests at concurrency 64: {summary}")
    assert [r for r in records if r["status"] != 200] == []
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT count(*) FROM requests").fetchone()[0]
    assert rows == 10_000


class _SilentProvider(threading.Thread):
    """An "OpenAI-compatible" endpoint that accepts connections and never answers."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.start()

    def run(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.connections:
            connection.close()


def test_sigterm_answers_in_flight_requests_records_them_and_flushes_spans(
    deployment: Deployment, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    """A slow provider and a SIGTERM: the in-flight requests are answered 503 within the bound,
    each has its row, and their spans reach the exporter (set in `.env`, as documented)."""
    grace = 4
    provider = _SilentProvider()
    dotenv = deployment.repo / ".env"
    dotenv.write_text("OTEL_TRACES_EXPORTER=console\n", encoding="utf-8")
    slow = Deployment(
        deployment.repo,
        deployment.corpus,
        deployment.env
        | {
            "MODEL_PROVIDER": "openai",
            "MODEL_NAME": "silent-model",
            "MODEL_BASE_URL": f"http://127.0.0.1:{provider.port}/v1",
            "MODEL_API_KEY": "not-a-real-key",  # a throwaway value for the silent stand-in
            "MODEL_TIMEOUT_SECONDS": "120",
            "MODEL_DEADLINE_SECONDS": "120",
            "MODEL_MAX_RETRIES": "0",
            "SHUTDOWN_GRACE_SECONDS": str(grace),
        },
        deployment.database,
    )
    try:
        replica = slow.start("slow")
    finally:
        dotenv.unlink()
    answers: list[tuple[int, dict[str, Any]]] = []
    askers = [threading.Thread(target=lambda: answers.append(_ask(replica.url))) for _ in range(3)]
    for asker in askers:
        asker.start()
    deadline = time.monotonic() + 10
    while len(provider.connections) < 3:
        assert time.monotonic() < deadline, "the requests never reached the provider"
        time.sleep(0.1)

    sent = time.monotonic()
    os.killpg(replica.process.pid, signal.SIGTERM)
    replica.process.wait(timeout=grace + 10)
    exited = time.monotonic() - sent
    for asker in askers:
        asker.join(5)
    provider.close()

    report(f"\nSIGTERM with 3 requests in a hung model call: exited after {exited:.1f} s")
    assert exited < grace + 2, f"shutdown took {exited:.1f} s, the bound is {grace} s"
    assert [status for status, _ in answers] == [503, 503, 503]
    assert {body["code"] for _, body in answers} == {"shutting_down"}
    ids = ",".join(f"'{body['request_id']}'" for _, body in answers)
    recorded = postgres_server.psql(
        f"SELECT error_code, trace_id FROM requests WHERE request_id IN ({ids})",
        database=deployment.database,
    ).splitlines()
    assert len(recorded) == 3
    assert {line.split("|")[0] for line in recorded} == {"shutting_down"}
    log = replica.log.read_text(encoding="utf-8")
    for line in recorded:
        trace_id = line.split("|")[1]
        assert f"0x{trace_id}" in log, f"the spans of trace {trace_id} were not exported"


def test_bench_prints_the_wiring_overhead_on_sqlite_and_postgres(
    repo: Path, postgres_server: PostgresServer, report: Callable[[str], None]
) -> None:
    """`make bench` in the generated repo: figures, not assertions on them (CI machines vary)."""
    postgres_server.psql(f"CREATE DATABASE bench OWNER {postgres_server.user}")
    url = postgres_server.url.rsplit("/", 1)[0] + "/bench"

    result = run(
        ["make", "bench"],
        repo,
        env={"BENCH_POSTGRES_URL": url, "REQUESTS": "100", "CONCURRENT_REQUESTS": "400"},
        timeout=900,
    )

    report("\n" + result.stdout)
    for backend in ("SQLite:", "Postgres:"):
        assert backend in result.stdout
    assert result.stdout.count("full / bare: p50") == 2
