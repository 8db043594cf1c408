"""Orders split per warehouse (R-D.5, setting ``split_warehouses``). Pure: no I/O.

The rule: each product line comes from the first warehouse whose free stock holds its whole quantity,
else it is spread over the warehouses in the setting's order; a line they cannot fill together is
refused (the order waits in quarantine, never split wrong). Each warehouse used is one part: one
customer order (``oid`` = the order's + ``/M<warehouse id>``) with that warehouse's lines. Shipping,
fees and the coupon note go on the first part (the part of the earliest warehouse in the setting).
A line spread over parts is divided by quantity: its net to the grosz, nudged so that each part's VAT
as the ERP computes it from the gross (``erp_net``, assumed) adds up to the line's; the parts' gross
and VAT per rate then add up to the order's exactly.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from erpbridge.errors import RecordRejected
from erpbridge.flows.eshop_erp import mapping as m

CENT = m.CENT
# Net shifts tried, nearest first, to keep the ERP's VAT whole (up to 5 groszy always suffice at 5, 8 and 23 %,
# tests/flows/test_eshop_erp_split.py)
NUDGES = [CENT * shift for step in range(6) for shift in ((step, -step) if step else (0,))]
PARTS_SEPARATOR = ","  # the ERP ids of a split order's documents (one per warehouse part), as one ledger target


def erp_target(ids: list[str]) -> str:
    """One ledger target for the ERP documents of an order (one per warehouse part when it is split)."""
    return PARTS_SEPARATOR.join(ids)


def erp_ids(target_id: str) -> list[str]:
    """The ERP document ids a ledger target stands for (several for an order split per warehouse)."""
    return target_id.split(PARTS_SEPARATOR)


def part_oid(oid: str, warehouse_id: int) -> str:
    return f"{oid}/M{warehouse_id}"


def allocate(order: dict, lines: list[tuple[str, int]], warehouses: list[int],
             free: dict[tuple[str, int], Decimal]) -> dict[int, dict[int, int]]:
    """Warehouse -> {line index: quantity} by the rule, for ``lines`` (SKU, quantity) and the free stock per
    (SKU, warehouse); RecordRejected naming the order, line, SKU, quantity and warehouses tried when a line
    cannot be filled."""
    left = {key: max(quantity, Decimal(0)) for key, quantity in free.items()}
    parts: dict[int, dict[int, int]] = defaultdict(dict)
    for index, (sku, quantity) in enumerate(lines):
        whole = next((w for w in warehouses if left.get((sku, w), 0) >= quantity), None)
        takes = {whole: quantity} if whole is not None else _spread(sku, quantity, warehouses, left)
        if sum(takes.values()) < quantity:
            tried = ", ".join(f"{w} ({Decimal(left.get((sku, w), 0)).normalize():f} free)" for w in warehouses)
            raise RecordRejected(f"{m.describe(order)}: line {index + 1} ({sku}): {quantity} wanted, but warehouses "
                                 f"{tried} cannot fill it together (setting split_warehouses); it waits here until "
                                 "stock arrives", "NO_STOCK")
        for warehouse, taken in takes.items():
            left[(sku, warehouse)] = left.get((sku, warehouse), Decimal(0)) - taken
            parts[warehouse][index] = taken
    return {w: parts[w] for w in warehouses if w in parts}


def from_holds(lines: list[tuple[str, int]], holds: dict[int, dict[str, Decimal]],
               warehouses: list[int]) -> dict[int, dict[int, int]] | None:
    """The allocation an order's holds per warehouse record (an earlier attempt's split), or None when they do not
    cover its lines exactly."""
    order = [*warehouses, *sorted(set(holds) - set(warehouses))]
    left = {(sku, w): quantity for w, quantities in holds.items() for sku, quantity in quantities.items()}
    parts: dict[int, dict[int, int]] = defaultdict(dict)
    for index, (sku, quantity) in enumerate(lines):
        for warehouse in order:
            taken = min(int(left.get((sku, warehouse), 0)), quantity)
            if taken > 0:
                parts[warehouse][index], quantity = taken, quantity - taken
                left[(sku, warehouse)] -= taken
        if quantity:
            return None
    if not parts or any(left.values()):
        return None
    return {w: parts[w] for w in order if w in parts}


def holds(lines: list[tuple[str, int]], allocation: dict[int, dict[int, int]]) -> dict[int, dict[str, Decimal]]:
    """Warehouse -> SKU -> quantity of an allocation: what the order holds in each warehouse."""
    held: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for warehouse, taken in allocation.items():
        for index, quantity in taken.items():
            held[warehouse][lines[index][0]] += quantity
    return held


def _spread(sku: str, quantity: int, warehouses: list[int], left: dict) -> dict[int, int]:
    takes, wanted = {}, quantity
    for warehouse in warehouses:
        taken = min(int(left.get((sku, warehouse), 0)), wanted)
        if taken > 0:
            takes[warehouse], wanted = taken, wanted - taken
    return takes


def parts(customer_order: dict, order: dict, allocation: dict[int, dict[int, int]]) -> list[dict]:
    """The parts of a mapped customer order (``mapping.customer_order``'s answer): each ``{"warehouse_id",
    "invoice", "vat", "total"}``, the first carrying the shipping, fees and coupon note."""
    invoice = customer_order["invoice"]
    items = order.get("line_items") or []
    lines, rest = invoice["positions"][:len(items)], invoice["positions"][len(items):]
    shares = {index: [(w, allocation[w][index]) for w in allocation if index in allocation[w]]
              for index in range(len(items))}
    divided = {index: _divide(items[index], lines[index], shares[index]) for index in range(len(items))}
    answer = []
    for number, warehouse in enumerate(allocation):
        first = number == 0
        positions = [divided[index][warehouse] for index in allocation[warehouse]]
        vat: dict[str, Decimal] = defaultdict(Decimal)
        for position in positions:
            vat[position["tax"]] += Decimal(position.pop("vat"))
        description = invoice["description"] if first else invoice["description"].partition(m.COUPONS_NOTE)[0]
        answer.append({"warehouse_id": warehouse, "positions": positions + (copy.deepcopy(rest) if first else []),
                       "vat": vat, "invoice": invoice | {
                           "oid": part_oid(invoice["oid"], warehouse), "warehouse_id": warehouse,
                           "description": f"{description}; magazyn {warehouse}, część {number + 1} z {len(allocation)}"}})
    _first_takes_the_rest(answer, customer_order)
    for part in answer:
        part["invoice"] = part["invoice"] | {"positions": part.pop("positions")}
    return answer


def _first_takes_the_rest(answer: list[dict], customer_order: dict) -> None:
    """Totals and VAT per rate of each part; the first part's are the order's minus the others' (it carries
    shipping and fees), so over the order they add up exactly."""
    others_total, others_vat = Decimal(0), defaultdict(Decimal)
    for part in answer[1:]:
        part["total"] = str(sum((Decimal(p["total_price_gross"]) for p in part["positions"]), Decimal(0)))
        others_total += Decimal(part["total"])
        for rate, amount in part["vat"].items():
            others_vat[rate] += amount
        part["vat"] = _vat_text(part["vat"])
    first = answer[0]
    first["total"] = str(Decimal(customer_order["total"]) - others_total)
    first["vat"] = _vat_text({rate: Decimal(customer_order["vat"].get(rate, 0)) - others_vat[rate]
                              for rate in {p["tax"] for p in first["positions"]}})


def _vat_text(vat: dict[str, Decimal]) -> dict[str, str]:
    """VAT per rate as ``mapping.erp_vat`` gives it: every rate of the part's positions, to the grosz."""
    return {rate: str(amount.quantize(CENT)) for rate, amount in sorted(vat.items(), key=lambda kv: Decimal(kv[0]))}


