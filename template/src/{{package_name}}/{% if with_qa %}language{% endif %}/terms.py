"""Tokenising: lower-case words, English stop words, light stemming.

Generic English only. Words too common in one organisation's documents to tell passages apart
(its own name, "company") are data, listed in `data/stop_words.yaml` (see lexicon.py).
"""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"[a-z0-9]+")

_STOP_WORDS_TEXT = """a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
get got had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
please tell know need want many much may might must also"""
ENGLISH_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@functools.lru_cache(maxsize=65_536)  # a vocabulary repeats: every passage and question
def stem(word: str) -> str:
    """A deliberately small suffix stripper: enough to match plural, -ing and -ed forms."""
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words, in order."""
    return _WORD.findall(text.lower())


def content_words(text: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> list[str]:
    """The distinct words of a text that carry meaning, in order of first use."""
    return list(dict.fromkeys(w for w in words(text) if w not in stop_words and len(w) > 1))


def terms(text: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> frozenset[str]:
    """The distinct stemmed content terms of a text."""
    return frozenset(stem(word) for word in content_words(text, stop_words))
