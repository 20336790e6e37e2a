"""The report in three forms: a terminal table, JSON for machines, Markdown for CI summaries.

One row per metric: its value on the golden and held-out splits, the gap between them (golden
minus held-out), the threshold, each split's baseline and delta, and the status. Then, per
split, the cases that did not fully pass and the cases that passed in the baseline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .cases import SPLIT_LABELS, SPLITS, Split
from .gate import Baseline, GapVerdict, GateResult, MetricVerdict, SplitBaseline
from .runner import EvalRun

Runs = dict[Split, EvalRun]

NOT_MEASURED = "n/a"
# Why a metric can be n/a; the report names the reason with the metric.
NO_RETRIEVAL = "the target does not expose the documents it retrieved (a deployed service)"
NO_CASES = "no case of the split counts in it"


def _value(value: float | None) -> str:
    return NOT_MEASURED if value is None else f"{value:g}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _delta(value: float | None) -> str:
    return "-" if value is None else f"{value:+g}"


def _per_split(cells: list[str]) -> str:
    return "-" if all(cell == "-" for cell in cells) else " / ".join(cells)


def failing_cases(run: EvalRun) -> list[tuple[str, str, list[str]]]:
    return [(r.case.id, r.case.category, r.problems()) for r in run.results if r.problems()]


def regressed_cases(run: EvalRun, baseline: SplitBaseline) -> list[str]:
    """Cases that passed in the split's baseline and fail now."""
    passed_before = baseline.passed_cases()
    return [cid for cid, _, _ in failing_cases(run) if cid in passed_before]


def not_measured(run: EvalRun) -> dict[str, str]:
    """The metrics of a run that are None, with the reason."""
    with_documents = any(r.case.expected.documents for r in run.results)
    return {
        name: NO_RETRIEVAL if name.startswith("retrieval_") and with_documents else NO_CASES
        for name, value in run.metrics.items()
        if value is None
    }


def _status(verdicts: list[MetricVerdict], gap: GapVerdict | None, labels: list[str]) -> str:
    failed = [label for label, v in zip(labels, verdicts, strict=True) if not v.passed]
    if gap is not None and not gap.passed:
        failed.append("gap")
    if failed:
        return f"FAIL ({', '.join(failed)})"
    if all(v.value is None for v in verdicts):
        return NOT_MEASURED
    gated = any(v.bound is not None for v in verdicts) or (
        gap is not None and gap.max_gap is not None
    )
    return "pass" if gated else "-"


