"""The gate: thresholds, baselines and the overfitting rule. pydantic-evals has no pass/fail;
this is ours.

Each split (golden, held-out) must meet the bounds in thresholds.yaml and is compared with its
own baseline. When both ran, the golden split must not beat the held-out one by more than
`overfitting.max_gap` on the metrics listed there: overfitting is a regression.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .cases import SPLIT_LABELS, SPLITS, Split
from .metrics import LOWER_IS_BETTER, Metrics

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
BASELINE_FILE = Path(__file__).with_name("baseline.json")


class Bound(BaseModel):
    """`min` for higher-is-better metrics, `max` for lower-is-better; `tolerance` against baseline.

    A metric the run could not measure (None) passes, unless `required`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None
    tolerance: float | None = None
    required: bool = False

    @model_validator(mode="after")
    def _one_direction(self) -> Bound:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of min or max")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.min is not None

    def describe(self) -> str:
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"


class Overfitting(BaseModel):
    """How much better than the held-out split the golden split may be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_gap: float = Field(ge=0)
    metrics: tuple[str, ...] = Field(min_length=1)


class Thresholds(BaseModel):
    """thresholds.yaml: one set of bounds, optionally replaced per metric for one split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: dict[str, Bound]
    overfitting: Overfitting | None = None
    golden: dict[str, Bound] = Field(default_factory=dict)
    heldout: dict[str, Bound] = Field(default_factory=dict)

    def bounds(self, split: Split) -> dict[str, Bound]:
        """The bounds a split must meet: `metrics`, with that split's entries replacing them."""
        return {**self.metrics, **(self.golden if split == "golden" else self.heldout)}


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    return Thresholds.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class SplitBaseline:
    """One split's accepted run: its metrics and every case's pass/fail."""

    metrics: dict[str, float] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SplitBaseline:
        metrics = {k: float(v) for k, v in raw.get("metrics", {}).items() if v is not None}
        return cls(metrics, dict(raw.get("cases", {})))

    def passed_cases(self) -> set[str]:
        return {case_id for case_id, entry in self.cases.items() if entry.get("passed")}


Baseline = dict[Split, SplitBaseline]


def load_baseline(path: Path = BASELINE_FILE) -> Baseline:
    """The baseline per split. A file from before the held-out split (one `metrics` and
    `cases`, no `splits`) is the golden split's baseline; the held-out split then has none."""
    if not path.exists():
        return {}
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if "splits" not in raw:
        return {"golden": SplitBaseline.from_json(raw)}
    return {
        split: SplitBaseline.from_json(raw["splits"][split])
        for split in SPLITS
        if split in raw["splits"]
    }


def _known(names: Iterable[str], metrics: Iterable[str], where: str) -> None:
    unknown = sorted(set(names) - set(metrics))
    if unknown:
        raise ValueError(f"{where} names unknown metrics: {', '.join(unknown)}")


def check_names(thresholds: Thresholds, metrics: Iterable[str]) -> None:
    """Every metric thresholds.yaml names exists: a typo must not quietly gate nothing."""
    known = set(metrics)
    for split in SPLITS:
        _known(thresholds.bounds(split), known, "thresholds.yaml")
    if thresholds.overfitting is not None:
        _known(thresholds.overfitting.metrics, known, "thresholds.yaml overfitting")


@dataclass
class MetricVerdict:
    """One metric of one split against its bound and baseline (no bound: reported only)."""

    name: str
    value: float | None
    bound: Bound | None
    baseline: float | None
    failures: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return round(self.value - self.baseline, 4)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def status(self) -> str:
        """pass, fail, n/a (not measured, not required) or not gated."""
        if self.failures:
            return "fail"
        if self.value is None:
            return "n/a"
        return "not gated" if self.bound is None else "pass"


