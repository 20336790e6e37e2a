"""PII redaction: e-mail addresses, phone numbers, payment cards (Luhn-checked) and IBANs.

Runs on the question before retrieval, the model, the ledger or any log line see it, and on the
answer before it leaves the service. Checksums keep false positives low: an order number that
happens to have 16 digits is not a card unless it passes Luhn.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# 13-19 digits, optionally grouped by single spaces or hyphens.
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# Country code, check digits, then 11-30 alphanumerics, optionally grouped by spaces.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
# International (+CC ...) or national numbers with 9 to 15 digits in total (E.164 allows 15).
PHONE = re.compile(
    r"(?<![\w+/-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)"
)

# What redact_pii leaves in place of PII. It stands for a value, not for what the text asks.
PLACEHOLDER = re.compile(r"\[(?:EMAIL|CARD|IBAN|PHONE)\]")


def luhn_valid(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True when a string is an IBAN whose ISO 13616 mod-97 check succeeds."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


@dataclass(frozen=True)
class Redaction:
    """Text with PII replaced by typed placeholders, and how many of each kind were found."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def redact_pii(text: str) -> Redaction:
    """Replace PII with `[EMAIL]`, `[CARD]`, `[IBAN]` and `[PHONE]` placeholders.

    Order matters: cards and IBANs are digit runs that the phone pattern would also match.
    """
    counts: Counter[str] = Counter()

    def replace(kind: str, pattern: re.Pattern[str], check: object = None) -> None:
        nonlocal text

        def substitute(match: re.Match[str]) -> str:
            value = match.group(0)
            if callable(check) and not check(value):
                return value
            counts[kind] += 1
            return f"[{kind}]"

        text = pattern.sub(substitute, text)

    replace("EMAIL", EMAIL)
    replace("IBAN", IBAN, iban_valid)
    replace("CARD", CARD, lambda value: luhn_valid(re.sub(r"\D", "", value)))
    replace("PHONE", PHONE, lambda value: 9 <= len(re.sub(r"\D", "", value)) <= 15)
    return Redaction(text=text, counts=counts)
