"""The embedded extractor: deterministic, offline, grounded in the text (no weights).

It reads what a careful clerk would: labelled lines first ("Total: EUR 45.60"), then the
patterns a value has wherever it is written (an employee number, an IBAN, a sum of money, a
date), then everyday wording ("paid ... to Taxi Berlin", "Thanks, Jane Doe"). Each value comes
with a confidence that says how it was found: a labelled value is surer than a guess from free
text, and two different values for one field (two totals) are a conflict a human must settle.
It plugs into pydantic-ai as a `FunctionModel` that returns structured output, so the offline
path runs the same Agent code as real providers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from . import fields
from .extractor import parse_document
from .schema import LABELS, Category

EMBEDDED_EXTRACTOR_NAME = "thinslice-extractor-v1"

# Confidence by how a value was found (the review threshold, EXTRACTION_REVIEW_THRESHOLD, is
# 0.8 by default: labelled values and distinctive patterns pass, guesses from prose do not).
LABELLED = 0.95
PATTERN = 0.9  # a shape only this field has: an employee number, an IBAN
MONEY_TOTAL = 0.9  # the sum on a line that says "total"
SINGLE_MENTION = 0.85  # the only sum of money, or the only date, in the document
WORDING = 0.8  # "paid EUR 45.60 to Taxi Berlin", "Thanks, Jane Doe"
KEYWORD = 0.8  # a category implied by a word ("taxi") and no other category's word
GUESS = 0.5  # several candidates and nothing to choose between them
CONFLICT = 0.2  # the document states two different values for the field

_LABEL_LINE = re.compile(
    r"^\s*(?:[-*•>]\s*)?(?P<label>[A-Za-z][A-Za-z .()/#]{1,40}?)\s*[:=\u2013-]\s*(?P<value>\S.*?)\s*$"
)
_TOTAL_LINE = re.compile(r"\b(grand\s+)?total\b|\bamount\s+(due|claimed|paid)\b", re.IGNORECASE)
# "Thanks,", "Thanks and best regards,", "Kind regards": the claimant's name follows.
_SIGN_OFF = re.compile(
    r"^\s*(thanks|thank you|many thanks|regards|best|kind regards|cheers|br)\b[\w ]{0,30}[,!.]?\s*$",
    re.IGNORECASE,
)
_PERSON = re.compile(r"[^\W\d_][\w'\u2019.-]*(?:\s+[^\W\d_][\w'\u2019.-]*){1,4}")
_INTRODUCTION = re.compile(
    r"\b(?:I am|I'm|my name is|this is)\s+(?P<name>[A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z'\u2019-]+){1,3})"
)
# Up to 40 characters within one sentence (a decimal point does not end it).
_GAP = r"(?:[^.]|\.(?=\d)){0,40}?"
_MERCHANT_NAME = r"[A-Z][\w&'\u2019.-]*(?:\s+(?:[A-Z][\w&'\u2019.-]*|&|de|am|of))*"
_CHARGED_BY = re.compile(rf"(?P<merchant>{_MERCHANT_NAME})\s+(?:charged|billed)\b")
_PAID_TO = re.compile(
    rf"\b(?:paid|payment)\b{_GAP}\b(?:to|at)\s+(?:the\s+)?"
    r"(?P<merchant>[A-Z][\w&'\u2019.-]*(?:\s+(?:[A-Z][\w&'\u2019.-]*|&|de|am|of))*)"
)
_BOUGHT_AT = re.compile(
    r"\b(?:stayed|stay|dinner|lunch|breakfast|rented|hired|bought|purchased|booked|ordered|took)"
    rf"\b{_GAP}\b(?:at|from|with)\s+(?:the\s+)?"
    r"(?P<merchant>[A-Z][\w&'\u2019.-]*(?:\s+(?:[A-Z][\w&'\u2019.-]*|&|de|am|of))*)"
)
_AT_MERCHANT = re.compile(
    r"\b(?:at|from|with)\s+(?:the\s+)?"
    r"(?P<merchant>[A-Z][\w&'\u2019.-]*(?:\s+(?:[A-Z][\w&'\u2019.-]*|&|de|am|of))*"
    r"\s+(?:GmbH|AG|Ltd|Limited|Inc|LLC|SA|SAS|BV|plc|S\.A\.))"
)
# A receipt's first line names the merchant, unless it is a title, a greeting or a label.
_NOT_A_MERCHANT = re.compile(
    r":|\b(expense|claim|receipt|invoice|reimbursement|hello|hi|dear|subject|from)\b", re.IGNORECASE
)
_REFUND_LINE = re.compile(r"\b(iban|bank|account|refund|reimburse|transfer|pay)", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    value: str
    confidence: float


def _labelled(text: str) -> dict[str, list[str]]:
    """Values of labelled lines, by field (longest matching label wins: "employee id" is not
    "employee")."""
    found: dict[str, list[str]] = defaultdict(list)
    by_label = sorted(
        ((label, name) for name, labels in LABELS.items() for label in labels),
        key=lambda pair: -len(pair[0]),
    )
    for line in text.splitlines():
        match = _LABEL_LINE.match(line)
        if match is None:
            continue
        label = " ".join(match["label"].lower().replace(".", " ").split())
        for known, name in by_label:
            if label == known or label.startswith(f"{known} ("):
                found[name].append(match["value"])
                break
    return found


def _one_of(values: list[str], name: str, confidence: float) -> Found | None:
    """A field's candidates reduced to one value: agreeing candidates keep `confidence`,
    disagreeing ones are a conflict."""
    if not values:
        return None
    distinct = {fields.normalised(name, _try(name, value) or value) for value in values}
    return Found(values[0], confidence if len(distinct) == 1 else CONFLICT)


def _try(name: str, raw: str) -> Any:
    try:
        return fields.coerce(name, raw)
    except ValueError:
        return None


def _money(text: str) -> tuple[Found, Found] | None:
    """(amount, currency) from the sums of money in the text: the one on a "total" line, or
    the only one there is."""
    mentions: list[tuple[str, str, bool]] = []
    for line in text.splitlines():
        for match in fields.MONEY.finditer(line):
            number = match["number_a"] or match["number_b"]
            currency = match["before"] or match["after"]
            mentions.append((number, currency, bool(_TOTAL_LINE.search(line))))
    if not mentions:
        return None
    totals = [m for m in mentions if m[2]]
    if totals:
        chosen, confidence = totals[-1], MONEY_TOTAL
        if len({fields.parse_number(m[0]) for m in totals}) > 1:
            confidence = CONFLICT
    elif len({fields.parse_number(m[0]) for m in mentions}) == 1:
        chosen, confidence = mentions[0], SINGLE_MENTION
    else:
        chosen, confidence = mentions[-1], GUESS
    return Found(chosen[0], confidence), Found(chosen[1], confidence)


def _dates(text: str) -> Found | None:
    values = [match.group(0) for match in fields.DATE.finditer(text)]
    if not values:
        return None
    distinct = {fields.parse_date(value) for value in values}
    return Found(values[0], SINGLE_MENTION if len(distinct) == 1 else GUESS)


def _pattern(pattern: re.Pattern[str], name: str, text: str) -> Found | None:
    return _one_of([match.group(0) for match in pattern.finditer(text)], name, PATTERN)


def _iban(text: str) -> Found | None:
    """An IBAN, preferring those on a line about being paid (a receipt's VAT number has the
    same shape)."""
    lines = text.splitlines()
    candidates = [
        (m.group(0), bool(_REFUND_LINE.search(line)))
        for line in lines
        for m in fields.IBAN.finditer(line)
    ]
    preferred = [value for value, on_refund_line in candidates if on_refund_line]
    return _one_of(preferred or [value for value, _ in candidates], "iban", PATTERN)


def _clean(name: str, value: str) -> str:
    """A labelled value without what follows the value itself: "Jane Doe (staff ID E10234)",
    "Jane Doe, employee ID E10234", "Hotel Sacher (see note)"."""
    if name in ("employee_name", "merchant"):
        value = re.split(r"\s*[(\[]|,\s|\s+-\s", value, maxsplit=1)[0]
    return value.strip()


def _name(text: str) -> Found | None:
    """The claimant from an introduction ("I'm Jane Doe") or the line after a sign-off."""
    lines = [line.strip() for line in text.splitlines()]
    for number, line in enumerate(lines[:-1]):
        if _SIGN_OFF.match(line) and re.fullmatch(
            r"[A-Z][\w'\u2019-]+(\s+[A-Z][\w'\u2019-]+){1,3}", lines[number + 1]
        ):
            return Found(lines[number + 1], WORDING)
    match = _INTRODUCTION.search(text)
    return Found(match["name"], WORDING) if match else None


def _merchant(text: str) -> Found | None:
    """Who was paid: a receipt's header line, or "paid ... to X", "stayed at X", "at X GmbH"."""
    if _TOTAL_LINE.search(text):
        top = [line.strip() for line in text.splitlines() if line.strip()][:3]
        header = next((line for line in top if not _NOT_A_MERCHANT.search(line)), "")
        if header and len(header) <= 40 and not re.search(r"[,;()]|\.\s|\d{3}", header):
            return Found(header, WORDING)
    for pattern in (_PAID_TO, _BOUGHT_AT, _AT_MERCHANT, _CHARGED_BY):
        match = pattern.search(text)
        if match:
            # "paid EUR 20 to Uber. Receipt attached": the name ends with its sentence.
            return Found(re.split(r"\.\s", match["merchant"])[0].rstrip("."), WORDING)
    return None


