"""WooCommerce orders -> Fakturownia customer orders (ZK, kind ``estimate``). Pure: no I/O.

Orders are WooCommerceHook dicts. Each line, shipping line and fee becomes a position at its gross
amount (``total`` + ``total_tax``: what the buyer pays, coupons already taken off), with the VAT rate
of its tax (``tax_lines[].rate_percent``). Before anything moves, the order must add up: its
positions to its total, and its taxes per rate to its tax lines, to the grosz; a difference is
refused with both amounts, never absorbed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal

from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.pl import nip as polish_nip

from erpbridge.engine import checks
from erpbridge.errors import RecordRejected

CENT = Decimal("0.01")
ERP_ORDER_KIND = "estimate"  # Fakturownia's customer order ("zamówienie")
COUPONS_NOTE = "; kupony: "  # in a customer order's description, before the coupons used


@dataclass(frozen=True)
class Buyer:
    """Who the ERP's customer card is for. Matched by NIP when given, else by e-mail."""

    name: str
    nip: str | None
    email: str | None
    company: bool
    first_name: str | None = None
    last_name: str | None = None
    street: str | None = None
    city: str | None = None
    post_code: str | None = None
    country: str | None = None
    external_id: str | None = None

    def key(self) -> str:
        return f"nip:{self.nip}" if self.nip else f"email:{self.email}"

    def card(self) -> dict:
        """A new Fakturownia client for this buyer."""
        card = {k: v for k, v in asdict(self).items() if v is not None and k != "nip"}
        if self.nip:
            card["tax_no"] = self.nip
        return card


STOCK_HOLDING = ("on-hold", "processing", "completed")  # statuses in which WooCommerce has reduced the stock


def quantities(order: dict) -> dict[str, Decimal]:
    """SKU -> quantity of an order's product lines (lines without a SKU or quantity left out)."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    for line in order.get("line_items") or []:
        sku, quantity = str(line.get("sku") or "").strip(), line.get("quantity")
        if sku and isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
            held[sku] += quantity
    return dict(held)


def pickup_location(order: dict, method_ids: list[str], meta_key: str) -> str | None:
    """The pickup location's name of a store-pickup order (WooCommerce keeps only the name: in the shipping
    line's or the order's meta data, else the method title); None when the order is shipped."""
    for line in order.get("shipping_lines") or []:
        if line.get("method_id") in method_ids:
            named = next((m.get("value") for m in line.get("meta_data") or [] if m.get("key") == meta_key), None)
            return str(named or meta(order, meta_key) or line.get("method_title") or "").strip()
    return None


def store_transfer(order: dict, reference: str, customer_order: dict, *, from_warehouse: int,
                   to_warehouse: int) -> dict:
    """The MM moving a pickup order's goods (the customer order's product positions) to the store."""
    actions = [{"product_id": p["product_id"], "quantity": p["quantity"], "warehouse2_id": to_warehouse}
               for p in customer_order.get("positions") or [] if p.get("product_id")]
    if not actions:
        raise RecordRejected(f"{describe(order)}: its customer order has no product positions to move", "EMPTY_ORDER")
    return {"document": {"kind": "mm", "warehouse_id": from_warehouse, "description": reference,
                         "client_id": customer_order.get("client_id"), "warehouse_actions": actions}}


def describe(order: dict) -> str:
    return f"order {order.get('number') or order.get('id')}"


def reference(order: dict, prefix: str) -> str:
    """The ERP order id (``oid``) of a shop order: stable, and unique per shop."""
    return f"{prefix}{order.get('number') or order['id']}"


def meta(order: dict, key: str):
    return next((m.get("value") for m in order.get("meta_data") or [] if m.get("key") == key), None)


def nip(order: dict, meta_key: str) -> str | None:
    """The buyer's NIP from the order's meta data, validated (checksum); None when not given."""
    raw = meta(order, meta_key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return polish_nip.validate(str(raw))
    except NumberInvalid as exc:
        raise RecordRejected(f"{describe(order)}: NIP {str(raw).strip()!r} (order meta {meta_key}) is not a valid "
                             f"Polish NIP: {exc.message} Correct it in the order.", "INVALID_NIP") from None


def buyer(order: dict, nip_meta_key: str) -> Buyer:
    billing = order.get("billing") or {}
    name = describe(order)
    tax_no = nip(order, nip_meta_key)
    email = (checks.text(name, "billing e-mail", billing.get("email")) or "").lower() or None
    if not tax_no and not email:
        raise RecordRejected(f"{name}: neither a NIP nor a billing e-mail, so no customer card can be matched or "
                             "made; add the buyer's e-mail to the order", "NO_BUYER")
    person = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p and str(p).strip())
    company = (billing.get("company") or "").strip()
    card_name = company if tax_no and company else person or company or email or tax_no
    customer_id = order.get("customer_id") or 0
    return Buyer(name=card_name, nip=tax_no, email=email, company=bool(tax_no),
                 first_name=billing.get("first_name") or None, last_name=billing.get("last_name") or None,
                 street=" ".join(p for p in (billing.get("address_1"), billing.get("address_2")) if p) or None,
                 city=billing.get("city") or None, post_code=billing.get("postcode") or None,
                 country=billing.get("country") or None,
                 external_id=f"woocommerce:{customer_id}" if customer_id else None)


def _money(order: dict, what: str, value) -> Decimal:
    number = checks.amount(describe(order), what, value)
    return number if number is not None else Decimal(0)


def _rates(order: dict) -> dict[int, Decimal]:
    """Tax rate id -> VAT percent, from the order's tax lines."""
    rates = {}
    for line in order.get("tax_lines") or []:
        if line.get("rate_percent") is None:
            raise RecordRejected(f"{describe(order)}: tax line {line.get('label') or line.get('rate_id')} has no "
                                 "rate_percent, so the VAT rate of its lines is unknown", "NO_TAX_RATE")
        rates[line["rate_id"]] = Decimal(str(line["rate_percent"])).normalize()
    return rates


