"""Generate a grounded answer from retrieved passages with a pydantic-ai Agent."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings

from .errors import classify
from .prompt import INSTRUCTIONS, PromptPassage, render_prompt


@dataclass(frozen=True)
class Generation:
    text: str
    input_tokens: int
    output_tokens: int
    model_name: str
    finish_reason: str | None = None


class Generator:
    """One Agent per service; timeouts and bounded retries come from the settings."""

    def __init__(
        self, model: Model, *, timeout_seconds: float, max_retries: int, max_output_tokens: int
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self._agent = Agent(model, instructions=INSTRUCTIONS)
        self._settings = ModelSettings(
            timeout=timeout_seconds,
            max_retries=max_retries,
            max_tokens=max_output_tokens,
            temperature=0.0,
        )

    async def generate(self, question: str, passages: list[PromptPassage]) -> Generation:
        """Call the model once; provider failures surface as ProviderError."""
        try:
            result = await self._agent.run(
                render_prompt(question, passages), model_settings=self._settings
            )
        except AgentRunError as error:
            raise classify(error, self.timeout_seconds) from error
        usage = result.usage
        return Generation(
            text=result.output.strip(),
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            model_name=result.response.model_name or self.model.model_name,
            finish_reason=result.response.finish_reason,
        )
