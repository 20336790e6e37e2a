"""Query rewriting with a governed synonym list (`data/synonyms.yaml`).

Employees say "vacation" and "company card"; the policies say "annual leave" and "corporate
card". Each group's first entry is the corpus wording; other entries are rewritten to it before
retrieval and sentence scoring. The list is data the owning team reviews, like the corpus.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..yaml_files import load_yaml


class SynonymsError(ValueError):
    """The synonym file is malformed; the message says where."""


class Synonyms:
    def __init__(self, groups: list[list[str]]) -> None:
        rules = []
        for group in groups:
            canonical, *variants = group
            rules += [(variant, canonical) for variant in variants]
        # Longest variants first, so "company credit card" wins over "company card".
        rules.sort(key=lambda rule: -len(rule[0]))
        self._rules = [
            (re.compile(rf"(?<!\w){re.escape(variant)}(?!\w)", re.IGNORECASE), canonical)
            for variant, canonical in rules
        ]

    @classmethod
    def load(cls, path: Path) -> Synonyms:
        """Read the YAML list of groups; a missing file means no rewriting."""
        if not path.is_file():
            return cls([])
        raw = load_yaml(path.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list) or not all(
            isinstance(group, list) and len(group) >= 2 and all(isinstance(w, str) for w in group)
            for group in raw
        ):
            raise SynonymsError(f"{path} must be a list of groups of at least two strings")
        return cls(raw)

    def canonicalize(self, text: str) -> str:
        for pattern, canonical in self._rules:
            text = pattern.sub(canonical, text)
        return text