def _category(text: str) -> Found:
    """The category whose words the text uses most; "other" (a guess) when it uses none."""
    counts = fields.category_counts(text)
    if not counts:
        return Found(Category.OTHER.value, GUESS)
    ranked = counts.most_common(2)
    tied = len(ranked) > 1 and ranked[1][1] == ranked[0][1]
    return Found(ranked[0][0].value, GUESS if tied else KEYWORD)


def extract(text: str) -> dict[str, fields.FieldValue]:
    """Every field of the record as found in `text` (value as written, with a confidence)."""
    labelled = _labelled(text)
    found: dict[str, Found | None] = {
        name: _one_of([_clean(name, value) for value in values], name, LABELLED)
        for name, values in labelled.items()
    }
    # A labelled amount carries its own currency ("Amount: EUR 45.60"), as sure as the label.
    amount = found.get("amount")
    if found.get("currency") is None and amount is not None:
        money_in_amount = fields.parse_money(amount.value)
        if money_in_amount:
            found["currency"] = Found(money_in_amount[1], amount.confidence)
    money = _money(text)
    fallbacks: dict[str, Callable[[], Found | None]] = {
        "employee_id": lambda: _pattern(fields.EMPLOYEE_ID, "employee_id", text),
        "iban": lambda: _iban(text),
        "amount": lambda: money[0] if money else None,
        "currency": lambda: money[1] if money else None,
        "claim_date": lambda: _dates(text),
        "employee_name": lambda: _name(text),
        "merchant": lambda: _merchant(text),
        "category": lambda: _category(text),
    }
    for name, fallback in fallbacks.items():
        if found.get(name) is None:
            found[name] = fallback()
    found = _cross_checked(found, text)
    return {
        name: fields.FieldValue(value=f.value, confidence=f.confidence)
        if (f := found.get(name))
        else fields.FieldValue()
        for name in fields.field_names()
    }


