"""The extraction slice: guard -> extract -> validate -> decide -> record.

A document becomes a record with a confidence per field. The record goes downstream
(`extracted`) only when every required field is present, valid and read with at least
EXTRACTION_REVIEW_THRESHOLD confidence; otherwise it waits for a person (`needs_review`), with
the reason for each field in question. A document that carries instructions aimed at the model
is refused before any model reads it. Limits, the ledger row, the model call's accounting and
failures are the shared request path (lifecycle.py), as for the Q&A slice.

Personal data: fields marked personal in schema.py are returned in full to the caller only;
the ledger, the review queue, logs and traces keep them masked. The document itself is never
stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from ..guardrails import detect_injection, redact_pii
from ..ledger import ExtractionRow, RequestRecord
from ..lifecycle import RequestLifecycle
from ..settings import Settings
from ..vocabulary import EXTRACTION_USE_CASE, RecordOutcome
from . import fields
from .extractor import ExtractionCall, Extractor
from .schema import REQUIRED_FIELDS

tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class FieldResult:
    value: Any
    """The validated value (None when missing or invalid)."""
    confidence: float
    problem: str | None = None
    """Why this field needs review, when it does."""


@dataclass(frozen=True)
class ExtractionResult:
    request_id: str
    trace_id: str
    outcome: RecordOutcome
    fields: dict[str, FieldResult] = field(default_factory=dict)

    @property
    def problems(self) -> dict[str, str]:
        return {name: f.problem for name, f in self.fields.items() if f.problem}


def judge(values: dict[str, fields.FieldValue], threshold: float) -> dict[str, FieldResult]:
    """Validate each field against the schema and say which ones need a person."""
    judged = {}
    for name in fields.field_names():
        read = values.get(name) or fields.FieldValue()
        required = name in REQUIRED_FIELDS
        if read.value is None or not read.value.strip():
            judged[name] = FieldResult(None, 0.0, "missing" if required else None)
            continue
        try:
            value = fields.coerce(name, read.value)
        except ValueError as error:
            judged[name] = FieldResult(None, read.confidence, f"invalid: {error}")
            continue
        confidence = max(0.0, min(1.0, read.confidence))
        uncertain = confidence < threshold
        judged[name] = FieldResult(
            value,
            confidence,
            f"confidence {confidence:.2f} below {threshold:g}" if uncertain and required else None,
        )
    return judged


class ExtractionPipeline:
    def __init__(
        self, settings: Settings, extractor: Extractor, lifecycle: RequestLifecycle
    ) -> None:
        self.settings = settings
        self.extractor = extractor
        self.lifecycle = lifecycle

    async def submit(
        self, document: str, caller: str, *, request_id: str | None = None
    ) -> ExtractionResult:
        """Run the slice on one document; exactly one ledger row is written, whatever happens
        (lifecycle.py). Failures raise RequestFailedError."""
        with tracer.start_as_current_span("extract") as span:
            record = RequestRecord(
                request_id=request_id or uuid.uuid4().hex,
                caller=caller,
                provider=self.settings.model_provider,
                model=self.extractor.model.model_name,
                question_chars=len(document),
                use_case=EXTRACTION_USE_CASE,
                trace_id=format(span.get_span_context().trace_id, "032x"),
            )
            return await self.lifecycle.run(record, span, lambda: self._run(document, record))

    async def _run(self, document: str, record: RequestRecord) -> ExtractionResult:
        def result(outcome: RecordOutcome, judged: dict[str, FieldResult]) -> ExtractionResult:
            record.outcome = outcome
            return ExtractionResult(record.request_id, record.trace_id or "", outcome, judged)

        await self.lifecycle.check_limits(record.caller)

        # Input guard: a document that talks to the model is refused before a model reads it.
        with tracer.start_as_current_span("guardrails.input") as guard_span:
            rule = detect_injection(document)
            if rule is not None:
                guard_span.set_attribute("app.guardrail", rule)
                record.guardrail = rule
                return result("refused", {})
            # Counted, not removed: a claim legitimately holds a name or an account number.
            redaction = redact_pii(document)
            record.pii_redactions = redaction.total
            guard_span.set_attribute("app.pii_redactions", record.pii_redactions)

        call: ExtractionCall = await self.lifecycle.call_model(
            record,
            lambda: self.extractor.extract(document),
            prompt=redaction.text,  # what content capture may record
        )

        # Output guard: the schema. Each field is validated; what fails or is uncertain is
        # a person's to decide.
        with tracer.start_as_current_span("guardrails.output") as output_span:
            judged = judge(call.values, self.settings.extraction_review_threshold)
            problems = {name: f.problem for name, f in judged.items() if f.problem}
            output_span.set_attribute("app.extraction.problems", sorted(problems))
        outcome: RecordOutcome = "needs_review" if problems else "extracted"
        record.extraction = ExtractionRow(
            status=outcome,
            record={name: fields.stored(name, f.value) for name, f in judged.items()},
            confidence={name: round(f.confidence, 4) for name, f in judged.items()},
            problems=problems,
        )
        return result(outcome, judged)
