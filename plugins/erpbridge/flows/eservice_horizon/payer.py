"""The payer of an e-service payment: a person by personal code or a company by registration number, each checked
with python-stdnum. Personal codes are personal data: anything shown (logs, reasons, the ledger) carries
:func:`mask` of them only."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.ee import ik, registrikood
from stdnum.exceptions import ValidationError
from stdnum.lt import asmens
from stdnum.lv import pvn

from erpbridge.errors import RecordRejected

PERSON, COMPANY = "person", "company"
# country -> the stdnum module checking a person's personal code / a company's registration number
PERSONAL_CODES = {"LV": pvn, "EE": ik, "LT": asmens}
REGISTRATION_NUMBERS = {"LV": pvn, "EE": registrikood}


@dataclass(frozen=True)
class Payer:
    kind: str  # PERSON or COMPANY
    reg_no: str  # compact personal code or registration number
    country: str
    name: str
    email: str | None = None
    address: str | None = None

    @property
    def shown(self) -> str:
        """How the payer appears in logs, reasons and the ledger."""
        return f"person {mask(self.reg_no)}" if self.kind == PERSON else f"company {self.reg_no}"


def mask(code: str | None) -> str:
    """A personal code as it may be shown: every character but the last two hidden (``*********97``)."""
    text = "".join(ch for ch in str(code or "") if ch.isalnum())
    return "*" * max(len(text) - 2, 3) + text[-2:] if len(text) > 2 else "***"


def checked(payment_payer: dict | None) -> Payer:
    """The payer of a payment, its code checked; RecordRejected naming the field and the reason otherwise."""
    payer = payment_payer if isinstance(payment_payer, dict) else {}
    kind = payer.get("type")
    country = str(payer.get("country") or "LV").upper()
    name = str(payer.get("name") or "").strip()
    if kind not in (PERSON, COMPANY):
        raise RecordRejected(f"payer.type: {kind!r} is neither {PERSON!r} nor {COMPANY!r}")
    if not name:
        raise RecordRejected("payer.name: empty")
    field = "personal_code" if kind == PERSON else "registration_number"
    raw = str(payer.get(field) or "").strip()
    shown = mask(raw) if kind == PERSON else raw[:40]
    if not raw:
        raise RecordRejected(f"payer.{field}: missing")
    validator = (PERSONAL_CODES if kind == PERSON else REGISTRATION_NUMBERS).get(country)
    if validator is None:
        raise RecordRejected(f"payer.{field}: no check for {kind}s of country {country!r} (checked: "
                             f"{', '.join(PERSONAL_CODES if kind == PERSON else REGISTRATION_NUMBERS)})", "UNMAPPED")
    try:
        code = validator.validate(raw)
    except ValidationError as exc:
        raise RecordRejected(f"payer.{field}: {shown} is not a valid {country} {field.replace('_', ' ')}"
                             f" ({exc.message.rstrip('.').lower()})") from None
    if country == "LV" and (code[0] in "0123") != (kind == PERSON):  # Latvian codes of persons start with 0..3
        raise RecordRejected(f"payer.{field}: {shown} is a {'company' if kind == PERSON else 'personal'} code,"
                             f" not a {field.replace('_', ' ')}")
    return Payer(kind, code, country, name, payer.get("email") or None, payer.get("address") or None)
