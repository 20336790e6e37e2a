"""The gate's rules on hand-made results: each split against its bounds and its own baseline,
the overfitting gap, the retrieval metrics, metrics that were not measured, a baseline file
from before the held-out split, and what the report says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from evals.cases import EvalCase, Expected, Split
from evals.checks import reciprocal_rank, retrieval_recall
from evals.gate import (
    Baseline,
    Bound,
    Overfitting,
    SplitBaseline,
    Thresholds,
    check_names,
    judge,
    judge_gaps,
    judge_splits,
    load_baseline,
    load_thresholds,
)
from evals.metrics import Metrics, compute_metrics
from evals.report import as_json, as_markdown, baseline_of, print_report
from evals.runner import EvalRun, run_cases
from evals.targets import Observation

RULE = Overfitting(max_gap=0.05, metrics=("citation_hit_rate", "over_refusal_rate"))
# (outcome, cited, retrieved) per question; retrieved None: the target cannot see it.
Script = dict[str, tuple[str, list[str], list[str] | None]]


class _Scripted:
    """Answers every question as scripted."""

    def __init__(self, script: Script, description: str = "scripted stub") -> None:
        self.script, self.description = script, description

    def ask(self, question: str) -> Observation:
        outcome, cited, retrieved = self.script[question]
        return Observation(
            outcome=outcome,
            answer="",
            cited=cited,
            request_id="0" * 32,
            latency_ms=1.0,
            retrieved=retrieved,
        )


def _answerable(case_id: str, *documents: str) -> EvalCase:
    return EvalCase(
        id=case_id,
        category="answerable",
        question=f"Question {case_id}?",
        expected=Expected(outcome="answered", documents=documents),
    )


def _metrics(**values: float | None) -> Metrics:
    """Every metric, unmeasured unless given."""
    metrics = compute_metrics([])
    metrics.update(values)
    return metrics


# Retrieval metrics


def test_recall_at_k_and_reciprocal_rank_of_one_case() -> None:
    case = _answerable("two-docs", "D1", "D3")
    assert retrieval_recall(case, ["D3", "D2", "D3"]) == 0.5
    assert retrieval_recall(case, ["D1", "D3"]) == 1.0
    assert retrieval_recall(case, []) == 0.0
    assert reciprocal_rank(case, ["D3", "D1"]) == 1.0
    # Ranks count documents, not passages: D2's three passages are one rank.
    assert reciprocal_rank(case, ["D2", "D2", "D2", "D1"]) == 0.5
    assert reciprocal_rank(case, ["D2"]) == 0.0


def test_retrieval_metrics_over_a_run_of_hand_made_results() -> None:
    cases = [
        _answerable("a", "D1"),
        _answerable("b", "D1", "D3"),
        _answerable("c", "D4"),
        _answerable("d", "D1", "D2"),
        EvalCase(
            id="e",
            category="unanswerable",
            question="Question e?",
            expected=Expected(outcome="abstained"),
        ),
    ]
    script: Script = {
        "Question a?": ("answered", ["D1"], ["D2", "D1", "D1"]),  # recall 1, RR 1/2
        "Question b?": ("answered", ["D3"], ["D3", "D3", "D1"]),  # recall 1, RR 1
        "Question c?": ("abstained", [], ["D1"]),  # recall 0, RR 0
        "Question d?": ("answered", ["D2"], ["D5", "D5", "D2"]),  # recall 1/2, RR 1/2
        "Question e?": ("abstained", [], ["D9"]),  # expects no documents: not counted
    }

    run = run_cases(cases, _Scripted(script))

    assert run.metrics["retrieval_recall_at_k"] == 0.625
    assert run.metrics["retrieval_mrr"] == 0.5
    assert run.metrics["citation_hit_rate"] == 0.5
    problems = {result.case.id: result.problems() for result in run.results}
    assert problems["a"] == []
    assert problems["b"] == ["did not cite D1 (retrieved but not cited)"]
    assert "did not cite D4 (not retrieved)" in problems["c"]
    assert problems["d"] == ["did not cite D1 (not retrieved)"]


def test_a_target_that_cannot_see_retrieval_reports_it_as_not_measured() -> None:
    case = _answerable("a", "D1", "D2")

    run = run_cases([case], _Scripted({"Question a?": ("answered", ["D1"], None)}))

    assert run.metrics["retrieval_recall_at_k"] is None
    assert run.metrics["retrieval_mrr"] is None
    assert run.metrics["citation_hit_rate"] == 0.5, "not 0: the answer metrics still count"
    assert run.results[0].problems() == ["did not cite D2"], "no stage claimed it cannot see"
    assert run.metrics["injection_refusal_rate"] is None, "no injection case: not measured"


def test_a_metric_not_measured_passes_unless_required() -> None:
    metrics = _metrics(retrieval_mrr=None, citation_hit_rate=0.9)
    optional = {v.name: v for v in judge(metrics, {"retrieval_mrr": Bound(min=0.8)}, {})}
    assert optional["retrieval_mrr"].passed
    assert optional["retrieval_mrr"].status == "n/a"
    assert optional["citation_hit_rate"].status == "not gated"

    required = {
        v.name: v for v in judge(metrics, {"retrieval_mrr": Bound(min=0.8, required=True)}, {})
    }
    assert not required["retrieval_mrr"].passed
    assert required["retrieval_mrr"].failures == ["retrieval_mrr is required but was not measured"]


# The overfitting gap


def _gap(name: str, golden: float | None, heldout: float | None) -> tuple[float | None, bool]:
    verdicts = judge_gaps(_metrics(**{name: golden}), _metrics(**{name: heldout}), RULE)
    (verdict,) = [v for v in verdicts if v.name == name]
    return verdict.gap, verdict.passed


def test_golden_better_than_held_out_by_more_than_max_gap_fails() -> None:
    assert _gap("citation_hit_rate", 0.90, 0.80) == (0.1, False)
    (verdict,) = [
        v
        for v in judge_gaps(_metrics(citation_hit_rate=0.9), _metrics(citation_hit_rate=0.8), RULE)
        if v.failures
    ]
    assert "citation_hit_rate is 0.1 better on the golden split (0.9)" in verdict.failures[0]


def test_held_out_better_than_golden_or_a_small_gap_passes() -> None:
    assert _gap("citation_hit_rate", 0.80, 0.95) == (-0.15, True)
    assert _gap("citation_hit_rate", 0.84, 0.80) == (0.04, True)
    assert _gap("citation_hit_rate", 0.85, 0.80) == (0.05, True), "max_gap itself is allowed"


def test_the_gap_of_a_lower_is_better_metric_runs_the_other_way() -> None:
    assert _gap("over_refusal_rate", 0.0, 0.1) == (-0.1, False), "golden refuses less: overfit"
    assert _gap("over_refusal_rate", 0.1, 0.0) == (0.1, True)


def test_metrics_outside_the_rule_or_not_measured_only_report_their_gap() -> None:
    assert _gap("answer_correctness", 0.9, 0.5) == (0.4, True)
    assert _gap("citation_hit_rate", 0.9, None) == (None, True)


def test_each_split_meets_its_bounds_and_its_own_baseline_and_the_gap() -> None:
    thresholds = Thresholds(
        metrics={"citation_hit_rate": Bound(min=0.7, tolerance=0.02)},
        overfitting=Overfitting(max_gap=0.05, metrics=("citation_hit_rate",)),
        heldout={"citation_hit_rate": Bound(min=0.6, tolerance=0.02)},
    )
    baseline: Baseline = {
        "golden": SplitBaseline({"citation_hit_rate": 0.72}),
        "heldout": SplitBaseline({"citation_hit_rate": 0.70}),
    }

    def failures(golden: float, heldout: float) -> list[str]:
        metrics: dict[Split, Metrics] = {
            "golden": _metrics(citation_hit_rate=golden),
            "heldout": _metrics(citation_hit_rate=heldout),
        }
        result = judge_splits(metrics, thresholds, baseline)
        assert result.passed == (not result.failures())
        return result.failures()

    assert failures(0.72, 0.69) == [], "held-out meets its own, lower bound"
    assert failures(0.70, 0.67) == [
        "held-out: citation_hit_rate regressed from baseline 0.7 to 0.67 (tolerance 0.02)"
    ], "each split against its own baseline: golden 0.70 is within tolerance of 0.72"
    assert failures(0.75, 0.58) == [
        "held-out: citation_hit_rate 0.58 is below the threshold 0.6",
        "held-out: citation_hit_rate regressed from baseline 0.7 to 0.58 (tolerance 0.02)",
        "overfitting: citation_hit_rate is 0.17 better on the golden split (0.75) than on "
        "the held-out one (0.58); max_gap 0.05",
    ]
    # One split alone: its bounds, no gap.
    alone = judge_splits({"golden": _metrics(citation_hit_rate=0.9)}, thresholds, baseline)
    assert alone.passed
    assert alone.gaps == []


def test_the_repo_thresholds_name_real_metrics() -> None:
    check_names(load_thresholds(), compute_metrics([]))


def test_thresholds_with_a_typo_are_refused() -> None:
    typo = Thresholds(
        metrics={"citation_hit_rate": Bound(min=0.7)},
        overfitting=Overfitting(max_gap=0.05, metrics=("citation_hitrate",)),
    )
    with pytest.raises(ValueError, match=r"overfitting names unknown metrics: citation_hitrate"):
        check_names(typo, compute_metrics([]))
    with pytest.raises(ValidationError, match=r"heldot"):
        Thresholds.model_validate({"metrics": {}, "heldot": {}})


# Baselines


def test_a_baseline_from_before_the_held_out_split_is_the_golden_baseline(tmp_path: Path) -> None:
    old = tmp_path / "baseline.json"
    old.write_text(
        json.dumps(
            {
                "target": "in process, embedded model",
                "metrics": {"citation_hit_rate": 0.75, "error_count": 0.0},
                "cases": {"a": {"passed": True, "outcome": "answered"}},
            }
        )
    )

    baseline = load_baseline(old)

    assert list(baseline) == ["golden"]
    assert baseline["golden"].metrics == {"citation_hit_rate": 0.75, "error_count": 0.0}
    assert baseline["golden"].passed_cases() == {"a"}
    bounds = Thresholds(metrics={"citation_hit_rate": Bound(min=0.5, tolerance=0.02)})
    metrics: dict[Split, Metrics] = {
        "golden": _metrics(citation_hit_rate=0.7),
        "heldout": _metrics(citation_hit_rate=0.7),
    }
    result = judge_splits(metrics, bounds, baseline)
    assert result.failures() == [
        "golden: citation_hit_rate regressed from baseline 0.75 to 0.7 (tolerance 0.02)"
    ], "held-out has no baseline yet: only its bounds apply"


def test_a_missing_baseline_is_empty(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "none.json") == {}


def test_the_baseline_keeps_both_splits_and_a_split_that_did_not_run(tmp_path: Path) -> None:
    run = run_cases(
        [_answerable("a", "D1"), _answerable("b", "D2")],
        _Scripted(
            {
                "Question a?": ("answered", ["D1"], ["D1"]),
                "Question b?": ("abstained", [], []),
            },
            description="in process (offline, this checkout)",
        ),
    )
    previous: Baseline = {
        "heldout": SplitBaseline({"citation_hit_rate": 0.6}, {"ho-x": {"passed": True}})
    }

    written = baseline_of({"golden": run}, previous)

    assert written["target"] == "in process, embedded model"
    assert list(written["splits"]) == ["golden", "heldout"]
    golden = written["splits"]["golden"]
    assert golden["cases"] == {
        "a": {"passed": True, "outcome": "answered"},
        "b": {"passed": False, "outcome": "abstained"},
    }
    assert "latency_p95_ms" not in golden["metrics"], "machine-dependent figures stay out"
    assert "injection_refusal_rate" not in golden["metrics"], "not measured: not a baseline"
    assert golden["metrics"]["retrieval_recall_at_k"] == 0.5
    assert written["splits"]["heldout"] == {
        "metrics": {"citation_hit_rate": 0.6},
        "cases": {"ho-x": {"passed": True}},
    }
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(written))
    assert load_baseline(path)["heldout"].metrics == {"citation_hit_rate": 0.6}


# The report


def _two_splits(*, sees_retrieval: bool) -> dict[Split, EvalRun]:
    def retrieved(*ids: str) -> list[str] | None:
        return list(ids) if sees_retrieval else None

    golden = run_cases(
        [_answerable("a", "D1"), _answerable("b", "D2")],
        _Scripted(
            {
                "Question a?": ("answered", ["D1"], retrieved("D1")),
                "Question b?": ("answered", ["D2"], retrieved("D2")),
            }
        ),
        name="golden",
    )
    heldout = run_cases(
        [_answerable("ho-a", "D1"), _answerable("ho-b", "D2")],
        _Scripted(
            {
                "Question ho-a?": ("answered", ["D1"], retrieved("D3", "D1")),
                "Question ho-b?": ("abstained", [], retrieved("D3")),
            }
        ),
        name="heldout",
    )
    return {"golden": golden, "heldout": heldout}


THRESHOLDS = Thresholds(
    metrics={"citation_hit_rate": Bound(min=0.4, tolerance=0.02)},
    overfitting=Overfitting(max_gap=0.05, metrics=("citation_hit_rate",)),
)


def test_the_report_shows_both_splits_the_gap_and_the_failing_cases_per_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runs = _two_splits(sees_retrieval=True)
    baseline: Baseline = {
        "heldout": SplitBaseline({}, {"ho-b": {"passed": True, "outcome": "answered"}})
    }
    result = judge_splits(
        {split: run.metrics for split, run in runs.items()},
        THRESHOLDS,
        baseline,
    )

    summary = as_markdown(runs, result, baseline)

    assert "## Eval gate FAILED" in summary
    assert "2 golden, 2 held-out cases" in summary
    assert "| Metric | Golden | Held-out | Gap | Threshold | Baseline | Delta | Status |" in summary
    assert "| citation_hit_rate | 1 | 0.5 | +0.5 | >= 0.4 | - | - | **FAIL (gap)** |" in summary
    assert "| retrieval_recall_at_k | 1 | 0.5 | +0.5 | - | - | - | - |" in summary
    assert "| retrieval_mrr | 1 | 0.25 | +0.75 | - | - | - | - |" in summary
    assert "overfitting: citation_hit_rate is 0.5 better on the golden split" in summary
    assert "Held-out: passed in the baseline, failing now: ho-b" in summary
    assert "Held-out: 1 case(s) did not fully pass" in summary
    assert (
        "- `ho-b` (answerable): expected answered, got abstained; did not cite D2 (not retrieved)"
        in summary
    )
    assert "Golden: " not in summary.split("### Why it failed")[1], "golden passed every case"
    assert "injection_refusal_rate (no case of the split counts in it)" in summary

    report = as_json(runs, result, baseline)
    assert report["passed"] is False
    assert report["case_count"] == 4
    assert list(report["splits"]) == ["golden", "heldout"]
    heldout = report["splits"]["heldout"]
    assert heldout["metrics"]["citation_hit_rate"] == 0.5
    assert heldout["metrics"]["injection_refusal_rate"] is None
    assert heldout["passed"] is True, "held-out meets its bounds; the gap is what failed"
    assert [case["id"] for case in heldout["failing_cases"]] == ["ho-b"]
    assert heldout["regressed_cases"] == ["ho-b"]
    assert report["splits"]["golden"]["failing_cases"] == []
    (gap,) = [gap for gap in report["gaps"] if gap["metric"] == "citation_hit_rate"]
    assert gap == {
        "metric": "citation_hit_rate",
        "golden": 1.0,
        "heldout": 0.5,
        "gap": 0.5,
        "max_gap": 0.05,
        "passed": False,
        "failures": [gap["failures"][0]],
    }

    print_report(runs, result, baseline)
    output = capsys.readouterr().out
    assert "held-out" in output
    assert "FAIL (gap)" in output
    assert "Held-out: 1 case(s) did not fully pass" in output
    assert "Eval gate FAILED" in output


def test_the_report_says_when_retrieval_was_not_measured() -> None:
    runs = _two_splits(sees_retrieval=False)
    result = judge_splits(
        {split: run.metrics for split, run in runs.items()},
        THRESHOLDS,
        {},
    )

    summary = as_markdown(runs, result, {})

    assert "| retrieval_recall_at_k | n/a | n/a | n/a | - | - | - | n/a |" in summary
    assert "retrieval_recall_at_k, retrieval_mrr" in summary
    assert "does not expose the documents it retrieved" in summary
    report = as_json(runs, result, {})
    golden = report["splits"]["golden"]
    assert golden["metrics"]["retrieval_mrr"] is None
    assert "does not expose" in golden["not_measured"]["retrieval_mrr"]
    (verdict,) = [v for v in golden["verdicts"] if v["metric"] == "retrieval_mrr"]
    assert verdict["status"] == "n/a"
