"""`python -m evals`: run the gate. Exit 0 when it passes, 1 when it fails, 2 on bad config.

make eval                           # in process, embedded model
make eval URL=https://staging...    # a deployed service; key from EVAL_API_KEY
make eval-baseline                  # deliberately accept the current results as baseline
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from .cases import CASES_DIR, load_cases
from .gate import BASELINE_FILE, THRESHOLDS_FILE, judge, load_baseline, load_thresholds
from .report import baseline_of, print_report, write_reports
from .runner import run_cases
from .targets import RemoteTarget, in_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__)
    parser.add_argument("--url", help="evaluate a deployed service instead of this checkout")
    parser.add_argument("--api-key-env", default="EVAL_API_KEY", help="variable holding its key")
    parser.add_argument(
        "--use-configured-model",
        action="store_true",
        help="in process, use MODEL_PROVIDER from the environment instead of the embedded model",
    )
    parser.add_argument("--update-baseline", action="store_true", help="write baseline.json")
    parser.add_argument("--cases", type=Path, default=CASES_DIR)
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS_FILE)
    parser.add_argument("--baseline", type=Path, default=BASELINE_FILE)
    parser.add_argument("--out", type=Path, default=Path("var/eval"), help="report folder")
    args = parser.parse_args(argv)

    try:
        cases = load_cases(args.cases)
        thresholds = load_thresholds(args.thresholds)
    except (ValidationError, ValueError, OSError) as error:
        print(f"eval configuration error: {error}", file=sys.stderr)
        return 2
    baseline = load_baseline(args.baseline)

    if args.url:
        key = os.environ.get(args.api_key_env)
        if not key:
            print(f"set {args.api_key_env} to an API key of {args.url}", file=sys.stderr)
            return 2
        run = run_cases(cases, RemoteTarget(args.url, key), concurrency=4)
    else:
        with in_process(use_configured_model=args.use_configured_model) as target:
            run = run_cases(cases, target)

    verdicts = judge(run.metrics, thresholds, baseline.get("metrics", {}))
    print_report(run, verdicts, baseline)
    write_reports(args.out, run, verdicts, baseline)
    if args.update_baseline:
        if run.metrics["error_count"]:
            print("refusing to write a baseline from a run with errors", file=sys.stderr)
            return 1
        args.baseline.write_text(json.dumps(baseline_of(run), indent=2) + "\n", encoding="utf-8")
        print(f"baseline written to {args.baseline}; review and commit it")
        return 0
    return 0 if all(verdict.passed for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