_PAID_LINE = re.compile(r"\b(paid|bought|purchased|spent|incurred|charged)\b", re.IGNORECASE)


def _disagrees(name: str, chosen: str, others: list[str]) -> bool:
    """Whether another mention of field `name` in the document names a different value."""
    mine = fields.normalised(name, _try(name, chosen))
    return any(
        (theirs := fields.normalised(name, _try(name, other))) and theirs != mine
        for other in others
    )


def _cross_checked(found: dict[str, Found | None], text: str) -> dict[str, Found | None]:
    """Values the rest of the document contradicts become conflicts: a labelled "Amount"
    beside a different total, an employee number or IBAN beside another one, a labelled date
    beside a different date of payment, a currency beside an amount in another currency, a
    merchant beside a receipt from someone else."""
    lines = text.splitlines()
    others: dict[str, list[str]] = {
        "employee_id": [m.group(0) for m in fields.EMPLOYEE_ID.finditer(text)],
        "iban": [m.group(0) for m in fields.IBAN.finditer(text) if _REFUND_LINE.search(text)],
        "amount": [
            m.group(0)
            for line in lines
            if _TOTAL_LINE.search(line)
            for m in fields.MONEY.finditer(line)
        ],
        "claim_date": [
            m.group(0)
            for line in lines
            if _PAID_LINE.search(line)
            for m in fields.DATE.finditer(line)
        ],
    }
    amount = found.get("amount")
    if amount is not None and (money := fields.parse_money(amount.value)):
        others["currency"] = [money[1]]
    receipt_header = _merchant(text)
    merchant = found.get("merchant")
    if receipt_header and merchant and receipt_header.value != merchant.value:
        a, b = receipt_header.value.casefold(), merchant.value.casefold()
        if a not in b and b not in a:
            found["merchant"] = Found(merchant.value, CONFLICT)
    for name, mentions in others.items():
        value = found.get(name)
        if value is not None and _disagrees(name, value.value, mentions):
            found[name] = Found(value.value, CONFLICT)
    return found


def _document(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        for part in getattr(message, "parts", []):
            if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                return part.content
    return ""


def embedded_extractor() -> FunctionModel:
    """The embedded extractor as a pydantic-ai model that answers with structured output."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        values = extract(parse_document(_document(messages)))
        tool = info.output_tools[0].name
        arguments = {name: value.model_dump() for name, value in values.items()}
        return ModelResponse(parts=[ToolCallPart(tool_name=tool, args=arguments)])

    return FunctionModel(respond, model_name=EMBEDDED_EXTRACTOR_NAME)