def _tax(order: dict, what: str, item: dict, rates: dict[int, Decimal]) -> tuple[Decimal, Decimal]:
    """(VAT percent, tax amount) of one line; refuses a line taxed at several rates or at none."""
    taxes = [t for t in item.get("taxes") or [] if _money(order, f"{what} tax", t.get("total")) != 0]
    total_tax = _money(order, f"{what} total_tax", item.get("total_tax"))
    if len(taxes) > 1:
        raise RecordRejected(f"{describe(order)}: {what} is taxed at {len(taxes)} rates; a position takes one",
                             "SEVERAL_TAX_RATES")
    if not taxes:
        if total_tax != 0:
            raise RecordRejected(f"{describe(order)}: {what} has tax {total_tax} but names no tax rate", "NO_TAX_RATE")
        ids = [t.get("id") for t in item.get("taxes") or [] if t.get("id") in rates]
        if ids:
            return rates[ids[0]], Decimal(0)
        raise RecordRejected(f"{describe(order)}: {what} carries no tax rate (are taxes on in WooCommerce?); the "
                             "ERP needs a VAT rate for every position", "NO_TAX_RATE")
    if taxes[0].get("id") not in rates:
        raise RecordRejected(f"{describe(order)}: {what} names tax rate {taxes[0].get('id')} that the order's tax "
                             "lines do not list", "NO_TAX_RATE")
    return rates[taxes[0]["id"]], total_tax


def _position(name: str, quantity: int, net: Decimal, tax: Decimal, rate: Decimal, **extra) -> dict:
    return {"name": name, "quantity": quantity, "tax": format(rate, "f"), "total_price_gross": str(net + tax),
            "quantity_unit": "szt", **extra}


