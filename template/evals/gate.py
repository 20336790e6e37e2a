"""The gate: thresholds and baseline comparison. pydantic-evals has no pass/fail; this is ours."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.yaml")
BASELINE_FILE = Path(__file__).with_name("baseline.json")


class Bound(BaseModel):
    """`min` for higher-is-better metrics, `max` for lower-is-better; `tolerance` against baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None
    tolerance: float | None = None

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


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, Bound]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: Bound.model_validate(spec) for name, spec in raw["metrics"].items()}


def load_baseline(path: Path = BASELINE_FILE) -> dict[str, Any]:
    if not path.exists():
        return {"metrics": {}, "cases": {}}
    baseline: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return baseline


@dataclass
class MetricVerdict:
    name: str
    value: float
    bound: Bound
    baseline: float | None
    failures: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        return None if self.baseline is None else round(self.value - self.baseline, 4)

    @property
    def passed(self) -> bool:
        return not self.failures


def judge(
    metrics: dict[str, float], thresholds: dict[str, Bound], baseline: dict[str, float]
) -> list[MetricVerdict]:
    """One verdict per gated metric: below its bound, or regressed past tolerance, fails."""
    unknown = sorted(set(thresholds) - set(metrics))
    if unknown:
        raise ValueError(f"thresholds.yaml names unknown metrics: {', '.join(unknown)}")
    verdicts = []
    for name, bound in thresholds.items():
        value = metrics[name]
        verdict = MetricVerdict(name, value, bound, baseline.get(name))
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
        verdicts.append(verdict)
    return verdicts
