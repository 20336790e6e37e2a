"""The extraction slice: a submitted document becomes a validated, typed record with a
confidence per field; records that are incomplete, invalid or uncertain go to a human review
queue instead of downstream.

- schema.py: the record (the one place the team edits what a document becomes);
- fields.py: reading, validating, normalising and masking one field's value;
- embedded.py: the offline extractor (deterministic, grounded in the text, no weights);
- extractor.py: the model call (embedded or a real provider, structured output);
- pipeline.py: guard -> extract -> validate -> decide -> record.
"""

from .pipeline import ExtractionPipeline, ExtractionResult
from .schema import RECORD_MODEL, REQUIRED_FIELDS

__all__ = ["RECORD_MODEL", "REQUIRED_FIELDS", "ExtractionPipeline", "ExtractionResult"]
