"""Text embeddings for the semantic half of retrieval: offline, CPU-only, no torch.

WordLlama's static token embeddings (256 dimensions, a 16 MB file inside the PyPI wheel) embed a
passage or a question by pooling its token vectors: about 0.1 ms per text on one core, so a
replica embeds a whole snapshot while materialising it and a question on the request path.
Static embeddings know that "kid" is near "child" and "MacBook" near "macOS", which is what
lexical search alone cannot; they are weaker on word order, which BM25 and the extractive
model's term matching cover. The weights are read from the installed package, never downloaded.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors import safe_open
from tokenizers import Tokenizer
from wordllama import __file__ as _wordllama_init
from wordllama.inference import WordLlamaInference

MODEL_NAME = "wordllama-l2_supercat-256"
DIMENSIONS = 256
_PACKAGE = Path(_wordllama_init).parent
_WEIGHTS = _PACKAGE / "weights" / "l2_supercat_256.safetensors"
_TOKENIZER = _PACKAGE / "tokenizers" / "l2_supercat_tokenizer_config.json"

Vectors = npt.NDArray[np.float32]


class EmbeddingModelError(RuntimeError):
    """The embedding model's files are missing from the installed wordllama package."""


class Embedder:
    """Unit-length float32 vectors for texts; the cosine similarity of two is their dot product."""

    def __init__(self, model: WordLlamaInference) -> None:
        self._model = model

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._model.embed(texts, norm=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)


@functools.cache
def load_embedder() -> Embedder:
    """The bundled model, loaded once per process (about a second). `WordLlama.load()` is not
    used: it looks for the tokenizer in a folder the wheel does not have, then tries the
    network; reading the two files directly keeps this offline by construction."""
    if not (_WEIGHTS.is_file() and _TOKENIZER.is_file()):
        raise EmbeddingModelError(
            f"wordllama's bundled model files are missing ({_WEIGHTS.name}, {_TOKENIZER.name}); "
            "reinstall with `uv sync --locked`"
        )
    with safe_open(str(_WEIGHTS), framework="np") as weights:
        table = weights.get_tensor("embedding.weight")
    return Embedder(WordLlamaInference(table, Tokenizer.from_file(str(_TOKENIZER))))
