"""Load the governed corpus: Markdown documents with YAML front matter.

Each document must declare `id`, `title`, `owner`, `classification` and `updated_at`.
A file that breaks a rule is quarantined with the reason, never silently dropped or half
indexed; documents whose classification is not allowed for this service are excluded by policy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..progress import Progress
from ..yaml_files import load_yaml

ID_PATTERN = re.compile(r"^[A-Z]+(?:-[A-Z]+)*-\d{3}$")
CLASSIFICATIONS = ("public", "internal", "confidential")
REQUIRED_FIELDS = ("id", "title", "owner", "classification", "updated_at")
MAX_DOCUMENT_BYTES = 200_000
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    owner: str
    classification: str
    updated_at: dt.date
    body: str
    path: Path


@dataclass(frozen=True)
class Quarantined:
    path: Path
    reason: str


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    excluded: list[Document] = field(default_factory=list)


class InvalidDocumentError(ValueError):
    """A document breaks a corpus rule; the message says which."""


def parse_document(path: Path) -> Document:
    """Parse one Markdown file, raising InvalidDocumentError with a reason when it is not valid."""
    raw = path.read_bytes()
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InvalidDocumentError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidDocumentError(f"not valid UTF-8 ({error.reason})") from None
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not match:
        raise InvalidDocumentError("missing YAML front matter between '---' lines")
    try:
        meta = load_yaml(match.group(1))
    except (yaml.YAMLError, ValueError) as error:
        # PyYAML raises a bare ValueError for impossible dates such as 2025-13-45.
        raise InvalidDocumentError(f"front matter is not valid YAML: {error}") from None
    if not isinstance(meta, dict):
        raise InvalidDocumentError("front matter must be a mapping")
    missing = [name for name in REQUIRED_FIELDS if not meta.get(name)]
    if missing:
        raise InvalidDocumentError(f"missing required field(s): {', '.join(missing)}")
    doc_id = str(meta["id"])
    if not ID_PATTERN.match(doc_id):
        raise InvalidDocumentError(f"id {doc_id!r} does not match {ID_PATTERN.pattern}")
    classification = str(meta["classification"])
    if classification not in CLASSIFICATIONS:
        raise InvalidDocumentError(
            f"classification {classification!r} is not one of {', '.join(CLASSIFICATIONS)}"
        )
    updated_at = meta["updated_at"]
    if isinstance(updated_at, str):
        try:
            updated_at = dt.date.fromisoformat(updated_at)
        except ValueError:
            raise InvalidDocumentError(f"updated_at {updated_at!r} is not a date") from None
    if not isinstance(updated_at, dt.date):
        raise InvalidDocumentError("updated_at must be a date (YYYY-MM-DD)")
    body = match.group(2).strip()
    if not body:
        raise InvalidDocumentError("document body is empty")
    return Document(
        id=doc_id,
        title=str(meta["title"]).strip(),
        owner=str(meta["owner"]).strip(),
        classification=classification,
        updated_at=updated_at,
        body=body,
        path=path,
    )


def load_corpus(
    corpus_dir: Path, allowed_classifications: list[str], *, progress: bool = False
) -> LoadResult:
    """Load every `*.md` file under corpus_dir, quarantining invalid ones; `progress` reports
    files read of the total on stderr (a large corpus takes a while)."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus directory {corpus_dir} does not exist")
    result = LoadResult()
    seen: dict[str, Path] = {}
    paths = sorted(corpus_dir.rglob("*.md"))
    meter = Progress("reading the corpus", len(paths), unit="documents") if progress else None
    for path in paths:
        _load(path, allowed_classifications, seen, result)
        if meter:
            meter.advance()
    if meter:
        meter.close()
    return result


def _load(path: Path, allowed: list[str], seen: dict[str, Path], result: LoadResult) -> None:
    """Add one file to `result`: indexed, excluded by classification, or quarantined."""
    try:
        document = parse_document(path)
    except InvalidDocumentError as error:
        result.quarantined.append(Quarantined(path, str(error)))
        return
    if document.id in seen:
        result.quarantined.append(
            Quarantined(path, f"duplicate id {document.id} (first seen in {seen[document.id]})")
        )
        return
    seen[document.id] = path
    if document.classification in allowed:
        result.documents.append(document)
    else:
        result.excluded.append(document)
