"""Input/output drift: a population stability index (PSI) of recent traffic vs a reference.

Recent = the latest RECENT_ROWS requests; reference = the REFERENCE_ROWS before them. Features:
question length, retrieval confidence, and whether the service abstained. PSI < 0.1 is
stable, 0.1-0.25 worth a look, > 0.25 a real shift (the DriftDetected alert). With too little
traffic for a fair comparison the score is None (and the metric is not exported).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .ledger import Ledger
from .ledger.reports import RequestFeatures, latest_requests

RECENT_ROWS = 200
REFERENCE_ROWS = 1000
MIN_ROWS = 50
EPSILON = 1e-4

QUESTION_LENGTH_EDGES = (0, 20, 40, 80, 160, 320, math.inf)
CONFIDENCE_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, math.inf)
FEATURES = ("question_length", "retrieval_confidence", "abstain_rate")


def _shares(values: Sequence[float], edges: Sequence[float]) -> list[float]:
    counts = [0] * (len(edges) - 1)
    for value in values:
        for index in range(len(edges) - 1):
            if edges[index] <= value < edges[index + 1]:
                counts[index] += 1
                break
    total = max(len(values), 1)
    return [max(count / total, EPSILON) for count in counts]


def psi(reference: Sequence[float], recent: Sequence[float], edges: Sequence[float]) -> float:
    """Population stability index of two samples over fixed bins (smoothed, never infinite)."""
    expected, actual = _shares(reference, edges), _shares(recent, edges)
    return round(sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True)), 4)


def drift_scores(ledger: Ledger) -> dict[str, float | None]:
    """PSI per feature, or None per feature when there is not enough traffic yet."""
    rows = latest_requests(ledger, RECENT_ROWS + REFERENCE_ROWS)
    recent, reference = rows[:RECENT_ROWS], rows[RECENT_ROWS:]
    if len(recent) < MIN_ROWS or len(reference) < MIN_ROWS:
        return dict.fromkeys(FEATURES)

    def confidences(sample: list[RequestFeatures]) -> list[float]:
        return [row.confidence for row in sample if row.confidence is not None]

    def abstained(sample: list[RequestFeatures]) -> list[float]:
        return [1.0 if row.outcome == "abstained" else 0.0 for row in sample]

    return {
        "question_length": psi(
            [row.question_chars for row in reference],
            [row.question_chars for row in recent],
            QUESTION_LENGTH_EDGES,
        ),
        "retrieval_confidence": psi(confidences(reference), confidences(recent), CONFIDENCE_EDGES),
        "abstain_rate": psi(abstained(reference), abstained(recent), (0.0, 0.5, math.inf)),
    }