def customer_order(order: dict, oid: str, *, currency: str, warehouse_id: int | None, products: dict[str, int],
                   nip_meta_key: str) -> dict:
    """``{"invoice": the ZK without its client, "buyer": Buyer fields, "vat": {rate: amount}, "total"}``;
    RecordRejected (naming the order, the line and the reason) for an order the ERP must not take."""
    name = describe(order)
    if (order.get("currency") or "").upper() != currency.upper():
        raise RecordRejected(f"{name}: currency {order.get('currency')!r}; the ERP documents are issued in "
                             f"{currency} only (setting currency)", "CURRENCY")
    rates = _rates(order)
    positions, vat = [], defaultdict(Decimal)
    for index, line in enumerate(order.get("line_items") or [], 1):
        sku = (line.get("sku") or "").strip()
        what = f"line {index} ({sku or line.get('name') or 'no name'})"
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise RecordRejected(f"{name}: {what}: quantity {quantity!r} is not a positive whole number",
                                 "INVALID_QUANTITY")
        if not sku:
            raise RecordRejected(f"{name}: {what}: the product has no SKU; give it the SKU equal to its product code "
                                 "in Fakturownia", "UNKNOWN_SKU")
        if sku not in products:
            raise RecordRejected(f"{name}: {what}: SKU {sku} is not a product code in Fakturownia; add the product "
                                 "there or correct the SKU in the shop", "UNKNOWN_SKU")
        rate, tax = _tax(order, what, line, rates)
        vat[rate] += tax
        positions.append(_position(line.get("name") or sku, quantity, _money(order, f"{what} total", line.get("total")),
                                   tax, rate, product_id=products[sku], code=sku))
    if not positions:
        raise RecordRejected(f"{name}: no product lines", "EMPTY_ORDER")
    for index, line in enumerate(order.get("shipping_lines") or [], 1):
        net = _money(order, f"shipping {index} total", line.get("total"))
        if net == 0 and _money(order, "shipping tax", line.get("total_tax")) == 0:
            continue  # free shipping: nothing to charge
        rate, tax = _tax(order, f"shipping {index} ({line.get('method_title')})", line, rates)
        vat[rate] += tax
        positions.append(_position(f"Wysyłka: {line.get('method_title') or line.get('method_id')}", 1, net, tax, rate))
    for index, fee in enumerate(order.get("fee_lines") or [], 1):
        rate, tax = _tax(order, f"fee {index} ({fee.get('name')})", fee, rates)
        vat[rate] += tax
        positions.append(_position(fee.get("name") or "Opłata", 1, _money(order, f"fee {index} total", fee.get("total")),
                                   tax, rate))
    _check_totals(order, positions, vat, rates)
    coupons = ", ".join(f"{c.get('code')} (-{c.get('discount')})" for c in order.get("coupon_lines") or [])
    created = str(order.get("date_created") or "")[:10] or None
    invoice = {"kind": ERP_ORDER_KIND, "oid": oid, "oid_unique": "yes", "issue_date": created, "sell_date": created,
               "currency": currency, "positions": positions, "payment_type": order.get("payment_method_title") or None,
               "description": f"Zamówienie ze sklepu nr {order.get('number') or order['id']}"
                              + (f"{COUPONS_NOTE}{coupons}" if coupons else ""),
               "internal_note": order.get("customer_note") or None}
    if warehouse_id is not None:
        invoice["warehouse_id"] = warehouse_id
    return {"invoice": {k: v for k, v in invoice.items() if v is not None},
            "buyer": asdict(buyer(order, nip_meta_key)),
            "vat": {format(rate, "f"): str(amount) for rate, amount in sorted(vat.items())},
            "total": str(_money(order, "total", order.get("total")))}


def _check_totals(order: dict, positions: list[dict], vat: dict[Decimal, Decimal], rates: dict[int, Decimal]) -> None:
    name = describe(order)
    gross = sum((Decimal(p["total_price_gross"]) for p in positions), Decimal(0))
    total = _money(order, "total", order.get("total"))
    if gross != total:
        raise RecordRejected(f"{name}: its lines, shipping and fees add up to {gross} {order.get('currency')}, its "
                             f"total says {total} (difference {gross - total}); correct the order in the shop",
                             "TOTALS_DIFFER")
    stated = defaultdict(Decimal)
    for line in order.get("tax_lines") or []:
        stated[rates[line["rate_id"]]] += (_money(order, "tax_total", line.get("tax_total"))
                                           + _money(order, "shipping_tax_total", line.get("shipping_tax_total")))
    for rate in sorted(set(stated) | set(vat)):
        if stated[rate] != vat[rate]:
            raise RecordRejected(f"{name}: VAT {rate} %: its lines carry {vat[rate]}, its tax line says {stated[rate]} "
                                 f"(difference {vat[rate] - stated[rate]}); correct the order in the shop",
                                 "VAT_DIFFERS")


def erp_vat(invoice: dict) -> dict[str, str]:
    """VAT per rate of an ERP document as the ERP computed it (gross - net of its positions)."""
    vat = defaultdict(Decimal)
    for position in invoice.get("positions") or []:
        vat[Decimal(str(position["tax"])).normalize()] += (Decimal(str(position["total_price_gross"]))
                                                           - Decimal(str(position["total_price_net"])))
    return {format(rate, "f"): str(amount.quantize(CENT)) for rate, amount in sorted(vat.items())}


# --- paid orders -> sales documents, refunds -> corrections -------------------------------------------

YES = {"1", "yes", "tak", "true", "on"}
INVOICE_KIND, RECEIPT_KIND, CORRECTION_KIND = "vat", "receipt", "correction"


def sales_kind(order: dict, *, nip_meta_key: str, invoice_meta_key: str) -> str:
    """A VAT invoice when the buyer gave a NIP or asked for one, a receipt otherwise."""
    asked = str(meta(order, invoice_meta_key) or "").strip().lower() in YES
    return INVOICE_KIND if asked or nip(order, nip_meta_key) else RECEIPT_KIND


