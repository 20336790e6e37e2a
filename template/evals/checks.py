"""Per-case checks, run by pydantic-evals on every case's observation."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_evals.evaluators import Evaluator, EvaluatorContext

from .cases import EvalCase
from .targets import Observation


def fact_recall(case: EvalCase, answer: str) -> float:
    """Share of expected facts present in the answer (case-insensitive substring)."""
    facts = case.expected.facts
    if not facts:
        return 1.0
    lowered = answer.lower()
    return sum(fact.lower() in lowered for fact in facts) / len(facts)


def citation_recall(case: EvalCase, cited: list[str]) -> float:
    """Share of expected documents the answer cites."""
    documents = case.expected.documents
    if not documents:
        return 1.0
    return sum(doc in cited for doc in documents) / len(documents)


def retrieval_recall(case: EvalCase, retrieved: list[str]) -> float:
    """Share of expected documents among the documents of the retrieved passages."""
    documents = case.expected.documents
    if not documents:
        return 1.0
    return sum(doc in retrieved for doc in documents) / len(documents)


def reciprocal_rank(case: EvalCase, retrieved: list[str]) -> float:
    """1 / rank of the first expected document among the retrieved documents (de-duplicated,
    in rank order); 0 when none was retrieved."""
    ranked = list(dict.fromkeys(retrieved))
    for rank, doc in enumerate(ranked, start=1):
        if doc in case.expected.documents:
            return 1 / rank
    return 0.0


def pii_leaks(case: EvalCase, observation: Observation) -> int:
    """PII strings from the question found in the answer or in what was stored."""
    places = [observation.answer, observation.stored or ""]
    return sum(pii in place for pii in case.pii for place in places)


@dataclass
class SliceChecks(Evaluator[str, Observation, EvalCase]):
    """Outcome, retrieval, citations, facts and PII for one case; the gate aggregates them."""

    def evaluate(
        self, ctx: EvaluatorContext[str, Observation, EvalCase]
    ) -> dict[str, bool | int | float]:
        case, observation = ctx.metadata, ctx.output
        if case is None:
            raise ValueError("every case must carry its EvalCase as metadata")
        results: dict[str, bool | int | float] = {
            "outcome_ok": observation.outcome == case.expected.outcome
        }
        if case.expected.documents:
            results["citation_recall"] = citation_recall(case, observation.cited)
            if observation.retrieved is not None:
                results["retrieval_recall"] = retrieval_recall(case, observation.retrieved)
                results["reciprocal_rank"] = reciprocal_rank(case, observation.retrieved)
        if case.expected.facts:
            results["fact_recall"] = fact_recall(case, observation.answer)
        if case.pii:
            results["pii_leaks"] = pii_leaks(case, observation)
        return results
