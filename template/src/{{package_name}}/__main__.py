"""Command line: `python -m <package> serve|migrate|ingest|snapshots|check-config`."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from .settings import ConfigError, Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=__package__, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API on HOST:PORT")
    migrate = commands.add_parser(
        "migrate", help="bring the database schema (ledger, snapshots) to this release"
    )
    migrate.add_argument(
        "--new", metavar="MESSAGE", help="write a new migration for changed tables instead"
    )
    commands.add_parser(
        "ingest", help="validate the governed corpus and publish it as the current snapshot"
    )
    snapshots = commands.add_parser("snapshots", help="list index snapshots or roll back to one")
    actions = snapshots.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="kept snapshots, newest first (* = current)")
    rollback = actions.add_parser("rollback", help="serve an earlier snapshot again")
    rollback.add_argument("--to", help="snapshot id (default: the one before the current one)")
    commands.add_parser("check-config", help="validate settings and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .telemetry import export_dotenv_otel_variables

    export_dotenv_otel_variables()
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # Alembic narrates every step at INFO; keep its "Running upgrade" lines for `migrate` only.
    logging.getLogger("alembic").setLevel(
        logging.INFO if args.command == "migrate" else logging.WARNING
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if args.command == "check-config":
        print(f"configuration OK (provider={settings.model_provider}, env={settings.app_env})")
        return 0
    try:
        return _run(args, settings)
    except SQLAlchemyError as error:
        print(f"{args.command} failed: the database is unavailable: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .db import SchemaOutOfDateError, ensure_schema, make_engine, migrate
    from .retrieval import SnapshotStore, UnknownSnapshotError

    engine = make_engine(settings.database_url, pool_size=2)
    if args.command == "migrate":
        if args.new:
            from .db.migrate import new_migration

            print(f"wrote {new_migration(engine, args.new)}: review it, then commit it")
            return 0
        status = migrate(engine)
        if status.state == "ahead":
            print(f"{status.describe()}: newer than this release, left as it is")
        else:
            print(f"{status.describe()}: the schema is up to date")
        return 0
    try:
        ensure_schema(engine, auto_migrate=settings.auto_migrate)
    except SchemaOutOfDateError as error:
        print(f"{args.command} refused: {error}", file=sys.stderr)
        return 2
    store = SnapshotStore(engine, retention=settings.snapshot_retention)
    if args.command == "ingest":
        from .ingest import IngestRejectedError, ingest

        try:
            print(ingest(settings, store).summary())
        except (IngestRejectedError, FileNotFoundError) as error:
            print(f"ingest failed, current snapshot unchanged: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "snapshots":
        if args.action == "list":
            kept = store.list()
            print("\n".join(info.line() for info in kept) or "no snapshots published yet")
            return 0
        try:
            previous, current = store.rollback(args.to)
        except UnknownSnapshotError as error:
            print(f"rollback failed: {error}", file=sys.stderr)
            return 1
        print(
            f"current snapshot: {current} (was {previous}); replicas follow within "
            f"{settings.snapshot_poll_seconds:g} s"
        )
        return 0
    engine.dispose()
    from .server import serve

    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