def metric_table(result: GateResult) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the metrics table (terminal and Markdown)."""
    splits = list(result.splits)
    labels = [SPLIT_LABELS[split] for split in splits]
    gaps = {gap.name: gap for gap in result.gaps}
    header = ["metric", *labels, *(["gap"] if gaps else [])]
    header += ["threshold", "baseline", "delta", "status"]
    rows = []
    for position, name in enumerate(v.name for v in result.splits[splits[0]]):
        verdicts = [result.splits[split][position] for split in splits]
        thresholds = [v.bound.describe() if v.bound else "-" for v in verdicts]
        gap = gaps.get(name)
        gap_cell = (
            [] if not gaps else [_delta(gap.gap) if gap and gap.gap is not None else NOT_MEASURED]
        )
        rows.append(
            [
                name,
                *(_value(v.value) for v in verdicts),
                *gap_cell,
                thresholds[0] if len(set(thresholds)) == 1 else " / ".join(thresholds),
                _per_split([_fmt(v.baseline) for v in verdicts]),
                _per_split([_delta(v.delta) for v in verdicts]),
                _status(verdicts, gap, labels),
            ]
        )
    return header, rows


def _notes(runs: Runs, result: GateResult) -> list[str]:
    """What the table alone does not say: the columns, the overfitting rule, each n/a."""
    notes = []
    if len(runs) == 1:
        notes.append(f"only the {SPLIT_LABELS[next(iter(runs))]} split ran: no gap measured")
    else:
        labels = " / ".join(SPLIT_LABELS[split] for split in runs)
        notes.append(f"baseline and delta: {labels}; gap: golden - held-out")
    rules = [gap for gap in result.gaps if gap.max_gap is not None]
    if rules:
        notes.append(
            f"overfitting rule: golden may beat held-out by at most {rules[0].max_gap:g} on "
            + ", ".join(gap.name for gap in rules)
        )
    for split, run in runs.items():
        by_reason: dict[str, list[str]] = {}
        for name, reason in not_measured(run).items():
            by_reason.setdefault(reason, []).append(name)
        notes += [
            f"{NOT_MEASURED} on {SPLIT_LABELS[split]}: {', '.join(names)} ({reason})"
            for reason, names in by_reason.items()
        ]
    return notes


def _describe_runs(runs: Runs) -> str:
    counts = ", ".join(f"{len(run.results)} {SPLIT_LABELS[split]}" for split, run in runs.items())
    return f"{counts} cases, {next(iter(runs.values())).target}"


def _wall_seconds(runs: Runs) -> float:
    return sum(run.wall_seconds for run in runs.values())


def print_report(runs: Runs, result: GateResult, baseline: Baseline) -> None:
    # A terminal has its own width; a CI log or a pipe would wrap the table at 80 columns.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    header, rows = metric_table(result)
    table = Table(title=f"Eval gate: {_describe_runs(runs)}")
    for column in header:
        left = column in {"metric", "status"}
        table.add_column(column, justify="left" if left else "right", no_wrap=column == "metric")
    for row in rows:
        status = row[-1]
        colour = "red" if status.startswith("FAIL") else "green" if status == "pass" else "dim"
        table.add_row(*row[:-1], f"[{colour}]{status}[/]")
    console.print(table)
    for note in _notes(runs, result):
        console.print(f"  {note}", style="dim")
    for split, run in runs.items():
        label = SPLIT_LABELS[split].capitalize()
        failing = failing_cases(run)
        if failing:
            console.print(f"{label}: {len(failing)} case(s) did not fully pass:")
            for case_id, category, problems in failing:
                console.print(f"  {case_id} ({category}): {'; '.join(problems)}")
        regressed = regressed_cases(run, baseline.get(split, SplitBaseline()))
        if regressed:
            console.print(
                f"[red]{label}: passed in the baseline, failing now:[/] {', '.join(regressed)}"
            )
    for failure in result.failures():
        console.print(f"[red]FAIL[/] {failure}")
    gate = "PASSED" if result.passed else "FAILED"
    console.print(f"Eval gate {gate} in {_wall_seconds(runs):.2f}s")


def as_json(runs: Runs, result: GateResult, baseline: Baseline) -> dict[str, Any]:
    """report.json: per split its metrics (null: not measured), verdicts and cases; the gaps."""
    splits: dict[str, Any] = {}
    for split, run in runs.items():
        verdicts = result.splits[split]
        splits[split] = {
            "case_count": len(run.results),
            "passed": all(v.passed for v in verdicts),
            "metrics": run.metrics,
            "not_measured": not_measured(run),
            "verdicts": [
                {
                    "metric": v.name,
                    "value": v.value,
                    "threshold": v.bound.describe() if v.bound else None,
                    "baseline": v.baseline,
                    "delta": v.delta,
                    "status": v.status,
                    "passed": v.passed,
                    "failures": v.failures,
                }
                for v in verdicts
            ],
            "failing_cases": [
                {"id": cid, "category": category, "problems": problems}
                for cid, category, problems in failing_cases(run)
            ],
            "regressed_cases": regressed_cases(run, baseline.get(split, SplitBaseline())),
        }
    return {
        "passed": result.passed,
        "target": next(iter(runs.values())).target,
        "case_count": sum(len(run.results) for run in runs.values()),
        "wall_seconds": round(_wall_seconds(runs), 3),
        "splits": splits,
        "gaps": [
            {
                "metric": gap.name,
                "golden": gap.golden,
                "heldout": gap.heldout,
                "gap": gap.gap,
                "max_gap": gap.max_gap,
                "passed": gap.passed,
                "failures": gap.failures,
            }
            for gap in result.gaps
        ],
        "failures": result.failures(),
    }


def as_markdown(runs: Runs, result: GateResult, baseline: Baseline) -> str:
    header, rows = metric_table(result)
    lines = [
        f"## Eval gate {'passed ✅' if result.passed else 'FAILED ❌'}",
        "",
        f"{_describe_runs(runs)}, in {_wall_seconds(runs):.2f}s.",
        "",
        "| " + " | ".join(column.capitalize() for column in header) + " |",
        "|---|" + "---:|" * (len(header) - 2) + "---|",
    ]
    for row in rows:
        status = f"**{row[-1]}**" if row[-1].startswith("FAIL") else row[-1]
        lines.append("| " + " | ".join([*row[:-1], status]) + " |")
    lines += [""] + [f"- {note}" for note in _notes(runs, result)]
    failures = result.failures()
    if failures:
        lines += ["", "### Why it failed", ""] + [f"- {failure}" for failure in failures]
    for split, run in runs.items():
        label = SPLIT_LABELS[split].capitalize()
        regressed = regressed_cases(run, baseline.get(split, SplitBaseline()))
        if regressed:
            lines += ["", f"{label}: passed in the baseline, failing now: {', '.join(regressed)}"]
    for split, run in runs.items():
        failing = failing_cases(run)
        if failing:
            summary = (
                f"{SPLIT_LABELS[split].capitalize()}: {len(failing)} case(s) did not fully pass"
            )
            lines += ["", f"<details><summary>{summary}</summary>", ""]
            lines += [f"- `{cid}` ({cat}): {'; '.join(problems)}" for cid, cat, problems in failing]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def baseline_of(runs: Runs, previous: Baseline) -> dict[str, Any]:
    """What `--update-baseline` commits: per split, machine-independent metrics and per-case
    status. A split that did not run keeps its previous baseline."""
    target = next(iter(runs.values())).target
    splits: dict[str, Any] = {}
    for split in SPLITS:
        if split in runs:
            run = runs[split]
            splits[split] = {
                "metrics": {
                    name: value
                    for name, value in run.metrics.items()
                    if value is not None and not name.startswith("latency")
                },
                "cases": {
                    r.case.id: {"passed": not r.problems(), "outcome": r.outcome}
                    for r in run.results
                },
            }
        elif split in previous:
            splits[split] = {"metrics": previous[split].metrics, "cases": previous[split].cases}
    return {
        "target": "in process, embedded model" if "offline" in target else target,
        "splits": splits,
    }


def write_reports(out_dir: Path, runs: Runs, result: GateResult, baseline: Baseline) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = as_json(runs, result, baseline)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "summary.md").write_text(as_markdown(runs, result, baseline), encoding="utf-8")
