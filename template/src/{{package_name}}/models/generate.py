"""Generate a grounded answer from retrieved passages with a pydantic-ai Agent.

One model call per request runs under one total deadline (MODEL_DEADLINE_SECONDS): each
attempt is bounded by MODEL_TIMEOUT_SECONDS and by what is left of the deadline, and retries
(at most MODEL_MAX_RETRIES) happen inside it, never after it. The retries are ours, not the
provider SDK's, so the policy is explicit:

- an attempt that timed out, a 5xx, or a 429 is retried after a short back-off (a 429's
  Retry-After is honoured when it fits in the deadline, otherwise the caller gets a 503 with it);
- a connection failure (refused, reset) is retried once at most, at once: a stale pooled
  connection or a restarting pod recovers, a provider that is down fails fast;
- credentials (401/403), other 4xx and empty, truncated or malformed replies are not retried.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TypeVar

from pydantic_ai import Agent
from pydantic_ai.agent import AgentRunResult
from pydantic_ai.exceptions import AgentRunError
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from .errors import MALFORMED_REPLY_ERRORS, ProviderError, bad_response, classify, deadline_exceeded
from .prompt import INSTRUCTIONS, PromptPassage, render_prompt

logger = logging.getLogger(__name__)

OutputT = TypeVar("OutputT")

# Back-off before retry n (1-based): BASE * 2**(n-1), at most MAX.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 2.0
# Connection failures get at most this many retries, whatever MODEL_MAX_RETRIES says.
MAX_CONNECTION_RETRIES = 1
# A retry that would have less than this left of the deadline is not worth starting.
MIN_ATTEMPT_SECONDS = 0.1


@dataclass(frozen=True)
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    model_name: str
    finish_reason: str | None = None


class Generator:
    """One Agent per service; per-attempt timeout, total deadline and retries from the settings."""

    def __init__(
        self,
        model: Model,
        *,
        timeout_seconds: float,
        max_retries: int,
        max_output_tokens: int,
        deadline_seconds: float | None = None,
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.deadline_seconds = deadline_seconds or timeout_seconds
        # No output retries: an empty reply is a bad response, not a reason to ask again.
        self._agent = Agent(model, instructions=INSTRUCTIONS, retries=0)
        self._max_output_tokens = max_output_tokens

    def _settings(self, remaining: float) -> ModelSettings:
        return ModelSettings(
            timeout=max(min(self.timeout_seconds, remaining), MIN_ATTEMPT_SECONDS),
            # The SDK never retries: retries are ours, inside the deadline (module docstring).
            max_retries=0,
            max_tokens=self._max_output_tokens,
            temperature=0.0,
        )

    async def generate(self, question: str, passages: list[PromptPassage]) -> Generation:
        """Answer from the passages; failures surface as ProviderError."""
        return self._generation(await self.run(self._agent, render_prompt(question, passages)))

    async def run(self, agent: Agent[None, OutputT], prompt: str) -> AgentRunResult[OutputT]:
        """Run `agent` on `prompt` with this service's model policy: per-attempt timeout,
        retries inside one total deadline, failures as ProviderError. Every slice's model call
        goes through here (the Q&A answer, the extraction's structured output)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_seconds
        attempts = connection_retries = 0
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    attempts += 1
                    try:
                        return await agent.run(
                            prompt, model_settings=self._settings(deadline - loop.time())
                        )
                    except (AgentRunError, *MALFORMED_REPLY_ERRORS) as error:
                        failure = classify(error, self.timeout_seconds)
                        failure.__cause__ = error
                        if failure.code == "provider_bad_response":
                            # The type only: a reply's text may carry personal data.
                            logger.warning(
                                "bad reply from the model provider (%s)", type(error).__name__
                            )
                    if failure.code == "provider_unreachable":
                        connection_retries += 1
                    delay = self._retry_delay(failure, attempts, connection_retries)
                    left = deadline - loop.time()
                    if delay is None or delay + MIN_ATTEMPT_SECONDS > left:
                        if failure.code == "provider_timeout":
                            raise deadline_exceeded(
                                self.deadline_seconds, attempts, self.timeout_seconds
                            )
                        raise failure
                    await asyncio.sleep(delay)
        except TimeoutError as error:
            raise deadline_exceeded(
                self.deadline_seconds, attempts, self.timeout_seconds
            ) from error

    def _retry_delay(
        self, failure: ProviderError, attempts: int, connection_retries: int
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when there is none."""
        if not failure.retryable or attempts > self.max_retries:
            return None
        if failure.code == "provider_unreachable":
            return 0.0 if connection_retries <= MAX_CONNECTION_RETRIES else None
        if failure.retry_after is not None:
            return float(failure.retry_after)
        return min(BACKOFF_BASE_SECONDS * 2.0 ** (attempts - 1), BACKOFF_MAX_SECONDS)

    def _generation(self, result: AgentRunResult[str]) -> Generation:
        text = result.output.strip() if isinstance(result.output, str) else ""
        if not text:
            raise bad_response("the model provider returned an empty reply")
        usage = result.usage
        return Generation(
            text=text,
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            model_name=result.response.model_name or self.model.model_name,
            finish_reason=result.response.finish_reason,
        )
