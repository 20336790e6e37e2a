"""Model access: the embedded offline model and real providers behind one pydantic-ai Agent."""

from .errors import ProviderError
from .factory import build_model
from .generate import Generation, Generator

__all__ = ["Generation", "Generator", "ProviderError", "build_model"]
