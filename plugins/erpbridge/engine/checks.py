"""Field checks shared by mappings: each raises RecordRejected with a reason a user understands."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from erpbridge.errors import RecordRejected

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def text(record_name: str, field: str, value, *, required: bool = False, max_length: int | None = None) -> str | None:
    """Trimmed text; refuses missing required values, over-long values and control characters."""
    if value is None or str(value).strip() == "":
        if required:
            raise RecordRejected(f"{record_name}: {field} is missing")
        return None
    value = str(value).strip()
    if _CONTROL.search(value):
        raise RecordRejected(f"{record_name}: {field} contains control characters")
    if max_length is not None and len(value) > max_length:
        raise RecordRejected(f"{record_name}: {field} is {len(value)} characters long, at most {max_length} allowed",
                             "INVALID_DATA_SIZE")
    return value


def amount(record_name: str, field: str, value) -> Decimal | None:
    """A decimal amount from a number or text ("1 234,50", "1e3", 0.1); floats go through str to stay exact."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordRejected(f"{record_name}: {field} {value!r} is not an amount")
    raw = str(value).replace("\u00a0", "").replace(" ", "")
    if "," in raw and "." not in raw:
        raw = raw.replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise RecordRejected(f"{record_name}: {field} {value!r} is not an amount") from None
    if not number.is_finite():
        raise RecordRejected(f"{record_name}: {field} {value!r} is not an amount")
    return number
