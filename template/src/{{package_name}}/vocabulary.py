"""The service's shared vocabulary, defined once: what became of a request, and what a latency
percentile is. The pipeline, API, ledger, metrics, dashboard, evals and scripts all use these,
so a new outcome or a different percentile cannot mean one thing on the dashboard and another
in the eval gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from fractions import Fraction
from typing import Literal


class Outcome(StrEnum):
    """What became of one `/v1/ask` request: its ledger row's `outcome` and the label of
    `ask_requests_total`."""

    ANSWERED = "answered"
    """Answered from the governed documents, with citations."""
    ABSTAINED = "abstained"
    """The documents do not answer it (retrieval or generation said so)."""
    REFUSED = "refused"
    """A guardrail refused the question (e.g. prompt injection)."""
    FAILED = "failed"
    """The service could not answer (provider, index or ledger failure): a 5xx."""
    LIMITED = "limited"
    """Refused by a cost or abuse limit before the model was called: a 429."""


AnswerOutcome = Literal["answered", "abstained", "refused"]
"""The outcomes an answer body can carry (the others are error responses)."""


def percentile(values: Sequence[float], percent: float) -> float | None:
    """The percentile by linear interpolation between closest ranks (numpy's default).

    None for no values. E.g. the p50 of 10, 20, 30, 40 is 25 and their p95 is 38.5.
    """
    if not values:
        return None
    ordered = sorted(values)
    # The rank as an exact fraction: 11 * 95 / 100 is 10.45, not 10.449999999999999.
    rank = Fraction(len(ordered) - 1) * Fraction(percent) / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * float(rank - low)
