"""The report in three forms: a terminal table, JSON for machines, Markdown for CI summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .gate import MetricVerdict
from .runner import EvalRun


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _delta(value: float | None) -> str:
    return "-" if value is None else f"{value:+g}"


def failing_cases(run: EvalRun) -> list[tuple[str, str, list[str]]]:
    return [(r.case.id, r.case.category, r.problems()) for r in run.results if r.problems()]


def regressed_cases(run: EvalRun, baseline: dict[str, Any]) -> list[str]:
    """Cases that passed in the baseline and fail now."""
    passed_before = {cid for cid, entry in baseline.get("cases", {}).items() if entry["passed"]}
    return [cid for cid, _, _ in failing_cases(run) if cid in passed_before]


def print_report(run: EvalRun, verdicts: list[MetricVerdict], baseline: dict[str, Any]) -> None:
    console = Console(highlight=False)
    table = Table(title=f"Eval gate: {len(run.results)} cases, {run.target}")
    for column in ("metric", "value", "threshold", "baseline", "delta", "status"):
        table.add_column(column, justify="left" if column in {"metric", "status"} else "right")
    for verdict in verdicts:
        table.add_row(
            verdict.name,
            _fmt(verdict.value),
            verdict.bound.describe(),
            _fmt(verdict.baseline),
            _delta(verdict.delta),
            "[green]pass[/]" if verdict.passed else "[red]FAIL[/]",
        )
    console.print(table)
    failing = failing_cases(run)
    if failing:
        console.print(f"{len(failing)} case(s) did not fully pass:")
        for case_id, category, problems in failing:
            console.print(f"  {case_id} ({category}): {'; '.join(problems)}")
    regressed = regressed_cases(run, baseline)
    if regressed:
        console.print(f"[red]Passed in the baseline, failing now:[/] {', '.join(regressed)}")
    for verdict in verdicts:
        for failure in verdict.failures:
            console.print(f"[red]FAIL[/] {failure}")
    gate = "PASSED" if all(v.passed for v in verdicts) else "FAILED"
    console.print(f"Eval gate {gate} in {run.wall_seconds:.2f}s")


def as_json(
    run: EvalRun, verdicts: list[MetricVerdict], baseline: dict[str, Any]
) -> dict[str, Any]:
    return {
        "passed": all(v.passed for v in verdicts),
        "target": run.target,
        "case_count": len(run.results),
        "wall_seconds": round(run.wall_seconds, 3),
        "metrics": run.metrics,
        "verdicts": [
            {
                "metric": v.name,
                "value": v.value,
                "threshold": v.bound.describe(),
                "baseline": v.baseline,
                "delta": v.delta,
                "passed": v.passed,
                "failures": v.failures,
            }
            for v in verdicts
        ],
        "failing_cases": [
            {"id": cid, "category": category, "problems": problems}
            for cid, category, problems in failing_cases(run)
        ],
        "regressed_cases": regressed_cases(run, baseline),
    }


def as_markdown(run: EvalRun, verdicts: list[MetricVerdict], baseline: dict[str, Any]) -> str:
    passed = all(v.passed for v in verdicts)
    lines = [
        f"## Eval gate {'passed ✅' if passed else 'FAILED ❌'}",
        "",
        f"{len(run.results)} cases against {run.target} in {run.wall_seconds:.2f}s.",
        "",
        "| Metric | Value | Threshold | Baseline | Delta | Status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {v.name} | {_fmt(v.value)} | {v.bound.describe()} | {_fmt(v.baseline)} "
        f"| {_delta(v.delta)} | {'pass' if v.passed else '**FAIL**'} |"
        for v in verdicts
    ]
    failures = [failure for v in verdicts for failure in v.failures]
    if failures:
        lines += ["", "### Why it failed", ""] + [f"- {failure}" for failure in failures]
    regressed = regressed_cases(run, baseline)
    if regressed:
        lines += ["", f"Passed in the baseline, failing now: {', '.join(regressed)}"]
    failing = failing_cases(run)
    if failing:
        lines += ["", "<details><summary>Cases that did not fully pass</summary>", ""]
        lines += [f"- `{cid}` ({cat}): {'; '.join(problems)}" for cid, cat, problems in failing]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def baseline_of(run: EvalRun) -> dict[str, Any]:
    """What `--update-baseline` commits: machine-independent metrics and per-case status."""
    return {
        "target": "in process, embedded model" if "offline" in run.target else run.target,
        "metrics": {k: v for k, v in run.metrics.items() if not k.startswith("latency")},
        "cases": {
            r.case.id: {"passed": not r.problems(), "outcome": r.outcome} for r in run.results
        },
    }


def write_reports(
    out_dir: Path, run: EvalRun, verdicts: list[MetricVerdict], baseline: dict[str, Any]
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = as_json(run, verdicts, baseline)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "summary.md").write_text(as_markdown(run, verdicts, baseline), encoding="utf-8")
