"""A weighing's GS1-128 label data -> GTIN, net weight in kg (AI 310n, n decimals), lot (10), pack date (13).

Each element is decoded and checked by ``stdnum.gs1_128`` (the GTIN's check digit, the date, the decimals);
a label that does not parse is refused naming the label and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from stdnum import gs1_128
from stdnum.exceptions import ValidationError

from erpbridge.hooks.weighing import label_elements

NET_WEIGHT = tuple(f"310{n}" for n in range(6))  # net weight in kg, n decimals
FIELDS = {"01": "GTIN (01)", "310n": "net weight (310n)", "10": "lot (10)", "13": "pack date (13)"}


class LabelRefused(ValueError):
    """A label that does not parse: ``field`` names the part that failed."""

    def __init__(self, label_id: str, field: str, reason: str):
        super().__init__(f"label {label_id}: {field}: {reason}")
        self.field = field


@dataclass(frozen=True)
class Label:
    gtin: str
    net_kg: Decimal
    lot: str
    pack_date: date


def parse(label_id: str, data: str) -> Label:
    elements = label_elements(data)
    if not elements:
        raise LabelRefused(label_id, "label data", f"{(data or '')[:80]!r} is not GS1-128 data in the form (AI)value")
    values: dict[str, object] = {}
    for ai, value in elements:
        field = FIELDS["310n"] if ai in NET_WEIGHT else FIELDS.get(ai, f"({ai})")
        try:
            decoded = gs1_128.info(f"({ai}){value}")
        except ValidationError as exc:
            raise LabelRefused(label_id, field, f"{value!r}: {exc}") from None
        except (ValueError, ArithmeticError):  # stdnum's decoding of a number or date that is none
            raise LabelRefused(label_id, field, f"{value!r} is not a valid value of this field") from None
        key = "310n" if ai in NET_WEIGHT else ai
        if key in values:
            raise LabelRefused(label_id, field, "given twice")
        values[key] = next(iter(decoded.values()))
    missing = [FIELDS[key] for key in FIELDS if key not in values]
    if missing:
        raise LabelRefused(label_id, missing[0], "missing")
    if values["310n"] <= 0:
        raise LabelRefused(label_id, FIELDS["310n"], f"{values['310n']} kg is not a weight")
    return Label(gtin=values["01"], net_kg=values["310n"], lot=values["10"], pack_date=values["13"])
