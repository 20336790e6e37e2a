"""`python -m deploy <command>`: build, deploy, roll back, inspect, smoke test, refresh, drill.

    python -m deploy build                                  # local bundle from this checkout
    python -m deploy deploy --env staging --release <id>    # smoke test + automatic rollback
    python -m deploy rollback --env production [--to <id>]  # manual rollback, smoke tested
    python -m deploy status --env production
    python -m deploy smoke --env staging
    python -m deploy eval --env staging                     # the eval gate against the deployment
    python -m deploy refresh --env production               # re-ingest the governed corpus
    python -m deploy drill                                  # rollback drill (local backend)

The backend is --backend, else DEPLOY_BACKEND, else kubernetes. Exit codes: 0 success,
1 failure (including a release that was rolled back automatically), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .base import Backend, DeployError
from .bundle import build_bundle
from .config import BACKENDS, ENVIRONMENTS, REPO_ROOT, Environment, local_root
from .drill import DrillFailedError, run_drill
from .kubernetes import KubernetesBackend
from .local import LocalBackend
from .rollout import RolledBackError, deploy, rollback
from .smoke import smoke_test


def make_backend(name: str, environment: Environment) -> Backend:
    if name == "local":
        return LocalBackend(environment)
    return KubernetesBackend(environment)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build a local release bundle; prints its id")
    build.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="bake a setting into the release (repeatable)",
    )
    for name, help_text in [
        ("deploy", "deploy a release: smoke test, automatic rollback on failure"),
        ("rollback", "roll back to the previous healthy release (or --to)"),
        ("status", "what serves now, and the history"),
        ("smoke", "smoke test the environment"),
        ("eval", "run the eval gate against the environment"),
        ("refresh", "re-ingest the governed corpus into a new index snapshot"),
        ("stop", "stop the local service of the environment"),
    ]:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--env", required=True, choices=ENVIRONMENTS)
        command.add_argument(
            "--backend", choices=BACKENDS, default=os.environ.get("DEPLOY_BACKEND") or "kubernetes"
        )
        if name == "deploy":
            command.add_argument(
                "--release",
                help="local: bundle id (default: build one from this checkout); "
                "kubernetes: image@sha256:digest",
            )
        if name == "rollback":
            command.add_argument("--to", help="local: release id; kubernetes: revision number")
    drill = commands.add_parser("drill", help="rollback drill on the local backend")
    drill.add_argument("--keep", action="store_true", help="keep the drill's folder for a look")
    return parser


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--setting takes KEY=VALUE, got {pair!r}")
        settings[key] = value
    return settings


def run(args: argparse.Namespace) -> int:
    if args.command == "build":
        print(build_bundle(REPO_ROOT, local_root() / "bundles", _settings(args.setting)))
        return 0
    if args.command == "drill":
        figures = run_drill(keep=args.keep)
        print(
            "DRILL PASSED: automatic rollback "
            f"{figures['automatic_rollback_seconds']:.1f} s, runbook rollback "
            f"{figures['runbook_rollback_seconds']:.1f} s"
        )
        return 0

    backend = make_backend(args.backend, args.env)
    if args.command == "deploy":
        release = args.release
        if release is None:
            if args.backend != "local":
                raise DeployError("--release is required: an image reference pinned by digest")
            release = build_bundle(REPO_ROOT, local_root() / "bundles")
        result = deploy(backend, release)
        print(f"{args.env}: {result.release} deployed (previous: {result.previous or 'none'})")
    elif args.command == "rollback":
        restored, seconds = rollback(backend, args.to)
        print(f"{args.env}: rolled back to {restored}, serving and smoke-tested in {seconds:.1f} s")
    elif args.command == "status":
        print(backend.status())
    elif args.command == "smoke":
        seconds = smoke_test(backend.endpoint())
        print(f"{args.env}: smoke test passed in {seconds:.2f} s")
    elif args.command == "eval":
        endpoint = backend.endpoint()
        return subprocess.run(
            [sys.executable, "-m", "evals", "--url", endpoint.url],
            cwd=REPO_ROOT,
            env={**os.environ, "EVAL_API_KEY": endpoint.api_key},
            check=False,
        ).returncode
    elif args.command == "refresh":
        backend.refresh()
        print(f"{args.env}: index refreshed")
    elif args.command == "stop":
        if not isinstance(backend, LocalBackend):
            raise DeployError("stop is for the local backend; scale the Deployment instead")
        backend.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except RolledBackError as error:
        print(f"::error::DEPLOY FAILED AND WAS ROLLED BACK: {error}", file=sys.stderr)
        return 1
    except DeployError as error:
        print(f"::error::{args.command} failed: {error}", file=sys.stderr)
        return 1
    except DrillFailedError as error:
        print(f"::error::DRILL FAILED: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
