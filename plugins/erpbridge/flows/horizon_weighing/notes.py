"""One sales order and its weighed labels -> the delivery note to create, or why it waits.

A line is weighed when as many labels of its GTIN arrived as it has packages; the note waits until every line
is. The note's line: the labels' net kilograms (their decimals kept), the order's price per kg, and amount =
weight x price rounded half up to the cent. A line whose weight differs from the ordered kilograms by more
than ``tolerance_percent``, or with more packages than ordered, needs a person's review first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from erpbridge.errors import RecordRejected
from erpbridge.ledger.weighings import Weighing

CENT = Decimal("0.01")


@dataclass
class Plan:
    order: dict
    labels: list[Weighing]
    note: dict | None = None  # the delivery note, once every line is weighed
    waiting: list[str] = field(default_factory=list)  # lines still short of packages
    review: list[str] = field(default_factory=list)  # why a person must look first

    @property
    def reference(self) -> str:
        """Our reference on the Horizon note: one note per sales order."""
        return f"WEIGH-{self.order['pk']}"

    @property
    def digest(self) -> str:
        """What the note counts: a person's confirmation holds for exactly these labels."""
        text = "\n".join(f"{w.label_id}|{w.net_kg}" for w in sorted(self.labels, key=lambda w: w.label_id))
        return hashlib.sha256(text.encode()).hexdigest()


def plan(order: dict, labels: list[Weighing], tolerance_percent: Decimal) -> Plan:
    """The plan for ``order`` over its countable ``labels``; RecordRejected for an order that cannot be weighed."""
    result = Plan(order, labels)
    note_lines = []
    for line in checked_lines(order):
        weighed = [w for w in labels if w.gtin == line["gtin"]]
        name = f"line {line['line_no']} ({line['item_code']}, GTIN {line['gtin']})"
        if len(weighed) < line["packages"]:
            result.waiting.append(f"{name}: {len(weighed)} of {line['packages']} packages weighed")
            continue
        kilograms = sum((w.net_kg for w in weighed), Decimal(0))
        if len(weighed) > line["packages"]:
            result.review.append(f"{name}: {len(weighed)} packages weighed, {line['packages']} ordered")
        allowed = line["quantity_kg"] * tolerance_percent / 100
        if abs(kilograms - line["quantity_kg"]) > allowed:
            result.review.append(f"{name}: {kilograms} kg weighed, {line['quantity_kg']} kg ordered"
                                 f" (tolerance {tolerance_percent} %)")
        note_lines.append({"line_no": line["line_no"], "item_code": line["item_code"], "gtin": line["gtin"],
                           "packages": len(weighed), "quantity_kg": kilograms, "price": line["price"],
                           "amount": (kilograms * line["price"]).quantize(CENT, ROUND_HALF_UP),
                           "lots": ",".join(sorted({w.lot for w in weighed if w.lot}))})
    if not result.waiting:
        result.note = {"order_pk": order["pk"], "reference": result.reference,
                       "date": max(w.weighed_at for w in labels).date().isoformat(),
                       "amount": sum((line["amount"] for line in note_lines), Decimal(0)), "lines": note_lines}
    return result


def checked_lines(order: dict) -> list[dict]:
    """The order's lines with numbers as numbers; RecordRejected for an order no label could be matched to."""
    lines = [_line(order, line) for line in order["lines"]]
    gtins = [line["gtin"] for line in lines]
    if not lines:
        raise RecordRejected(f"sales order {order['order_no']} has no lines", "INVALID_ORDER")
    if len(set(gtins)) < len(gtins):
        raise RecordRejected(f"sales order {order['order_no']}: two lines with the same GTIN; a label cannot tell"
                             " them apart", "INVALID_ORDER")
    return lines


def _line(order: dict, line: dict) -> dict:
    try:
        packages, kilograms, price = int(line["packages"]), Decimal(line["quantity_kg"]), Decimal(line["price"])
    except (TypeError, ValueError, InvalidOperation):
        raise RecordRejected(f"sales order {order['order_no']} line {line.get('line_no')}: Packages, Quantity and"
                             " Price must be numbers", "INVALID_ORDER") from None
    if packages < 1 or kilograms <= 0 or price < 0 or not line.get("gtin"):
        raise RecordRejected(f"sales order {order['order_no']} line {line.get('line_no')}: needs a GTIN, packages"
                             " and kilograms above 0 and a price", "INVALID_ORDER")
    return {**line, "packages": packages, "quantity_kg": kilograms, "price": price}
