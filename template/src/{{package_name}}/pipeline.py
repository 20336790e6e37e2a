"""The thin slice itself: guard -> retrieve -> generate -> guard -> record.

Every request ends in exactly one ledger row, whatever happens: answered, abstained, refused,
or failed because the provider did. Only the redacted question goes past the first guard.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry import trace
from starlette.concurrency import run_in_threadpool

from .guardrails import detect_injection, redact_pii
from .guardrails.pii import PLACEHOLDER
from .ledger import Ledger, RequestRecord
from .models import Generator, ProviderError
from .models.prompt import INSUFFICIENT_CONTEXT, PromptPassage, cited_ids
from .retrieval import Hit, Index
from .settings import Settings

Outcome = Literal["answered", "abstained", "refused"]

REFUSAL = (
    "I can't help with that request: it looks like an attempt to change my instructions. "
    "Ask a question about the documents instead."
)
ABSTENTION = (
    "I don't have enough information in the governed documents to answer that reliably. "
    "Please rephrase, or contact the owning team."
)
SNIPPET_CHARS = 280

tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    snippet: str


@dataclass(frozen=True)
class AskResult:
    request_id: str
    trace_id: str
    outcome: Outcome
    answer: str
    citations: list[Citation] = field(default_factory=list)


class AskFailedError(Exception):
    """The model provider failed; carries the ids so the caller can still quote them."""

    def __init__(self, error: ProviderError, request_id: str, trace_id: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.request_id = request_id
        self.trace_id = trace_id


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"


def _citations(answer: str, hits: list[Hit]) -> list[Citation]:
    """Citations the answer makes to passages that were actually retrieved; others are dropped."""
    first_hit: dict[str, Hit] = {}
    for hit in hits:
        first_hit.setdefault(hit.doc_id, hit)
    return [
        Citation(doc_id, first_hit[doc_id].title, _snippet(first_hit[doc_id].text))
        for doc_id in cited_ids(answer)
        if doc_id in first_hit
    ]


class AskPipeline:
    def __init__(
        self, settings: Settings, index: Index, generator: Generator, ledger: Ledger
    ) -> None:
        self.settings = settings
        self.index = index
        self.generator = generator
        self.ledger = ledger

    async def ask(self, question: str, caller: str) -> AskResult:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        with tracer.start_as_current_span("ask") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            record = {
                "request_id": request_id,
                "caller": caller,
                "provider": self.settings.model_provider,
                "model": self.generator.model.model_name,
                "question_chars": len(question),
                "trace_id": trace_id,
            }

            async def finish(result: AskResult, **fields: object) -> AskResult:
                latency_ms = (time.perf_counter() - started) * 1000
                await run_in_threadpool(
                    self.ledger.record_request,
                    RequestRecord(**record, **fields, latency_ms=latency_ms),  # type: ignore[arg-type]
                )
                return result

            # Input guard: refuse injections before anything else sees the text.
            rule = detect_injection(question)
            if rule is not None:
                span.set_attribute("guardrail.rule", rule)
                refused = AskResult(request_id, trace_id, "refused", REFUSAL)
                return await finish(refused, outcome="refused", guardrail=rule)

            redaction = redact_pii(question)
            record["pii_redactions"] = redaction.total

            # Retrieve from the current snapshot; abstain when nothing covers the question.
            # Placeholders stay out of the search: "[EMAIL]" must not dilute the coverage score.
            search = await run_in_threadpool(
                self.index.search,
                PLACEHOLDER.sub(" ", redaction.text),
                self.settings.retrieval_top_k,
            )
            record["snapshot_id"] = search.snapshot_id
            record["retrieval_confidence"] = search.confidence
            if search.confidence < self.settings.abstain_threshold:
                abstained = AskResult(request_id, trace_id, "abstained", ABSTENTION)
                return await finish(abstained, outcome="abstained", guardrail="low_confidence")

            passages = [PromptPassage(h.doc_id, h.title, h.heading, h.text) for h in search.hits]
            try:
                generation = await self.generator.generate(redaction.text, passages)
            except ProviderError as error:
                await finish(
                    AskResult(request_id, trace_id, "abstained", ""),
                    outcome="failed",
                    error_code=error.code,
                )
                raise AskFailedError(error, request_id, trace_id) from error
            tokens = {
                "input_tokens": generation.input_tokens,
                "output_tokens": generation.output_tokens,
            }

            # Output guard: no PII out, and an answer must cite what was retrieved.
            answer = redact_pii(generation.text).text
            citations = _citations(answer, search.hits)
            if INSUFFICIENT_CONTEXT in answer or not citations:
                abstained = AskResult(request_id, trace_id, "abstained", ABSTENTION)
                return await finish(
                    abstained, outcome="abstained", guardrail="no_citation", **tokens
                )
            answered = AskResult(request_id, trace_id, "answered", answer, citations)
            return await finish(
                answered,
                outcome="answered",
                cited_doc_ids=",".join(c.doc_id for c in citations),
                **tokens,
            )
