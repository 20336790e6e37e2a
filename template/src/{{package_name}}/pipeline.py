"""The thin slice itself: guard -> retrieve -> generate -> guard -> record.

Every request ends in exactly one ledger row, whatever happens: answered, abstained, refused,
limited (a cost or abuse limit refused it, 429: see limits/), or failed (provider error, index
not ready, or a bug; `error_code` says which). Only the redacted question goes past the first
guard. Order: auth (api/auth.py) -> limits -> guards -> retrieval -> model -> guards.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import Span
from starlette.concurrency import run_in_threadpool

from .costs import PriceTable
from .guardrails import detect_injection, redact_pii
from .ledger import Ledger, LedgerUnavailableError, RequestRecord
from .limits import LimitExceededError, Limits
from .models import Generation, Generator, ProviderError
from .models.prompt import INSUFFICIENT_CONTEXT, PromptPassage, cited_ids
from .retrieval import Hit, IndexNotReadyError, ServedIndex
from .settings import Settings
from .shutdown import Shutdown, ShuttingDownError
from .telemetry import Metrics
from .telemetry.genai import model_call_span, record_content, record_response
from .vocabulary import AnswerOutcome, Outcome

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
logger = logging.getLogger(__name__)


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


class AskFailedError(Exception):
    """The request could not be answered (provider failure, index not ready, shutting down,
    or its ledger row could not be written).

    Carries the stable error code (the API maps it to an HTTP status) and the ids, so the
    caller can quote the recorded request.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        request_id: str,
        trace_id: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message
        self.request_id, self.trace_id, self.retry_after = request_id, trace_id, retry_after


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
        self.limits = limits
        self.shutdown = shutdown or Shutdown(settings.shutdown_grace_seconds)
        self.metrics = metrics
        self.prices = prices or PriceTable([])
        self.settings = settings
        self.index = index
        self.generator = generator
        self.ledger = ledger

    async def ask(self, question: str, caller: str, *, request_id: str | None = None) -> AskResult:
        """Run the slice. Exactly one ledger row is written, whatever happens, before the
        caller hears the result: an answer is never sent for a request that is not recorded.
        `request_id` is the id the HTTP layer gave the request (a new one when not given)."""
        started = time.perf_counter()
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
            try:
                result = await self._run(question, record, span)
            except (
                LimitExceededError,
                ProviderError,
                ShuttingDownError,
                IndexNotReadyError,
            ) as error:
                failure = self._failure(error, record)
                await self._finish(record, span, started)
                raise failure from error
            except BaseException as error:
                # A bug is an internal error; a cancelled request (client gone) is not, but it
                # still gets its row.
                if isinstance(error, Exception):
                    record.error_code = "internal_error"
                await self._finish(record, span, started)
                raise
            await self._finish(record, span, started)
            return result

    @staticmethod
    def _failure(error: Exception, record: RequestRecord) -> AskFailedError:
        """The failure of a request that could not be served, with its ledger error code."""
        retry_after = None
        if isinstance(error, LimitExceededError):
            # Refused by a cost or abuse limit before the model: recorded, costs nothing.
            record.outcome, record.cost_usd = Outcome.LIMITED, 0.0
            code, message = str(error.code), error.reason
            retry_after = error.retry_after
        elif isinstance(error, ProviderError):
            code, message = error.code, error.message
            retry_after = error.retry_after
        elif isinstance(error, ShuttingDownError):
            code, message, retry_after = "shutting_down", str(error), 1.0
        else:
            code, message = "index_not_ready", str(error)
        record.error_code = code
        return AskFailedError(
            code,
            message,
            request_id=record.request_id,
            trace_id=record.trace_id or "",
            retry_after=retry_after,
        )

    async def _finish(self, record: RequestRecord, span: Span, started: float) -> None:
        """Write the ledger row, then count the request. A row that cannot be written turns the
        request into a 503 (logged with its id) and is counted as failed, never as a success."""
        record.latency_ms = (time.perf_counter() - started) * 1000
        span.set_attribute("app.outcome", record.outcome)
        try:
            with tracer.start_as_current_span("ledger.write"):
                await run_in_threadpool(self.ledger.record_request, record)
        except LedgerUnavailableError as error:
            if self.limits is not None:
                self.limits.add_spend(record.caller, record.cost_usd)  # spent all the same
            logger.error(
                "request %s not recorded (outcome %s, error %s): %s",
                record.request_id,
                record.outcome,
                record.error_code,
                error,
            )
            span.set_attribute("error.type", "ledger_unavailable")
            self.metrics.ask_requests.labels(Outcome.FAILED).inc()
            self.metrics.ledger_write_failures.inc()
            raise AskFailedError(
                "ledger_unavailable",
                f"{error}; the request was not served, retry shortly",
                request_id=record.request_id,
                trace_id=record.trace_id or "",
                retry_after=1,
            ) from error
        if self.limits is not None:
            # Counted at once on this replica; other replicas see it at their next ledger read.
            self.limits.add_spend(record.caller, record.cost_usd)
        self._count(record)

    def _count(self, record: RequestRecord) -> None:
        """Prometheus counters for one recorded request (low-cardinality labels only)."""
        self.metrics.ask_requests.labels(record.outcome).inc()
        if record.guardrail:
            self.metrics.guardrail_triggers.labels(record.guardrail).inc()

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
        if self.limits is not None:
            with tracer.start_as_current_span("limits.check"):
                await self.limits.check(record.caller)

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
        """The model call: a GenAI span, token and cost accounting, latency metric."""
        provider = self.settings.model_provider
        with model_call_span(provider, record.model) as span:
            started = time.perf_counter()
            try:
                async with self.shutdown.bounded():
                    generation = await self.generator.generate(question, passages)
            finally:
                self.metrics.llm_duration.labels(provider, record.model).observe(
                    time.perf_counter() - started
                )
            cost = self.prices.cost(
                provider, record.model, generation.input_tokens, generation.output_tokens
            )
            record.input_tokens = generation.input_tokens
            record.output_tokens = generation.output_tokens
            record.cost_usd = cost.usd
            record_response(
                span,
                response_model=generation.model_name,
                input_tokens=generation.input_tokens,
                output_tokens=generation.output_tokens,
                finish_reason=generation.finish_reason,
                cost_usd=cost.usd,
            )
            if self.settings.otel_instrumentation_genai_capture_message_content:
                record_content(span, prompt=question, answer=redact_pii(generation.text).text)
        tokens = self.metrics.llm_tokens
        tokens.labels(provider, record.model, "input").inc(generation.input_tokens)
        tokens.labels(provider, record.model, "output").inc(generation.output_tokens)
        self.metrics.llm_cost.labels(provider, record.model).inc(cost.usd or 0.0)
        return generation
