"""The thin slice itself: guard -> retrieve -> generate -> guard -> record.

Every request ends in exactly one ledger row, whatever happens: answered, abstained, refused,
limited (a cost or abuse limit refused it, 429: see limits/), or failed (provider error, index
not ready, or a bug; `error_code` says which). Only the redacted question goes past the first
guard. Order: auth (api/auth.py) -> limits -> guards -> retrieval -> model -> guards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import Span

from .costs import PriceTable
from .guardrails import detect_injection, redact_pii
from .ledger import Ledger, RequestRecord
from .lifecycle import RequestLifecycle
from .limits import Limits
from .models import Generation, Generator
from .models.prompt import INSUFFICIENT_CONTEXT, PromptPassage, cited_ids
from .retrieval import Hit, ServedIndex
from .settings import Settings
from .shutdown import Shutdown
from .telemetry import Metrics
from .vocabulary import AnswerOutcome

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
    outcome: AnswerOutcome
    answer: str
    citations: list[Citation] = field(default_factory=list)


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
        self,
        settings: Settings,
        index: ServedIndex,
        generator: Generator,
        ledger: Ledger,
        *,
        metrics: Metrics,
        prices: PriceTable | None = None,
        shutdown: Shutdown | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.generator = generator
        self.metrics = metrics
        self.lifecycle = RequestLifecycle(
            settings,
            ledger,
            metrics=metrics,
            requests=metrics.ask_requests,
            prices=prices,
            shutdown=shutdown,
            limits=limits,
        )

    async def ask(self, question: str, caller: str, *, request_id: str | None = None) -> AskResult:
        """Run the slice. Exactly one ledger row is written, whatever happens, before the
        caller hears the result (lifecycle.py); failures raise RequestFailedError.
        `request_id` is the id the HTTP layer gave the request (a new one when not given)."""
        with tracer.start_as_current_span("ask") as span:
            record = RequestRecord(
                request_id=request_id or uuid.uuid4().hex,
                caller=caller,
                provider=self.settings.model_provider,
                model=self.generator.model.model_name,
                question_chars=len(question),
                snapshot_id=self.index.snapshot_id,
                trace_id=format(span.get_span_context().trace_id, "032x"),
            )
            return await self.lifecycle.run(record, span, lambda: self._run(question, record, span))

    async def _run(self, question: str, record: RequestRecord, span: Span) -> AskResult:
        def result(
            outcome: AnswerOutcome, answer: str, citations: list[Citation] | None = None
        ) -> AskResult:
            record.outcome = outcome
            return AskResult(
                record.request_id, record.trace_id or "", outcome, answer, citations or []
            )

        # Cost and abuse limits first (after auth): a caller over its quota, or a day whose
        # budget is spent, is refused (429) before the guards or the model see the question.
        await self.lifecycle.check_limits(record.caller)

        # Input guard: refuse injections before anything else sees the text, then redact PII.
        with tracer.start_as_current_span("guardrails.input") as guard_span:
            rule = detect_injection(question)
            if rule is not None:
                guard_span.set_attribute("app.guardrail", rule)
                record.guardrail = rule
                return result("refused", REFUSAL)
            redaction = redact_pii(question)
            record.pii_redactions = redaction.total
            guard_span.set_attribute("app.pii_redactions", redaction.total)
            for kind, count in redaction.counts.items():
                self.metrics.guardrail_triggers.labels(f"pii_{kind.lower()}").inc(count)

        # Retrieve from the current snapshot; abstain when nothing covers the question.
        # The index analyses the question with the service's lexicon (placeholders dropped,
        # synonyms rewritten to the corpus wording), once: the embedded model reuses it.
        with tracer.start_as_current_span("retrieval.search") as search_span:
            # Inline, not in a worker thread: a search of the replica's local file is about a
            # millisecond of CPU, less than the hop to a thread and back.
            search = self.index.search(redaction.text, self.settings.retrieval_top_k)
            search_span.set_attribute("app.index.snapshot_id", search.snapshot_id)
            search_span.set_attribute("app.retrieval.hits", len(search.hits))
            search_span.set_attribute("app.retrieval.confidence", search.confidence)
        record.snapshot_id = search.snapshot_id
        record.retrieval_confidence = search.confidence
        record.question = redaction.text
        record.retrieved_doc_ids = ",".join(hit.doc_id for hit in search.hits)
        if search.confidence < self.settings.abstain_threshold:
            record.guardrail = "low_confidence"
            return result("abstained", ABSTENTION)

        passages = [PromptPassage(h.doc_id, h.title, h.heading, h.text) for h in search.hits]
        generation = await self._generate(redaction.text, passages, record)

        # Output guard: no PII out, and an answer must cite what was retrieved.
        with tracer.start_as_current_span("guardrails.output"):
            answer = redact_pii(generation.text).text
            citations = _citations(answer, search.hits)
        if INSUFFICIENT_CONTEXT in answer or not citations:
            record.guardrail = "no_citation"
            return result("abstained", ABSTENTION)
        record.cited_doc_ids = ",".join(citation.doc_id for citation in citations)
        return result("answered", answer, citations)

    async def _generate(
        self, question: str, passages: list[PromptPassage], record: RequestRecord
    ) -> Generation:
        return await self.lifecycle.call_model(
            record, lambda: self.generator.generate(question, passages), prompt=question
        )
