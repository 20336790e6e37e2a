"""What a submitted document becomes: edit this file to change the record.

The API's OpenAPI schema, validation, the embedded extractor (through `LABELS`), the review
queue, the eval metrics (one per field) and the dashboard follow from the model below. Mark a
field that may hold personal data with `PERSONAL`: the ledger, logs and traces then store it
masked, and only the caller who submitted the document gets it in full.

Team-owned: `copier update` never overwrites this file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

# In a field's JSON schema (and so in the OpenAPI document): this field may hold personal data.
PERSONAL: JsonDict = {"x-personal-data": True}


class Category(StrEnum):
    TRAVEL = "travel"
    """Flights, trains, car rental."""
    LODGING = "lodging"
    """Hotels."""
    MEALS = "meals"
    """Restaurants and food."""
    TRANSPORT = "transport"
    """Taxis, ride-hailing, public transport, parking, fuel."""
    EQUIPMENT = "equipment"
    """Hardware and office equipment."""
    TRAINING = "training"
    """Courses, books, conference tickets."""
    OTHER = "other"


class ExpenseClaim(BaseModel):
    """One expense claim, as Finance books it."""

    model_config = ConfigDict(extra="forbid")

    employee_name: str = Field(
        min_length=2,
        max_length=100,
        description="The claimant's full name.",
        json_schema_extra=PERSONAL,
    )
    employee_id: str = Field(pattern=r"^E\d{5}$", description="Employee number: E and 5 digits.")
    claim_date: dt.date = Field(description="When the expense was incurred.")
    merchant: str = Field(min_length=2, max_length=100, description="Who was paid.")
    category: Category
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="Total claimed.")
    currency: Literal["EUR", "USD", "GBP", "CHF"] = Field(description="ISO 4217 code.")
    iban: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$",
        description="Account to reimburse, without spaces.",
        json_schema_extra=PERSONAL,
    )
    description: str | None = Field(
        default=None, max_length=500, description="Business purpose (not checked by the evals)."
    )


RECORD_MODEL = ExpenseClaim
REQUIRED_FIELDS = tuple(name for name, f in RECORD_MODEL.model_fields.items() if f.is_required())

# How documents label each field, for the embedded extractor (a real model needs no list).
# Case-insensitive; "Label: value" or "Label - value" on one line.
LABELS: dict[str, tuple[str, ...]] = {
    "employee_name": ("employee name", "employee", "claimant", "name", "submitted by",
                      "claimed by", "requested by"),
    "employee_id": ("employee id", "employee no", "employee number", "staff id", "staff no",
                    "personnel no", "personnel number", "emp id"),
    "claim_date": ("date of expense", "expense date", "receipt date", "date incurred", "date"),
    "merchant": ("merchant", "vendor", "supplier", "paid to", "payee", "store", "shop"),
    "category": ("expense type", "expense category", "category", "type"),
    "amount": ("amount claimed", "total amount", "total claimed", "grand total", "amount",
               "total"),
    "currency": ("currency",),
    "iban": ("iban", "bank account", "account", "reimburse to"),
    "description": ("business purpose", "description", "purpose", "reason", "details"),
}  # fmt: skip

# Words that name a category in free text, for the embedded extractor.
CATEGORY_WORDS: dict[Category, tuple[str, ...]] = {
    Category.TRAVEL: ("flight", "airline", "train", "rail", "car rental", "rental car",
                      "rented a car", "car hire", "boarding pass"),
    Category.LODGING: ("hotel", "inn", "accommodation", "lodging", "airbnb", "overnight stay",
                       "room", "night", "check-out", "check-in"),
    Category.MEALS: ("restaurant", "ristorante", "trattoria", "brasserie", "bistro", "dinner",
                     "lunch", "breakfast", "meal", "catering", "cafe", "café"),
    Category.TRANSPORT: ("taxi", "uber", "cab", "bus", "metro", "parking", "fuel", "petrol",
                         "ride"),
    Category.EQUIPMENT: ("monitor", "keyboard", "laptop", "headset", "chair", "desk", "mouse",
                         "equipment", "hardware"),
    Category.TRAINING: ("course", "training", "conference", "seminar", "book", "certification",
                        "workshop", "exam"),
}  # fmt: skip