def _erp_position(position: dict, sign: int = 1, quantity=None) -> dict:
    copied = {"name": position["name"], "tax": position["tax"], "quantity_unit": position.get("quantity_unit") or "szt",
              "quantity": quantity if quantity is not None else position["quantity"],
              "total_price_gross": str(sign * Decimal(str(position["total_price_gross"])))}
    if position.get("product_id"):
        copied["product_id"] = position["product_id"]
    if position.get("code"):
        copied["code"] = position["code"]
    return copied


def sales_document(order: dict, oid: str, customer_order: dict, *, kind: str, warehouse_id: int | None,
                   ksef_send: bool, total: str | None = None) -> dict:
    """The sales document of a paid order (or of one of its parts, paid ``total``): the customer order's
    positions (as the ERP holds them), issued from ``warehouse_id``, linked to the customer order."""
    paid = str(order.get("date_paid_gmt") or order.get("date_paid") or "")[:10] or None
    document = {"kind": kind, "oid": oid, "oid_unique": "yes", "client_id": customer_order["client_id"],
                "from_invoice_id": customer_order["id"], "issue_date": paid, "sell_date": paid,
                "currency": customer_order.get("currency"), "payment_type": order.get("payment_method_title") or None,
                "description": f"Zamówienie ze sklepu nr {order.get('number') or order['id']}",
                "positions": [_erp_position(p) for p in customer_order.get("positions") or []]}
    if warehouse_id is not None:
        document["warehouse_id"] = warehouse_id
    if kind == INVOICE_KIND and ksef_send:
        document["gov_save_and_send"] = True
    total = total or str(_money(order, "total", order.get("total")))
    return {"invoice": {k: v for k, v in document.items() if v is not None},
            "payment": {"name": f"{oid} {order.get('transaction_id') or ''}".strip(), "price": total, "paid": True,
                        "kind": "api", "paid_date": order.get("date_paid_gmt"),
                        "description": order.get("payment_method_title")},
            "total": total}


def correction(order: dict, refund: dict, oid: str, sale: dict, *, warehouse_id: int | None) -> dict:
    """A refund's correction of the sales document: each refunded line at minus its quantity and amount
    (the ERP takes the quantity back into stock)."""
    name = f"{describe(order)} refund {refund.get('id')}"
    lines = {line["id"]: line for line in order.get("line_items") or []}
    by_code = {p.get("code"): p for p in sale.get("positions") or [] if p.get("code")}
    positions = []
    for item in refund.get("line_items") or []:
        line = lines.get(item.get("refunded_item_id"))
        sku = (line or {}).get("sku") or item.get("sku")
        original = by_code.get(sku)
        if original is None:
            raise RecordRejected(f"{name}: refunded line {item.get('name') or sku!r} is not on the sales document "
                                 f"{sale.get('number')}; make the correction by hand", "REFUND_LINE")
        gross = _money(order, "refund total", item.get("total")) + _money(order, "refund tax", item.get("total_tax"))
        quantity = abs(int(item.get("quantity") or 0))
        before_quantity = Decimal(str(original["quantity"]))
        corrected = _erp_position(original, quantity=-quantity) | {"total_price_gross": str(gross)}
        corrected |= {"kind": "correction",
                      "correction_before_attributes": _erp_position(original) | {"kind": "correction_before"},
                      "correction_after_attributes": _erp_position(original, quantity=str(before_quantity - quantity))
                      | {"kind": "correction_after", "total_price_gross": str(Decimal(str(original["total_price_gross"]))
                                                                             + gross)}}
        positions.append(corrected)
    if not positions:
        raise RecordRejected(f"{name}: a refund of {refund.get('amount')} without refunded lines names no VAT rate; "
                             "make the correction by hand in the ERP", "REFUND_WITHOUT_LINES")
    total = sum((Decimal(p["total_price_gross"]) for p in positions), Decimal(0))
    if -total != _money(order, "refund amount", refund.get("amount")):
        raise RecordRejected(f"{name}: its lines come to {-total}, the refund's amount is {refund.get('amount')} "
                             "(shipping or fees refunded?); make the correction by hand in the ERP", "REFUND_TOTAL")
    document = {"kind": CORRECTION_KIND, "oid": oid, "oid_unique": "yes", "client_id": sale["client_id"],
                "invoice_id": sale["id"], "from_invoice_id": sale["id"],
                "correction_reason": refund.get("reason") or "Zwrot w sklepie internetowym",
                "issue_date": str(refund.get("date_created_gmt") or "")[:10] or None,
                "currency": sale.get("currency"), "positions": positions}
    if warehouse_id is not None:
        document["warehouse_id"] = warehouse_id
    return {"invoice": {k: v for k, v in document.items() if v is not None}}
