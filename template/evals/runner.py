"""Run a split's cases through pydantic-evals against a target and collect case results."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic_evals import Case, Dataset

from .cases import EvalCase
from .checks import SliceChecks
from .metrics import CaseResult, Metrics, compute_metrics
from .targets import Observation, Target


@dataclass(frozen=True)
class EvalRun:
    target: str
    results: list[CaseResult]
    metrics: Metrics
    wall_seconds: float


def run_cases(
    cases: list[EvalCase], target: Target, *, concurrency: int = 1, name: str = "golden"
) -> EvalRun:
    """Evaluate every case of one split. A case whose request fails is an error, never a skip."""
    dataset = Dataset[str, Observation, EvalCase](
        name=name,
        cases=[Case(name=case.id, inputs=case.question, metadata=case) for case in cases],
        evaluators=[SliceChecks()],
    )

    async def ask(question: str) -> Observation:
        return target.ask(question)

    started = time.perf_counter()
    report = dataset.evaluate_sync(ask, max_concurrency=concurrency, progress=False)
    wall_seconds = time.perf_counter() - started

    by_id = {case.id: case for case in cases}
    results = []
    for reported in report.cases:
        scores: dict[str, float] = {
            name: float(result.value) for name, result in reported.scores.items()
        }
        scores.update({name: float(result.value) for name, result in reported.assertions.items()})
        error = None
        if reported.evaluator_failures:
            error = "; ".join(failure.error_message for failure in reported.evaluator_failures)
        results.append(CaseResult(by_id[reported.name], reported.output, scores, error))
    results += [
        CaseResult(by_id[failure.name], None, {}, failure.error_message)
        for failure in report.failures
    ]
    order = {case.id: position for position, case in enumerate(cases)}
    results.sort(key=lambda result: order[result.case.id])
    return EvalRun(target.description, results, compute_metrics(results), wall_seconds)
