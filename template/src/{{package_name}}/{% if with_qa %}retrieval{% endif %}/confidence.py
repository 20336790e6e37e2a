"""A calibrated retrieval confidence: the probability that the retrieved passages answer the
question, from two signals of the search.

- coverage: how much of the question (IDF-weighted) the best passage speaks to;
- similarity: the best passage's embedding similarity to the question.

A logistic model turns them into a probability, fitted on the golden (development) split of the
evals by `make calibrate`, which writes `data/confidence.yaml`: the weights are data the team
refits when its corpus or cases change, never tuned by hand against the held-out split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..yaml_files import load_yaml

# Used when no data/confidence.yaml exists: `make calibrate` on the template's sample corpus and
# golden split (90 answerable and 20 unanswerable cases).
DEFAULT_WEIGHTS = {"coverage": 2.826, "similarity": 8.876, "bias": -3.254}


class ConfidenceModelError(ValueError):
    """data/confidence.yaml is malformed; the message says how."""


@dataclass(frozen=True)
class ConfidenceModel:
    coverage: float = DEFAULT_WEIGHTS["coverage"]
    similarity: float = DEFAULT_WEIGHTS["similarity"]
    bias: float = DEFAULT_WEIGHTS["bias"]

    def probability(self, *, coverage: float, similarity: float) -> float:
        logit = self.coverage * coverage + self.similarity * similarity + self.bias
        return round(1 / (1 + math.exp(-logit)), 4)

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        """The fitted weights in `path`, or the defaults when it does not exist."""
        if not path.is_file():
            return cls()
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
        weights = raw.get("weights") if isinstance(raw, dict) else None
        if not isinstance(weights, dict) or set(weights) != set(DEFAULT_WEIGHTS):
            raise ConfidenceModelError(
                f"{path} must have `weights:` with exactly {', '.join(DEFAULT_WEIGHTS)}"
            )
        try:
            return cls(**{name: float(value) for name, value in weights.items()})
        except (TypeError, ValueError) as error:
            raise ConfidenceModelError(f"{path}: weights must be numbers ({error})") from error

    @classmethod
    def fit(cls, samples: list[tuple[float, float, bool]]) -> ConfidenceModel:
        """Logistic regression on (coverage, similarity, answerable) samples, by Newton's method
        with a little L2 regularisation so that separable data still converges."""
        if len({answerable for _, _, answerable in samples}) < 2:
            raise ValueError("fitting needs both answerable and unanswerable cases")
        features = np.array([[c, s, 1.0] for c, s, _ in samples])
        labels = np.array([float(answerable) for _, _, answerable in samples])
        weights = np.zeros(3)
        ridge = 1e-3 * np.eye(3)
        for _ in range(100):
            predicted = 1 / (1 + np.exp(-features @ weights))
            gradient = features.T @ (labels - predicted) - ridge @ weights
            hessian = features.T @ (features * (predicted * (1 - predicted))[:, None]) + ridge
            step = np.linalg.solve(hessian, gradient)
            weights += step
            if float(np.abs(step).max()) < 1e-8:
                break
        coverage, similarity, bias = (round(float(w), 3) for w in weights)
        return cls(coverage, similarity, bias)