def judge(
    metrics: Metrics, bounds: dict[str, Bound], baseline: dict[str, float]
) -> list[MetricVerdict]:
    """One verdict per metric: below its bound, or regressed past tolerance, fails."""
    _known(bounds, metrics, "thresholds.yaml")
    verdicts = []
    for name, value in metrics.items():
        bound = bounds.get(name)
        verdict = MetricVerdict(name, value, bound, baseline.get(name))
        verdicts.append(verdict)
        if bound is None:
            continue
        if value is None:
            if bound.required:
                verdict.failures.append(f"{name} is required but was not measured")
            continue
        if bound.min is not None and value < bound.min:
            verdict.failures.append(f"{name} {value:g} is below the threshold {bound.min:g}")
        if bound.max is not None and value > bound.max:
            verdict.failures.append(f"{name} {value:g} is above the threshold {bound.max:g}")
        if bound.tolerance is not None and verdict.baseline is not None:
            drop = (
                (verdict.baseline - value) if bound.higher_is_better else (value - verdict.baseline)
            )
            if drop > bound.tolerance + 1e-9:
                verdict.failures.append(
                    f"{name} regressed from baseline {verdict.baseline:g} to {value:g} "
                    f"(tolerance {bound.tolerance:g})"
                )
    return verdicts


@dataclass
class GapVerdict:
    """Golden minus held-out for one metric; `max_gap` is None when the rule does not cover it."""

    name: str
    golden: float | None
    heldout: float | None
    max_gap: float | None
    failures: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        if self.golden is None or self.heldout is None:
            return None
        return round(self.golden - self.heldout, 4)

    @property
    def passed(self) -> bool:
        return not self.failures


def judge_gaps(golden: Metrics, heldout: Metrics, rule: Overfitting | None) -> list[GapVerdict]:
    """The overfitting rule: golden better than held-out by more than max_gap fails.

    Held-out better than golden never fails; a metric either split did not measure is skipped.
    """
    listed = rule.metrics if rule else ()
    _known(listed, golden, "thresholds.yaml overfitting")
    verdicts = []
    for name in golden:
        max_gap = rule.max_gap if rule is not None and name in listed else None
        verdict = GapVerdict(name, golden[name], heldout.get(name), max_gap)
        verdicts.append(verdict)
        if max_gap is None or verdict.gap is None:
            continue
        golden_better_by = -verdict.gap if name in LOWER_IS_BETTER else verdict.gap
        if golden_better_by > max_gap + 1e-9:
            verdict.failures.append(
                f"{name} is {golden_better_by:g} better on the golden split ({verdict.golden:g}) "
                f"than on the held-out one ({verdict.heldout:g}); max_gap {max_gap:g}"
            )
    return verdicts


@dataclass
class GateResult:
    """Every verdict of a run: per split, and the gaps when both splits ran."""

    splits: dict[Split, list[MetricVerdict]]
    gaps: list[GapVerdict]

    @property
    def passed(self) -> bool:
        return all(v.passed for verdicts in self.splits.values() for v in verdicts) and all(
            g.passed for g in self.gaps
        )

    def failures(self) -> list[str]:
        """Every reason the gate failed, naming the split (or the overfitting rule)."""
        found = [
            f"{SPLIT_LABELS[split]}: {failure}"
            for split, verdicts in self.splits.items()
            for verdict in verdicts
            for failure in verdict.failures
        ]
        return found + [f"overfitting: {f}" for gap in self.gaps for f in gap.failures]


def judge_splits(
    metrics: dict[Split, Metrics], thresholds: Thresholds, baseline: Baseline
) -> GateResult:
    """Each split against its bounds and its own baseline, and the gap when both ran."""
    splits = {
        split: judge(values, thresholds.bounds(split), baseline.get(split, SplitBaseline()).metrics)
        for split, values in metrics.items()
    }
    gaps = []
    if "golden" in metrics and "heldout" in metrics:
        gaps = judge_gaps(metrics["golden"], metrics["heldout"], thresholds.overfitting)
    return GateResult(splits, gaps)
