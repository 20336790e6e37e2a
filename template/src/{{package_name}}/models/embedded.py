"""The embedded default model: extractive, deterministic and offline.

It answers by quoting the passage statements (list items, or sentences of longer paragraphs)
that best cover the question, each with its citation, so it is grounded by construction and needs no weights, GPU or network. It plugs into
pydantic-ai as a `FunctionModel`, so the offline path runs the same Agent code as real providers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from ..language import Lexicon
from ..language.embeddings import load_embedder
from .prompt import INSUFFICIENT_CONTEXT, parse_prompt

EMBEDDED_MODEL_NAME = "thinslice-extractive-v1"
MAX_SENTENCES = 4
MIN_SENTENCE_CHARS = 12
# A policy states one rule per list item, often in two sentences ("Report within 1 hour. Call
# ext. 4400."): quoting the whole item keeps the rule with its figures. Lines longer than this
# (prose paragraphs) are quoted sentence by sentence instead.
MAX_UNIT_CHARS = 280
# A further sentence must score at least this share of the best, so answers stay on point.
SECOND_SENTENCE_RATIO = 0.5
# ...or one that covers not-yet-covered question terms of at least this share of the question.
COMPLEMENT_SHARE = 0.25
# How much a sentence's embedding similarity to the question counts beside its term overlap.
SEMANTIC_WEIGHT = 0.5
FIGURE_BONUS = 0.2
# Below this support (term overlap + weighted similarity) no sentence answers the question.
MIN_SUPPORT = 0.3
_FIGURE = re.compile(r"\d")
_ASKS_FOR_FIGURE = re.compile(
    r"\b(how (many|much|long|soon|often|early|late|fast|far)|when|deadline|limit|minimum|maximum"
    r"|cost|price|amount|budget|allowance|percent|what time)\b",
    re.IGNORECASE,
)
# A sentence ends at . ! ? followed by a capitalised word, unless the dot ends an abbreviation
# ("ext. 4400", "e.g. Berlin"); line breaks (list items) always end one.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\bext\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bno\.)(?<!\bapprox\.)(?<!\bvs\.)"
    r"\s+(?=[A-Z\"'(])|\n+"
)


def _last_user_prompt(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        for part in getattr(message, "parts", []):
            if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                return part.content
    return ""


def extract_answer(prompt: str, lexicon: Lexicon | None = None) -> str:
    """Pick up to MAX_SENTENCES sentences that best answer the question, each with its citation,
    or INSUFFICIENT_CONTEXT when no sentence supports an answer (the generation stage's own
    abstain decision, made after retrieval's).

    A sentence scores the IDF-weighted share of the question terms it contains (terms found only
    in its section heading count half), plus its embedding similarity to the question (meaning,
    for questions worded unlike the policy), plus a bonus for concrete figures when the question
    asks for a quantity, a date or a limit.
    """
    lexicon = lexicon or Lexicon()
    question, passages = parse_prompt(prompt)
    # The same analysis retrieval made of this question (memoised: not computed twice).
    analysis = lexicon.analyse(question)
    question, wanted = analysis.text, analysis.terms
    if not wanted or not passages:
        return INSUFFICIENT_CONTEXT
    sentences: list[tuple[int, str, frozenset[str], frozenset[str], str]] = []
    for rank, passage in enumerate(passages):
        context = lexicon.terms(passage.section)
        for sentence in _statements(passage.text):
            if len(sentence) >= MIN_SENTENCE_CHARS:
                sentences.append((rank, sentence, lexicon.terms(sentence), context, passage.doc_id))
    if not sentences:
        return INSUFFICIENT_CONTEXT
    embedder = load_embedder()
    similarity = embedder.embed([s for _, s, _, _, _ in sentences]) @ embedder.embed([question])[0]
    asks_for_figure = bool(_ASKS_FOR_FIGURE.search(question))
    weight = _idf(wanted, [sentence_terms for _, _, sentence_terms, _, _ in sentences])
    total = sum(weight.values())
    scored = []
    for (rank, sentence, sentence_terms, context, doc_id), meaning in zip(
        sentences, similarity, strict=True
    ):
        direct = wanted & sentence_terms
        heading_only = (wanted & context) - direct
        lexical = (
            sum(weight[t] for t in direct) + 0.5 * sum(weight[t] for t in heading_only)
        ) / total
        support = lexical + SEMANTIC_WEIGHT * max(0.0, float(meaning))
        score = support + (FIGURE_BONUS if asks_for_figure and _FIGURE.search(sentence) else 0.0)
        # Better-ranked passages win ties.
        scored.append(_Candidate(score - rank * 0.01, support, rank, sentence, doc_id, direct))
    scored.sort(key=lambda candidate: -candidate.score)
    best = scored[0]
    if best.support < MIN_SUPPORT:
        return INSUFFICIENT_CONTEXT
    chosen, covered = [best], set(best.matched)
    for candidate in scored[1:]:
        if len(chosen) == MAX_SENTENCES:
            break
        # Take a runner-up that is nearly as relevant, or one that covers question terms the
        # answer still lacks (questions that span two sections or documents).
        missing = candidate.matched - covered
        if candidate.score >= best.score * SECOND_SENTENCE_RATIO or (
            sum(weight[t] for t in missing) / total >= COMPLEMENT_SHARE
        ):
            chosen.append(candidate)
            covered |= candidate.matched
    chosen.sort(key=lambda candidate: candidate.rank)
    return " ".join(f"{_as_sentence(c.sentence)} [{c.doc_id}]" for c in chosen)


@dataclass(frozen=True)
class _Candidate:
    score: float
    support: float
    rank: int
    sentence: str
    doc_id: str
    matched: frozenset[str]


def _statements(text: str) -> list[str]:
    """The quotable units of a passage: each line (a list item or a short paragraph), split into
    sentences only when longer than MAX_UNIT_CHARS."""
    units = []
    for line in text.splitlines():
        line = line.strip()
        parts = _SENTENCE_END.split(line) if len(line) > MAX_UNIT_CHARS else [line]
        units += [part.strip() for part in parts]
    return units


def _idf(wanted: frozenset[str], documents: list[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency of each wanted term over the candidate sentences."""
    total = len(documents) + 1
    return {
        term: math.log(1 + total / (1 + sum(term in doc for doc in documents))) for term in wanted
    }


def _as_sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def embedded_model(lexicon: Lexicon | None = None) -> FunctionModel:
    """The embedded model as a pydantic-ai model; give it the lexicon retrieval uses."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(extract_answer(_last_user_prompt(messages), lexicon))])

    return FunctionModel(respond, model_name=EMBEDDED_MODEL_NAME)
