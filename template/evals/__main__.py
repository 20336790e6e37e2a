"""`python -m evals`: run the gate. Exit 0 when it passes, 1 when it fails, 2 on bad config.

make eval                           # in process, embedded model, both splits
make eval URL=https://staging...    # a deployed service; key from EVAL_API_KEY
make eval-baseline                  # deliberately accept the current results as baseline
python -m evals --split golden      # one split only (no gap check)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from .cases import CASES_DIR, HELDOUT_DIR, SPLITS, Split, has_cases, load_splits
from .gate import (
    BASELINE_FILE,
    THRESHOLDS_FILE,
    check_names,
    judge_splits,
    load_baseline,
    load_thresholds,
)
from .metrics import compute_metrics
from .report import baseline_of, print_report, write_reports
from .runner import EvalRun, run_cases
from .targets import RemoteTarget, Target, TargetConfigError, in_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="evaluate a deployed service instead of this checkout")
    parser.add_argument("--api-key-env", default="EVAL_API_KEY", help="variable holding its key")
    parser.add_argument(
        "--use-configured-model",
        action="store_true",
        help="in process, use MODEL_PROVIDER from the environment instead of the embedded model",
    )
    parser.add_argument("--update-baseline", action="store_true", help="write baseline.json")
    parser.add_argument(
        "--split",
        choices=[*SPLITS, "all"],
        default="all",
        help="golden (tuned against), heldout (never tuned against) or all (default)",
    )
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="the golden split")
    parser.add_argument("--heldout", type=Path, default=HELDOUT_DIR, help="the held-out split")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS_FILE)
    parser.add_argument("--baseline", type=Path, default=BASELINE_FILE)
    parser.add_argument("--out", type=Path, default=Path("var/eval"), help="report folder")
    args = parser.parse_args(argv)
    splits: tuple[Split, ...] = SPLITS if args.split == "all" else (args.split,)
    if args.split == "all" and not has_cases(args.heldout):
        # A repo updated from a template without one: the gate runs, and says what is missing.
        print(
            f"no held-out split ({args.heldout} has no *.yaml cases): only the golden split "
            "runs and nothing measures overfitting; evals/README.md says how to write one",
            file=sys.stderr,
        )
        splits = ("golden",)

    try:
        cases = load_splits(args.cases, args.heldout, splits=splits)
        thresholds = load_thresholds(args.thresholds)
        check_names(thresholds, compute_metrics([]))
    except (ValidationError, ValueError, OSError) as error:
        print(f"eval configuration error: {error}", file=sys.stderr)
        return 2
    baseline = load_baseline(args.baseline)

    def run_all(target: Target, concurrency: int) -> dict[Split, EvalRun]:
        return {
            split: run_cases(split_cases, target, concurrency=concurrency, name=split)
            for split, split_cases in cases.items()
        }

    if args.url:
        key = os.environ.get(args.api_key_env)
        if not key:
            print(f"set {args.api_key_env} to an API key of {args.url}", file=sys.stderr)
            return 2
        runs = run_all(RemoteTarget(args.url, key), 4)
    else:
        try:
            with in_process(use_configured_model=args.use_configured_model) as target:
                runs = run_all(target, 1)
        except TargetConfigError as error:
            print(f"eval configuration error: {error}", file=sys.stderr)
            return 2
        if target.fatal:
            # Every other case would fail the same way: one line, not a report of errors.
            print(
                f"eval stopped: the model provider failed ({target.fatal}); "
                "check MODEL_BASE_URL and MODEL_API_KEY",
                file=sys.stderr,
            )
            return 2

    result = judge_splits({split: run.metrics for split, run in runs.items()}, thresholds, baseline)
    print_report(runs, result, baseline)
    write_reports(args.out, runs, result, baseline)
    if args.update_baseline:
        if any(run.metrics["error_count"] for run in runs.values()):
            print("refusing to write a baseline from a run with errors", file=sys.stderr)
            return 1
        written = baseline_of(runs, baseline)
        args.baseline.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
        print(
            f"baseline of {', '.join(written['splits'])} written to {args.baseline}; "
            "review and commit it"
        )
        return 0
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
