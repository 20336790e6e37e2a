"""`python -m evals.extraction`: the extraction slice's gate. Exit 0 when it passes, 1 when it
fails, 2 on bad configuration.

make eval                                   # runs this after the Q&A gate
make eval URL=https://staging...            # both gates against a deployed service
python -m evals.extraction --update-baseline  # deliberately accept the current results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ..gate import MetricVerdict, SplitBaseline, judge, load_thresholds
from ..targets import RemoteTarget, TargetConfigError, in_process
from .cases import CASES_FILE, SAMPLES_DIR, ExtractionCase, load_cases
from .metrics import CaseResult, compute_metrics

HERE = Path(__file__).parent
THRESHOLDS_FILE = HERE / "thresholds.yaml"
BASELINE_FILE = HERE / "baseline.json"


class Target(Protocol):
    def post(self, path: str, body: dict[str, Any]) -> Any: ...
    def stored(self, request_id: str) -> str | None: ...


def run_on(target: Target, cases: list[ExtractionCase], samples: Path) -> list[CaseResult]:
    """Every case through POST /v1/extractions of `target`. What the ledger stored is read
    back where the target can (in process); a deployed service's is not visible from here."""
    results = []
    for case in cases:
        started = time.perf_counter()
        response = target.post("/v1/extractions", {"document": case.content(samples)})
        latency = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            error = f"HTTP {response.status_code}: {response.text[:300]}"
            results.append(CaseResult(case, error=error, latency_ms=latency))
            continue
        body = response.json()
        results.append(
            CaseResult(
                case,
                outcome=body["outcome"],
                record=body.get("record") or {},
                stored=target.stored(body["request_id"]),
                latency_ms=latency,
            )
        )
    return results


def run(
    cases: list[ExtractionCase], samples: Path, *, use_configured_model: bool
) -> list[CaseResult]:
    """Every case through the service built from this checkout, in process."""
    with in_process(use_configured_model=use_configured_model) as target:
        return run_on(target, cases, samples)


def _cells(verdict: MetricVerdict) -> tuple[str, str, str, str]:
    """Value, threshold, baseline and delta of a verdict, as the console and Markdown show them."""
    return (
        "n/a" if verdict.value is None else f"{verdict.value:g}",
        verdict.bound.describe() if verdict.bound else "-",
        "-" if verdict.baseline is None else f"{verdict.baseline:g}",
        "-" if verdict.delta is None else f"{verdict.delta:+g}",
    )


def _print(verdicts: list[MetricVerdict], results: list[CaseResult], seconds: float) -> None:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    table = Table(title=f"Extraction eval gate: {len(results)} cases")
    for column in ("metric", "value", "threshold", "baseline", "delta", "status"):
        table.add_column(column, justify="left" if column in ("metric", "status") else "right")
    for verdict in verdicts:
        colour = {"fail": "red", "pass": "green"}.get(verdict.status, "dim")
        table.add_row(verdict.name, *_cells(verdict), f"[{colour}]{verdict.status}[/]")
    console.print(table)
    failing = [(r.case, r.problems()) for r in results if r.problems()]
    if failing:
        console.print(f"{len(failing)} case(s) did not fully pass:")
        for case, problems in failing:
            console.print(f"  {case.id} ({case.category}): {'; '.join(problems)}")
    for verdict in verdicts:
        for failure in verdict.failures:
            console.print(f"[red]FAIL[/] {failure}")
    passed = all(verdict.passed for verdict in verdicts)
    console.print(f"Extraction eval gate {'PASSED' if passed else 'FAILED'} in {seconds:.2f}s")


def _summary(verdicts: list[MetricVerdict], results: list[CaseResult], target: str) -> str:
    """The run as Markdown, for a CI job summary or a pull-request comment."""
    passed = all(verdict.passed for verdict in verdicts)
    lines = [
        f"## Extraction eval gate {'passed ✅' if passed else 'FAILED ❌'}",
        "",
        f"{len(results)} cases, {target}.",
        "",
        "| Metric | Value | Threshold | Baseline | Delta | Status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for verdict in verdicts:
        lines.append(f"| {' | '.join((verdict.name, *_cells(verdict), verdict.status))} |")
    failures = [failure for verdict in verdicts for failure in verdict.failures]
    if failures:
        lines += ["", "Failures:", "", *(f"- {failure}" for failure in failures)]
    return "\n".join(lines) + "\n"


def _report(verdicts: list[MetricVerdict], results: list[CaseResult]) -> dict[str, Any]:
    return {
        "passed": all(verdict.passed for verdict in verdicts),
        "metrics": {verdict.name: verdict.value for verdict in verdicts},
        "failures": [failure for verdict in verdicts for failure in verdict.failures],
        "cases": {
            r.case.id: {"passed": not r.problems(), "problems": r.problems()} for r in results
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.extraction",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=Path, default=CASES_FILE)
    parser.add_argument("--samples", type=Path, default=SAMPLES_DIR)
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS_FILE)
    parser.add_argument("--baseline", type=Path, default=BASELINE_FILE)
    parser.add_argument("--out", type=Path, default=Path("var/eval"), help="report folder")
    parser.add_argument("--url", help="evaluate a deployed service instead of this checkout")
    parser.add_argument("--api-key-env", default="EVAL_API_KEY", help="variable holding its key")
    parser.add_argument("--update-baseline", action="store_true", help="write baseline.json")
    parser.add_argument(
        "--use-configured-model",
        action="store_true",
        help="use MODEL_PROVIDER from the environment instead of the embedded extractor",
    )
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.cases, args.samples)
        bounds = load_thresholds(args.thresholds).metrics
    except (ValidationError, ValueError, OSError) as error:
        print(f"extraction eval configuration error: {error}", file=sys.stderr)
        return 2
    baseline = SplitBaseline()
    if args.baseline.is_file():
        baseline = SplitBaseline.from_json(json.loads(args.baseline.read_text(encoding="utf-8")))

    started = time.perf_counter()
    if args.url:
        key = os.environ.get(args.api_key_env)
        if not key:
            print(f"set {args.api_key_env} to an API key of {args.url}", file=sys.stderr)
            return 2
        results = run_on(RemoteTarget(args.url, key), cases, args.samples)
    else:
        try:
            results = run(cases, args.samples, use_configured_model=args.use_configured_model)
        except TargetConfigError as error:
            print(f"extraction eval configuration error: {error}", file=sys.stderr)
            return 2
    metrics = compute_metrics(results)
    try:
        verdicts = judge(metrics, bounds, baseline.metrics)
    except ValueError as error:
        print(f"extraction eval configuration error: {error}", file=sys.stderr)
        return 2
    _print(verdicts, results, time.perf_counter() - started)
    report = _report(verdicts, results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "extraction.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    target = f"against {args.url}" if args.url else "in process (this checkout)"
    (args.out / "extraction.md").write_text(_summary(verdicts, results, target), "utf-8")
    if args.update_baseline:
        if metrics["error_count"]:
            print("refusing to write a baseline from a run with errors", file=sys.stderr)
            return 1
        accepted = {
            "metrics": {k: v for k, v in metrics.items() if not k.startswith("latency")},
            "cases": {case_id: {"passed": e["passed"]} for case_id, e in report["cases"].items()},
        }
        args.baseline.write_text(json.dumps(accepted, indent=2) + "\n", encoding="utf-8")
        print(f"baseline written to {args.baseline}; review and commit it")
        return 0
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
