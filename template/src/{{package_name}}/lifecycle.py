"""What every request of every use case goes through, whatever the slice does in between.

- Limits first (after auth): a caller over its quota, or a day whose budget is spent, is
  refused (429) before the guards or the model see anything.
- Exactly one ledger row per request, whatever happens, written before the caller hears the
  result: a result is never sent for a request that is not recorded. A row that cannot be
  written turns the request into a 503, counted as failed.
- Failures (limits, provider, shutdown, index) become one error with a stable code.
- The model call: one GenAI span, its latency, tokens and cost, bounded by shutdown.

A slice (pipeline.py for Q&A, extraction/pipeline.py) supplies what happens in between and the
counter its outcomes are counted in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, StatusCode
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from .costs import PriceTable
from .guardrails import redact_pii
from .ledger import Ledger, LedgerUnavailableError, RequestRecord
from .limits import LimitExceededError, Limits
from .models import ProviderError
from .models.failures import REQUEST_ID
from .settings import Settings
from .shutdown import Shutdown, ShuttingDownError
from .telemetry import Metrics
from .telemetry.genai import model_call_span, record_content, record_response
from .vocabulary import Outcome

tracer = trace.get_tracer(__name__)
logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")
CallT = TypeVar("CallT", bound="ModelCall")


class ModelCall(Protocol):
    """What a finished model call reports, whatever the slice asked for."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def model_name(self) -> str: ...
    @property
    def finish_reason(self) -> str | None: ...
    @property
    def text(self) -> str: ...


class NotReadyError(Exception):
    """Something the slice needs is not ready yet (Q&A: no index snapshot served): a 503 with
    the slice's own stable `code`. The slice raises it from its work; the lifecycle records it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RequestFailedError(Exception):
    """The request could not be served (limit, provider failure, a part not ready, shutting
    down, or its ledger row could not be written).

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


class RequestLifecycle:
    """The shared request path of the slices (module docstring)."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        metrics: Metrics,
        requests: Counter,
        prices: PriceTable | None = None,
        shutdown: Shutdown | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.metrics = metrics
        self.requests = requests
        self.prices = prices or PriceTable([])
        self.shutdown = shutdown or Shutdown(settings.shutdown_grace_seconds)
        self.limits = limits

    async def run(
        self, record: RequestRecord, span: Span, work: Callable[[], Awaitable[ResultT]]
    ) -> ResultT:
        """Run the slice's `work` for the request `record` describes; record it whatever
        happens, then return the result or raise RequestFailedError."""
        started = time.perf_counter()
        try:
            result = await work()
        except (
            LimitExceededError,
            ProviderError,
            ShuttingDownError,
            NotReadyError,
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

    async def check_limits(self, caller: str) -> None:
        if self.limits is not None:
            with tracer.start_as_current_span("limits.check"):
                await self.limits.check(caller)

    async def call_model(
        self, record: RequestRecord, call: Callable[[], Awaitable[CallT]], *, prompt: str
    ) -> CallT:
        """The model call: a GenAI span, latency, token and cost accounting (in the record
        and the metrics), bounded by a graceful shutdown. `prompt` is what content capture
        records (already PII-redacted)."""
        provider = self.settings.model_provider
        with model_call_span(provider, record.model) as span:
            started = time.perf_counter()
            request_id = REQUEST_ID.set(record.request_id)
            try:
                async with self.shutdown.bounded():
                    result = await call()
            except ProviderError as error:
                # The failed call still spent what its replies reported (failed attempts).
                span.set_attribute("error.type", error.code)
                span.set_status(StatusCode.ERROR, error.code)
                if error.input_tokens or error.output_tokens:
                    self._account(record, span, error.input_tokens, error.output_tokens)
                raise
            finally:
                REQUEST_ID.reset(request_id)
                self.metrics.llm_duration.labels(provider, record.model).observe(
                    time.perf_counter() - started
                )
            cost = self._account(record, span, result.input_tokens, result.output_tokens)
            record_response(
                span,
                response_model=result.model_name,
                input_tokens=record.input_tokens or 0,
                output_tokens=record.output_tokens or 0,
                finish_reason=result.finish_reason,
                cost_usd=cost,
            )
            if self.settings.otel_instrumentation_genai_capture_message_content:
                record_content(span, prompt=prompt, answer=redact_pii(result.text).text)
        return result

    def _account(
        self, record: RequestRecord, span: Span, input_tokens: int, output_tokens: int
    ) -> float | None:
        """Tokens and cost of a model call, in the record and the metrics. A model without a
        price (data/prices.yaml) records a NULL cost and counts in llm_unpriced_calls_total:
        its spend is unknown, never $0."""
        provider, model, use_case = self.settings.model_provider, record.model, record.use_case
        cost = self.prices.cost(provider, model, input_tokens, output_tokens)
        record.input_tokens, record.output_tokens, record.cost_usd = (
            input_tokens,
            output_tokens,
            cost.usd,
        )
        tokens = self.metrics.llm_tokens
        tokens.labels(provider, model, "input", use_case).inc(input_tokens)
        tokens.labels(provider, model, "output", use_case).inc(output_tokens)
        if cost.usd is None:
            self.metrics.llm_unpriced_calls.labels(provider, model, use_case).inc()
            span.set_attribute("app.cost_unpriced", True)
        else:
            self.metrics.llm_cost.labels(provider, model, use_case).inc(cost.usd)
        return cost.usd

    @staticmethod
    def _failure(error: Exception, record: RequestRecord) -> RequestFailedError:
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
        elif isinstance(error, NotReadyError):
            code, message = error.code, str(error)
        else:
            code, message, retry_after = "shutting_down", str(error), 1.0
        record.error_code = code
        return RequestFailedError(
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
            self.requests.labels(Outcome.FAILED).inc()
            self.metrics.ledger_write_failures.inc()
            raise RequestFailedError(
                "ledger_unavailable",
                f"{error}; the request was not served, retry shortly",
                request_id=record.request_id,
                trace_id=record.trace_id or "",
                retry_after=1,
            ) from error
        if self.limits is not None:
            # Counted at once on this replica; other replicas see it at their next ledger read.
            self.limits.add_spend(record.caller, record.cost_usd)
        self.requests.labels(record.outcome).inc()
        if record.guardrail:
            self.metrics.guardrail_triggers.labels(record.guardrail).inc()
