"""An e-service payment -> the Horizon sales invoice (and, refunded, the credit note) it becomes. Pure: every
refusal is a RecordRejected naming the field and the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from erpbridge.errors import RecordRejected
from erpbridge.hooks.eservice import PAID, REFUNDED

CENT = Decimal("0.01")
PAYMENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # safe inside Horizon's query criteria
REFUND_SUFFIX = "/refund"


@dataclass(frozen=True)
class Invoice:
    """What Horizon gets for one paid payment (the credit note is the same with its amounts negated)."""

    external_ref: str  # the payment id: one document per payment
    doc_date: str
    paid_date: str
    channel: str | None
    lines: tuple[dict, ...]
    total: Decimal
    vat_total: Decimal
    refunded_on: str | None  # the refund's day, when the payment was refunded

    def document(self, customer_pk: str) -> dict:
        return {"doc_type": "INVOICE", "doc_date": self.doc_date, "currency": "EUR", "external_ref": self.external_ref,
                "paid_date": self.paid_date, "payment_channel": self.channel, "total": str(self.total),
                "vat_total": str(self.vat_total), "customer_pk": customer_pk, "lines": list(self.lines)}

    def credit_note(self, customer_pk: str, invoice_pk: str) -> dict:
        negated = [{**line, "quantity": str(-Decimal(line["quantity"])), "amount": str(-Decimal(line["amount"])),
                    "vat": str(-Decimal(line["vat"]))} for line in self.lines]
        return {"doc_type": "CREDIT_NOTE", "doc_date": self.refunded_on, "currency": "EUR",
                "external_ref": self.external_ref + REFUND_SUFFIX, "paid_date": self.refunded_on,
                "payment_channel": self.channel, "total": str(-self.total), "vat_total": str(-self.vat_total),
                "customer_pk": customer_pk, "credited_pk": invoice_pk, "lines": negated}


def invoice(payment: dict, services: dict[str, str], timezone: str) -> Invoice:
    """The invoice for a paid or refunded ``payment``; ``services`` maps its service code to a Horizon article."""
    payment_id = str(payment.get("id") or "")
    if not PAYMENT_ID.match(payment_id):
        raise RecordRejected(f"id: {payment_id[:70]!r} is not a payment id (letters, digits, . _ -; at most 64)")
    code = payment.get("service_code")
    article = services.get(code or "")
    if article is None:
        raise RecordRejected(f"service_code: {code!r} is not mapped to a Horizon article (services in the Variable"
                             " erpbridge_eservice_payments_horizon)", "UNMAPPED")
    if (payment.get("currency") or "EUR") != "EUR":
        raise RecordRejected(f"currency: {payment.get('currency')!r}: only EUR payments are invoiced")
    positions = payment.get("positions")
    if not isinstance(positions, list) or not positions:
        raise RecordRejected("positions: none")
    step = f" (step {payment['service_step']})" if payment.get("service_step") else ""
    lines = tuple(_line(n, position, article, f"{code}{step}") for n, position in enumerate(positions, 1))
    total = sum((Decimal(line["amount"]) + Decimal(line["vat"]) for line in lines), Decimal("0.00"))
    paid = _amount(payment.get("amount"), "amount")
    if paid != total:
        raise RecordRejected(f"amount: {paid} paid, but the positions add up to {total}")
    refunded_on = _day(payment.get("refunded_at"), "refunded_at", timezone) \
        if payment.get("status") == REFUNDED else None
    paid_on = _day(payment.get("paid_at"), "paid_at", timezone)
    return Invoice(payment_id, paid_on, paid_on, payment.get("channel"), lines, total,
                   sum((Decimal(line["vat"]) for line in lines), Decimal("0.00")), refunded_on)


def invoiced(payment: dict) -> bool:
    """Only paid (and later refunded) payments become invoices; pending or failed ones never do."""
    return payment.get("status") in (PAID, REFUNDED)


def _line(number: int, position, article: str, service: str) -> dict:
    where = f"positions[{number}]"
    if not isinstance(position, dict):
        raise RecordRejected(f"{where}: not a position")
    quantity = _amount(position.get("quantity", "1"), f"{where}.quantity", places=None)
    price = _amount(position.get("unit_price"), f"{where}.unit_price", places=None)
    rate = _amount(position.get("vat_rate"), f"{where}.vat_rate", places=None)
    if quantity <= 0 or price < 0 or not 0 <= rate <= 100:
        raise RecordRejected(f"{where}: quantity must be positive, unit_price not negative, vat_rate 0..100")
    net = (quantity * price).quantize(CENT, ROUND_HALF_UP)
    vat = (net * rate / 100).quantize(CENT, ROUND_HALF_UP)
    given_vat = _amount(position.get("vat_amount"), f"{where}.vat_amount")
    if abs(given_vat - vat) > CENT:
        raise RecordRejected(f"{where}.vat_amount: {given_vat}, but {rate} % of {net} is {vat}")
    total = _amount(position.get("total"), f"{where}.total")
    if total != net + given_vat:
        raise RecordRejected(f"{where}.total: {total}, but net {net} + VAT {given_vat} is {net + given_vat}")
    description = " ".join(str(position.get("description") or position.get("code") or "").split())
    return {"article": article, "description": f"{description} [{service}]", "quantity": str(quantity),
            "price": str(price), "vat_rate": str(rate), "amount": str(net), "vat": str(given_vat)}


def _amount(text, field: str, places: Decimal | None = CENT) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, AttributeError):
        raise RecordRejected(f"{field}: {str(text)[:40]!r} is not a number") from None
    if not value.is_finite() or abs(value) > Decimal("999999999") or (places and value != value.quantize(places)):
        raise RecordRejected(f"{field}: {str(text)[:40]!r} is not an amount in cents" if places
                             else f"{field}: {str(text)[:40]!r} is out of range")
    return value.quantize(places) if places else value


def _day(text, field: str, timezone: str) -> str:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise RecordRejected(f"{field}: {str(text)[:40]!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise RecordRejected(f"{field}: {text!r} has no time zone")
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()
