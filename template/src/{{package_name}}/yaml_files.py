"""Reading the team's YAML (corpus front matter, synonyms, stop words, prices, eval cases).

Always a safe loader, and libyaml's C implementation when PyYAML has it (the PyPI wheels bundle
it): about ten times faster than the pure-Python parser, which matters for a corpus of thousands
of documents and for a test suite that reads the eval cases many times.
"""

from __future__ import annotations

from typing import Any

import yaml

# Both are safe loaders: they build plain data only, never Python objects.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The document in `text` as plain data (dicts, lists, strings, numbers, dates)."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506  (SafeLoader above is a safe loader)
