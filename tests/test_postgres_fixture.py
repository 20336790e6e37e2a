"""The test Postgres server itself: data survives a stop/start on the same port."""

from __future__ import annotations

import pytest

from .postgres import PostgresServer

pytestmark = pytest.mark.postgres


def test_postgres_server_survives_restart(postgres_server: PostgresServer) -> None:
    assert postgres_server.url.startswith("postgresql+psycopg://")
    assert f"127.0.0.1:{postgres_server.port}/" in postgres_server.url
    postgres_server.psql(
        "CREATE TABLE restart_probe (id int); INSERT INTO restart_probe VALUES (7)"
    )

    postgres_server.stop()
    assert not postgres_server.is_running()
    postgres_server.start()

    assert postgres_server.is_running()
    assert postgres_server.psql("SELECT id FROM restart_probe") == "7"
    # The role in the URL logs in and owns the database in the URL.
    whoami = "SELECT current_user || ' ' || current_database()"
    assert postgres_server.psql(whoami, user=postgres_server.user) == "thinslice thinslice"
    postgres_server.psql("DROP TABLE restart_probe")
