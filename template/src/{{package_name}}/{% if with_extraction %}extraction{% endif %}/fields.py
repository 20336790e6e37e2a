"""One field's value: read from text as written, validated against the record schema,
normalised for comparison, and masked where it may hold personal data.

Everything here follows from schema.py: the field's type and constraints come from the record
model, so a field the team adds or changes is read and validated the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from .schema import CATEGORY_WORDS, RECORD_MODEL, Category

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# 2026-03-03 | 3 March 2026, 3rd Mar. 2026 | March 3, 2026 | 03.03.2026 | 03/03/2026
DATE = re.compile(
    r"\b(?:(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?P<dmy_day>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<dmy_month>" + _MONTH + r")\.?,?\s+"
    r"(?P<dmy_year>\d{4})"
    r"|(?P<mdy_month>" + _MONTH + r")\.?\s+(?P<mdy_day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?P<mdy_year>\d{4})"
    r"|(?P<num_a>\d{1,2})(?P<sep>[./-])(?P<num_b>\d{1,2})(?P=sep)(?P<num_year>\d{4}))\b",
    re.IGNORECASE,
)
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}
_CODE = r"EUR|USD|GBP|CHF|eur|usd|gbp|chf|Eur|Usd|Gbp|Chf"
_NUMBER = r"\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
# A sum of money: a currency (code or symbol) before or after a number.
MONEY = re.compile(
    rf"(?P<before>{_CODE}|[€$£])[ \t]*(?P<number_a>-?(?:{_NUMBER}))(?![\d,?*#]|\.\d)"
    rf"|(?<![\w.,?*#])(?P<number_b>-?(?:{_NUMBER}))[ \t]?(?P<after>{_CODE}|[€$£])(?![A-Za-z])"
)
EMPLOYEE_ID = re.compile(r"\b[Ee]\d{5}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(info.rebuild_annotation()) for name, info in RECORD_MODEL.model_fields.items()
}


def field_names() -> tuple[str, ...]:
    return tuple(RECORD_MODEL.model_fields)


def is_required(name: str) -> bool:
    return RECORD_MODEL.model_fields[name].is_required()


def is_personal(name: str) -> bool:
    extra = RECORD_MODEL.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("x-personal-data"))


def parse_date(text: str) -> dt.date | None:
    """The date written in text, or None when there is none or it is ambiguous (03/04/2026
    could be March or April; 31/03/2026 cannot)."""
    match = DATE.search(text)
    if match is None:
        return None
    parts = match.groupdict()
    try:
        if parts["iso"]:
            return dt.date.fromisoformat(parts["iso"])
        if parts["dmy_day"]:
            month = _MONTHS[parts["dmy_month"].lower()]
            return dt.date(int(parts["dmy_year"]), month, int(parts["dmy_day"]))
        if parts["mdy_day"]:
            month = _MONTHS[parts["mdy_month"].lower()]
            return dt.date(int(parts["mdy_year"]), month, int(parts["mdy_day"]))
        first, second, year = int(parts["num_a"]), int(parts["num_b"]), int(parts["num_year"])
        if parts["sep"] in ".-":  # 03.04.2026 and 03-04-2026 are day first wherever written
            return dt.date(year, second, first)
        if first > 12 >= second:
            return dt.date(year, second, first)
        if second > 12 >= first:
            return dt.date(year, first, second)
        return dt.date(year, first, second) if first == second else None
    except ValueError:
        return None


def parse_number(text: str) -> Decimal | None:
    """A number as written with thousands and decimal separators: 1,250.00, 1.250,00,
    1'250.00, 45,60, 45.6."""
    text = text.replace(" ", "").replace("'", "")
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        text = text.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in text:
        whole, _, fraction = text.rpartition(",")
        text = (
            text.replace(",", "") if len(fraction) == 3 else f"{whole.replace(',', '')}.{fraction}"
        )
    elif text.count(".") > 1 or re.fullmatch(r"\d{1,3}\.\d{3}", text):
        text = text.replace(".", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def currency_code(text: str) -> str | None:
    text = text.strip()
    return CURRENCY_SYMBOLS.get(text) or (text.upper() if re.fullmatch(_CODE, text) else None)


def parse_money(text: str) -> tuple[Decimal, str] | None:
    """The first sum of money in text, as (amount, currency code)."""
    match = MONEY.search(text)
    if match is None:
        return None
    number = parse_number(match["number_a"] or match["number_b"])
    currency = currency_code(match["before"] or match["after"])
    return (number, currency) if number is not None and currency else None


def parse_category(text: str) -> Category | None:
    """A category from its name ("meals") or the words that imply it ("taxi")."""
    lowered = text.lower()
    for category in Category:
        if re.search(rf"\b{category.value}\b", lowered):
            return category
    counts = category_counts(text)
    return counts.most_common(1)[0][0] if counts else None


def category_counts(text: str) -> Counter[Category]:
    """How often the text uses each category's words (schema.CATEGORY_WORDS)."""
    lowered = text.lower()
    return Counter(
        {
            category: hits
            for category, words in CATEGORY_WORDS.items()
            if (hits := sum(len(re.findall(rf"\b{re.escape(w)}s?\b", lowered)) for w in words))
        }
    )


def coerce(name: str, raw: str | None) -> Any:
    """`raw` read as field `name` of the record; raises ValueError when it is not valid."""
    if raw is None or not raw.strip():
        raise ValueError("missing")
    text = " ".join(raw.split())
    value: Any = text
    if name == "claim_date":
        value = parse_date(text)
        if value is None:
            raise ValueError(f"not an unambiguous date: {text!r}")
    elif name == "amount":
        money = parse_money(text)
        value = money[0] if money else parse_number(re.sub(r"[^\d.,'\- ]", "", text))
    elif name == "currency":
        value = currency_code(text) or (parse_money(text) or (None, text))[1]
    elif name == "category":
        value = parse_category(text) or text.lower()
    elif name in ("iban", "employee_id"):
        value = text.replace(" ", "").upper()
    try:
        return _ADAPTERS[name].validate_python(value)
    except ValidationError as error:
        problem = error.errors()[0]["msg"]
        raise ValueError(f"{problem}: {text!r}") from None


def normalised(name: str, value: Any) -> str:
    """A canonical string for comparing two values of field `name` (evals, corrections)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = " ".join(str(value).split())
    if name in ("iban", "employee_id", "currency"):
        return text.replace(" ", "").upper()
    return text.casefold()


def as_json(value: Any) -> Any:
    """A field value in a JSON body: decimals with two places as strings, dates ISO."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def mask(value: Any) -> str | None:
    """A personal value as the ledger, logs and traces keep it: enough to recognise it, not
    to use it ("Jane Doe" -> "J*** D***", "DE89370400440532013000" -> "DE89…00")."""
    if value is None:
        return None
    text = str(value)
    if any(character.isdigit() for character in text):
        return f"{text[:4]}…{text[-2:]}" if len(text) > 8 else "***"
    return " ".join(f"{word[0]}***" for word in text.split())


def stored(name: str, value: Any) -> Any:
    """A field value as stored: masked when the field may hold personal data."""
    return mask(value) if is_personal(name) else as_json(value)


class FieldValue(BaseModel):
    """What a model read for one field: the value as written (None when absent) and how sure
    it is (0-1)."""

    value: str | None = None
    confidence: float = 0.0


def extraction_output_model() -> type[BaseModel]:
    """The structured output a model returns: one FieldValue per record field."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        "ExtractedFields",
        __doc__="Every field of the record as written in the document, with a confidence.",
        **{name: (FieldValue, FieldValue()) for name in field_names()},
    )