def _divide(item: dict, position: dict, shares: list[tuple[int, int]]) -> dict[int, dict]:
    """Warehouse -> the line's position for its quantity (with its ``vat``), net and tax divided by quantity."""
    net, tax = Decimal(str(item.get("total") or 0)), Decimal(str(item.get("total_tax") or 0))
    rate = Decimal(position["tax"]) / 100
    out, quantity = {}, sum(q for _, q in shares)
    for warehouse, taken in shares[:-1]:
        part_net, part_tax = share(net, tax, rate, Decimal(taken) / quantity)
        out[warehouse] = position | {"quantity": taken, "total_price_gross": str(part_net + part_tax),
                                     "vat": str(part_tax)}
        net, tax, quantity = net - part_net, tax - part_tax, quantity - taken
    warehouse, taken = shares[-1]
    out[warehouse] = position | {"quantity": taken, "total_price_gross": str(net + tax), "vat": str(tax)}
    return out


def share(net: Decimal, tax: Decimal, rate: Decimal, fraction: Decimal) -> tuple[Decimal, Decimal]:
    """(net, tax) of a fraction of a line: the proportional net to the grosz, nudged (NUDGES) until the ERP
    reads back that net from this part's gross and the rest's net from the rest's gross."""
    ideal = (net * fraction).quantize(CENT, ROUND_HALF_UP)
    for nudge in NUDGES:
        part_net = ideal + nudge
        part_tax = (part_net * rate).quantize(CENT, ROUND_HALF_UP)
        if (erp_net(part_net + part_tax, rate) == part_net
                and erp_net(net + tax - part_net - part_tax, rate) == net - part_net):
            return part_net, part_tax
    return ideal, (ideal * rate).quantize(CENT, ROUND_HALF_UP)  # the ERP totals check will name the grosz


def erp_net(gross: Decimal, rate: Decimal) -> Decimal:
    """Assumed, verify first (README): a position given by its gross has net = gross / (1 + rate), half up."""
    return (gross / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
