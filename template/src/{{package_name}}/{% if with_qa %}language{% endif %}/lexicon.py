"""The service's lexicon: which words are terms, and which wordings mean the same.

Retrieval (to rank passages and measure how much of a question they cover) and the embedded
model (to pick the sentences that answer it) share one Lexicon, so both agree on what a term
is. A question is analysed once per request: `analyse` is memoised, and both stages ask it.
The domain-specific parts are data the owning team reviews, like the corpus:
`data/synonyms.yaml` and `data/stop_words.yaml`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..yaml_files import load_yaml
from .synonyms import Synonyms
from .terms import ENGLISH_STOP_WORDS, content_words, terms

# Redaction placeholders ("[EMAIL]") stand for removed personal data, not for words the person
# asked about: counted as terms they would dilute coverage and match passages about e-mail.
_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")
# Distinct questions remembered; a request needs its own only while it runs.
_ANALYSES_KEPT = 1024


class StopWordsError(ValueError):
    """The stop-word file is malformed; the message says where."""


@dataclass(frozen=True)
class Analysis:
    """A question in the corpus' wording, with its terms and content words."""

    text: str
    terms: frozenset[str]
    content_words: tuple[str, ...]


class Lexicon:
    def __init__(self, synonyms: Synonyms | None = None, stop_words: Iterable[str] = ()) -> None:
        self.synonyms = synonyms or Synonyms([])
        self.stop_words = ENGLISH_STOP_WORDS | {word.lower() for word in stop_words}
        self.analyse = functools.lru_cache(maxsize=_ANALYSES_KEPT)(self._analyse)

    @classmethod
    def load(cls, synonyms_path: Path, stop_words_path: Path) -> Lexicon:
        """Read the team's synonym groups and stop words; a missing file means none."""
        return cls(Synonyms.load(synonyms_path), load_stop_words(stop_words_path))

    def terms(self, text: str) -> frozenset[str]:
        return terms(text, self.stop_words)

    def content_words(self, text: str) -> tuple[str, ...]:
        return tuple(content_words(text, self.stop_words))

    def _analyse(self, question: str) -> Analysis:
        """The question without placeholders, rewritten to the corpus wording (memoised as
        `analyse`)."""
        text = self.synonyms.canonicalize(_PLACEHOLDER.sub(" ", question))
        return Analysis(text, self.terms(text), self.content_words(text))


def load_stop_words(path: Path) -> list[str]:
    if not path.is_file():
        return []
    raw = load_yaml(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list) or not all(isinstance(word, str) and word for word in raw):
        raise StopWordsError(f"{path} must be a list of words")
    return raw
