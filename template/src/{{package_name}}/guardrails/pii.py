"""PII redaction: e-mail addresses, phone numbers, payment cards (Luhn-checked) and IBANs.

Runs on the question before retrieval, the model, the ledger or any log line see it, on the
answer before it leaves the service, and on feedback comments before they are stored.

Why our own recognizers and not a library: they are deterministic, dependency-free and work in
an air-gapped network. Presidio needs spaCy models downloaded at run time. `phonenumbers`
(libphonenumber) is a fine parser, but its matcher needs one default region to read national
forms ("020 7946 0958" is British, "(202) 555-0143" American) and it only reports numbers that
its numbering-plan metadata calls valid, which trades recall for precision; a redactor must
err the other way. So recall comes from broad, format-agnostic scanning, and precision from
checksums (Luhn for cards, ISO 13616 mod-97 and the per-country length for IBANs) and from the
shape of a phone number (international prefix, trunk 0, or the North American 3-3-4 form).
The property tests (tests/service/test_pii_properties.py) check 100 % recall on tens of thousands of
generated values and measure false positives on the corpus.

How each kind is found:
- cards: any run of digit groups joined by at most one separator (space, hyphen, dot, slash,
  underscore, mixed) and glued to words or not; every window of whole groups holding 13-19
  digits that passes Luhn is redacted, so a card followed by another number is still found.
- IBANs: a known country code (upper or lower case, glued to a word or not), two check digits,
  then exactly that country's length of letters and digits with any single separators between
  characters, checked with mod-97.
- e-mail addresses: internationalised local parts and domains (RFC 6531, IDN labels, punycode),
  plus-addressing, and the full-width at sign.
- phone numbers: E.164 (`+CC ...` or `00CC ...`, 8-15 digits, an optional `(0)`), national
  numbers with a trunk 0 (9-13 digits) and North American numbers (`(202) 555-0143`).

Zero-width characters are dropped first: they would otherwise split a number in two. Every
recognizer runs on the same text; overlapping findings merge into one placeholder (named after
the longest finding), so one recognizer's miss never leaves another's digits behind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

# Invisible characters that can split a value without changing how it looks.
ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
# One separator between digit groups: spaces (incl. no-break and thin), hyphens/dashes, dot,
# slash, underscore.
_SEP = "[ \u00a0\u2007\u2009\u202f\\-\u2010-\u2014./_]"

EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+[@\uff20]"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:xn--[a-z0-9-]+|[^\W\d_]{2,})",
    re.IGNORECASE,
)
# Digit groups joined by single separators: the candidates for payment cards.
DIGIT_RUN = re.compile(rf"\d+(?:{_SEP}\d+)*")
# Where an IBAN may start: two letters, then (after an optional separator) a digit.
IBAN_START = re.compile(rf"(?=([A-Za-z][A-Za-z]){_SEP}?\d)")
# Phone candidates: an optional + or 00, then digit groups (one may be in parentheses) joined by
# single separators. Not when glued to a word, a + or a hyphen/slash ("INC-2025-004512").
PHONE = re.compile(
    r"(?<![\w+\-/])(?:\+[ \u00a0]?)?"
    r"(?:\(\d{1,5}\)[ \u00a0]?)?\d+"
    r"(?:[ \u00a0.\-/\u2010-\u2013](?:\(\d{1,5}\)[ \u00a0]?)?\d+|\(\d{1,5}\)[ \u00a0]?\d+)*"
)
_NANP = re.compile(r"(?:\+?1[ .\-]?)?(?:\(\d{3}\)[ \u00a0]?|\d{3}[ .\-/])\d{3}[ .\-]\d{4}")

# ISO 13616 registry: country code -> IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SEPARATORS = frozenset(" \u00a0\u2007\u2009\u202f-\u2010\u2011\u2012\u2013\u2014./_")


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
    compact = "".join(char for char in candidate if char in _ASCII_ALNUM).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
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


Span = tuple[int, int, str]


def _emails(text: str) -> Iterator[Span]:
    for match in EMAIL.finditer(text):
        yield match.start(), match.end(), "EMAIL"


def _cards(text: str) -> Iterator[Span]:
    for run in DIGIT_RUN.finditer(text):
        groups = [(group.start(), group.end()) for group in re.finditer(r"\d+", run.group(0))]
        offset = run.start()
        for first in range(len(groups)):
            digits = ""
            for last in range(first, len(groups)):
                digits += run.group(0)[groups[last][0] : groups[last][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn_valid(digits):
                    yield offset + groups[first][0], offset + groups[last][1], "CARD"


def _ibans(text: str) -> Iterator[Span]:
    for start in IBAN_START.finditer(text):
        country = start.group(1).upper()
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        chars: list[str] = []
        position = start.start()
        end = position
        gap = 0
        while position < len(text) and len(chars) < length:
            char = text[position]
            if char in _ASCII_ALNUM:
                chars.append(char)
                end = position + 1
                gap = 0
            elif char in _SEPARATORS and chars and gap == 0:
                gap = 1
            else:
                break
            position += 1
        compact = "".join(chars)
        if len(compact) == length and compact[2:4].isdigit() and iban_valid(compact):
            yield start.start(), end, "IBAN"


def _phone_valid(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    compact = candidate.lstrip()
    if compact.startswith("+") or digits.startswith("00"):
        # E.164: country code and subscriber number, at most 15 digits; "(0)" is a trunk hint.
        significant = re.sub(r"\D", "", candidate.replace("(0)", ""))
        if digits.startswith("00") and not compact.startswith("+"):
            significant = significant[2:]
        return 8 <= len(significant) <= 15
    if digits.startswith("0"):
        return 9 <= len(digits) <= 13
    return _NANP.fullmatch(compact) is not None


def _phones(text: str) -> Iterator[Span]:
    for match in PHONE.finditer(text):
        # Try whole space-separated chunks, longest first, so a number next to a year or a
        # count ("call 020 7946 0958 2 times") is still found.
        chunks = [(chunk.start(), chunk.end()) for chunk in re.finditer(r"\S+", match.group(0))]
        first = 0
        while first < len(chunks):
            for last in range(len(chunks) - 1, first - 1, -1):
                start, end = chunks[first][0], chunks[last][1]
                if _phone_valid(match.group(0)[start:end]):
                    yield match.start() + start, match.start() + end, "PHONE"
                    first = last
                    break
            first += 1


def find_pii(text: str) -> list[Span]:
    """Every PII finding in text as (start, end, kind), overlapping findings merged."""
    spans = sorted([*_emails(text), *_ibans(text), *_cards(text), *_phones(text)])
    merged: list[tuple[int, int, str, int]] = []  # start, end, kind, length of the kind's span
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind, last_length = merged[-1]
            longest = (kind, end - start) if end - start > last_length else (last_kind, last_length)
            merged[-1] = (last_start, max(end, last_end), *longest)
        else:
            merged.append((start, end, kind, end - start))
    return [(start, end, kind) for start, end, kind, _ in merged]


def redact_pii(text: str) -> Redaction:
    """Replace PII with `[EMAIL]`, `[CARD]`, `[IBAN]` and `[PHONE]` placeholders."""
    text = ZERO_WIDTH.sub("", text)
    counts: Counter[str] = Counter()
    parts: list[str] = []
    position = 0
    for start, end, kind in find_pii(text):
        parts.append(text[position:start])
        parts.append(f"[{kind}]")
        counts[kind] += 1
        position = end
    parts.append(text[position:])
    return Redaction(text="".join(parts), counts=counts)
