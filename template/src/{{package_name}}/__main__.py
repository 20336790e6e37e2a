"""Command line: `python -m <package> serve|ingest|check-config`."""

from __future__ import annotations

import argparse
import logging
import sys

from .settings import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=__package__, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API on HOST:PORT")
    commands.add_parser("ingest", help="index the governed corpus into a new snapshot")
    commands.add_parser("check-config", help="validate settings and exit")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    if args.command == "check-config":
        print(f"configuration OK (provider={settings.model_provider}, env={settings.app_env})")
        return 0
    if args.command == "ingest":
        from .ingest import EmptyCorpusError, ingest

        try:
            print(ingest(settings).summary())
        except (EmptyCorpusError, FileNotFoundError) as error:
            print(f"ingest failed: {error}", file=sys.stderr)
            return 1
        return 0

    import uvicorn

    from .app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
