"""Words and meaning, shared by retrieval and the embedded model: terms, synonyms, embeddings."""

from .lexicon import Analysis, Lexicon, StopWordsError
from .synonyms import Synonyms, SynonymsError

__all__ = ["Analysis", "Lexicon", "StopWordsError", "Synonyms", "SynonymsError"]
