"""E-shop <-> ERP payments (R-D.4): a paid order whose customer order is in the ERP -> its sales document (VAT
invoice or receipt), its payment and a note in the shop; a refund -> a correction. Each exactly once. An order
split per warehouse gets one sales document and payment per part (its ZK): each issues the stock of its own
warehouse, which one document (one ``warehouse_id``) could not."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from itertools import chain
from typing import Iterator

from erpbridge.engine.documents import Attachment, DocumentFlow
from erpbridge.errors import RecordRejected
from erpbridge.flows.eshop_erp import mapping as m
from erpbridge.flows.eshop_erp.split import erp_ids, erp_target
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.reservations import Reservations
from erpbridge.ledger.store import Ledger
from erpbridge.flows.eshop_erp.sync import (CORRECTION_ENTITY, ORDER_ENTITY, ORDERS_FLOW, PAID_STREAM, SALE_ENTITY,
                                      SHOP, OrderNotes, ShopOrders, ShopOrderSource, gmt)


class PaidOrders(ShopOrderSource):
    """Paid shop orders (``paid_statuses``, a payment date) whose customer order is in the ERP. One that is
    paid but still waits for its customer order is kept in ``waiting`` (the watermark stays before it)."""

    def __init__(self, orders: list[dict], config: EshopErpSettings, made: Ledger, shop: WooCommerceHook,
                 notes: OrderNotes, reservations: Reservations):
        self.orders = orders
        self.config = config
        self.made = made
        self.shop = shop
        self.notes = notes
        self.reservations = reservations
        self.waiting: list[dict] = []

    def paid(self, order: dict) -> bool:
        return bool(order.get("date_paid_gmt")) and order.get("status") in self.config.paid_statuses

    def picked_up_in_store(self, order: dict) -> bool:
        """A pickup order's final document is issued by the store."""
        return m.pickup_location(order, self.config.pickup_method_ids, self.config.pickup_location_meta_key) is not None

    def customer_order_id(self, order: dict) -> str | None:
        state = self.made.document_state(ORDER_ENTITY, str(order["id"]))
        return state.target_id if state and state.stage == "done" else None

    def ready(self) -> Iterator[dict]:
        for order in self.orders:
            if not self.paid(order) or self.picked_up_in_store(order):
                continue
            if self.customer_order_id(order) is None:
                self.waiting.append(order)
                continue
            yield order

    def mark_transferred(self, order: dict, target_id: str) -> None:
        """The number noted on the order (each part's); the stock it held is now issued in the ERP."""
        for erp_id in erp_ids(target_id):
            self.notes.write(order["id"], erp_id, "Dokument sprzedaży")
        self.reservations.release(str(order["id"]))


class ErpDocuments:
    """Fakturownia documents of some kinds as a DocumentTarget. No lookup before the post: the ERP refuses a
    second document with an ``oid_unique`` order id, and post() adopts the one it names."""

    def __init__(self, hook: FakturowniaHook, kinds: tuple[str, ...]):
        self.hook = hook
        self.kinds = kinds
        self.created: set[str] = set()  # posted in this run: certainly not paid yet

    def find(self, reference: str, payload: dict) -> str | None:
        return None

    def post(self, payload: dict) -> str:
        return erp_target([self._post(part["invoice"]) for part in payload.get("parts") or [payload]])

    def _post(self, invoice: dict) -> str:
        try:
            created = str(self.hook.create_invoice(invoice)["id"])
        except RecordRejected as exc:
            found = [i for i in self.hook.invoices_by_oid(invoice["oid"]) if i.get("kind") in self.kinds]
            if exc.category != "oid_taken" or not found:
                raise
            return str(found[0]["id"])
        self.created.add(created)
        return created

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError("these documents carry no attachment")

    def complete(self, target_id: str, payload: dict) -> None:
        """The payment registered against each sales document, unless the ERP already has it paid."""
        for erp_id, part in zip(erp_ids(target_id), payload.get("parts") or [payload]):
            self._pay(erp_id, part)

    def _pay(self, target_id: str, payload: dict) -> None:
        if "payment" not in payload:
            return
        if target_id not in self.created and (self.hook.get("invoices", target_id) or {}).get("status") == "paid":
            return
        self.created.discard(target_id)
        self.hook.create_payment(payload["payment"] | {"invoice_id": int(target_id)})


class Refunds:
    """The refunds of the read orders whose sales document is in the ERP, as ``{"order", "refund"}``."""

    system = SHOP

    def __init__(self, orders: list[dict], sales: Ledger, shop: WooCommerceHook, notes: OrderNotes):
        self.orders = orders
        self.sales = sales
        self.shop = shop
        self.notes = notes
        self.waiting: list[dict] = []

    def sale_id(self, order: dict) -> str | None:
        state = self.sales.document_state(SALE_ENTITY, str(order["id"]))
        return state.target_id if state and state.stage == "done" else None

    def ready(self) -> Iterator[dict]:
        for order in self.orders:
            if not order.get("refunds"):
                continue
            if self.sale_id(order) is None:
                self.waiting.append(order)
                continue
            for refund in self.shop.refunds(order["id"]):
                yield {"order": order, "refund": refund}

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        for source_id in source_ids:
            order_id, _, refund_id = source_id.partition("/")
            order = self.shop.order(order_id)
            for refund in self.shop.refunds(order_id) if order else []:
                if str(refund["id"]) == refund_id:
                    yield {"order": order, "refund": refund}

    def source_id(self, item: dict) -> str:
        return f"{item['order']['id']}/{item['refund']['id']}"

    def describe(self, item: dict) -> str:
        return f"{m.describe(item['order'])} refund {item['refund']['id']}"

    def attachment(self, item: dict) -> Attachment | None:
        return None

    def mark_transferred(self, item: dict, target_id: str) -> None:
        self.notes.write(item["order"]["id"], target_id, "Korekta")


def _sale_payload(order: dict, oid: str, *, config: EshopErpSettings, erp: FakturowniaHook, made: Ledger) -> dict:
    state = made.document_state(ORDER_ENTITY, str(order["id"]))
    parts = erp_ids(state.target_id) if state and state.target_id else [None]
    customer_orders = [erp.get("invoices", erp_id) if erp_id else None for erp_id in parts]
    if not all(customer_orders):
        raise RecordRejected(f"{m.describe(order)}: its customer order {state and state.target_id} is no longer in "
                             "the ERP", "NO_CUSTOMER_ORDER")
    kind = m.sales_kind(order, nip_meta_key=config.nip_meta_key, invoice_meta_key=config.invoice_meta_key)
    if len(parts) == 1:
        customer_order = customer_orders[0]  # its own oid + "/sale" (= ``oid`` unless it is a split's one part)
        oid = f"{customer_order['oid']}/sale" if customer_order.get("oid") else oid
        return m.sales_document(order, oid, customer_order, kind=kind,
                                warehouse_id=customer_order.get("warehouse_id") or config.eshop_warehouse_id,
                                ksef_send=config.ksef_send)
    return {"parts": [_part_sale(order, customer_order, kind, config) for customer_order in customer_orders]}


def _part_sale(order: dict, customer_order: dict, kind: str, config: EshopErpSettings) -> dict:
    """The sales document of one part (ZK) of a split order: from its warehouse, paid its total."""
    return m.sales_document(order, f"{customer_order['oid']}/sale", customer_order, kind=kind,
                            warehouse_id=customer_order.get("warehouse_id"), ksef_send=config.ksef_send,
                            total=str(customer_order["price_gross"]))


def _correction_payload(item: dict, oid: str, *, config: EshopErpSettings, erp: FakturowniaHook,
                        sales: Ledger) -> dict:
    state = sales.document_state(SALE_ENTITY, str(item["order"]["id"]))
    if state and len(erp_ids(state.target_id)) > 1:
        raise RecordRejected(f"{m.describe(item['order'])} refund {item['refund']['id']}: the order is split over "
                             "warehouses, one sales document per part; make the correction by hand in the ERP on the "
                             "part that sold the refunded lines", "SPLIT_REFUND")
    sale = erp.get("invoices", state.target_id) if state else None
    if not sale:
        raise RecordRejected(f"{m.describe(item['order'])}: its sales document is no longer in the ERP", "NO_SALE")
    return m.correction(item["order"], item["refund"], oid, sale,
                        warehouse_id=sale.get("warehouse_id") or config.eshop_warehouse_id)


def import_payments(config: EshopErpSettings, ledger: Ledger, shop: WooCommerceHook, erp: FakturowniaHook, *,
                    only: list[str] | None = None, dry_run: bool = False) -> dict[str, int]:
    """One pass over the orders changed since the last: each paid one whose customer order is in the ERP gets its
    sales document (VAT invoice or receipt), its payment and a note in the shop; each refund of an order with a
    sales document gets a correction. Orders still waiting keep the watermark before them."""
    from erpbridge.engine.documents import DocumentTransfer
    from erpbridge.errors import IncompleteTransfer

    ledger = ledger.of(SHOP)  # shop order ids
    made = ledger.for_flow(ORDERS_FLOW)
    notes = OrderNotes(shop, erp)
    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    stored = ledger.watermark(PAID_STREAM)
    listing = ShopOrders(shop, config, datetime.fromisoformat(stored) - overlap if stored else None,
                         retry=sorted({*ledger.quarantined(SALE_ENTITY),
                                       *(i.partition("/")[0] for i in ledger.quarantined(CORRECTION_ENTITY))}),
                         only=only)
    read = chain(listing.fetch(listing.retry), chain.from_iterable(listing.changed()))
    orders = list({o["id"]: o for o in read}.values())
    prefix = config.oid_prefix
    paid = PaidOrders(orders, config, made, shop, notes, Reservations(ledger, shop.conn_id))
    refunds = Refunds(orders, ledger, shop, notes)
    flows = [
        DocumentFlow(SALE_ENTITY, paid, ErpDocuments(erp, (m.INVOICE_KIND, m.RECEIPT_KIND)),
                     lambda order: f"{m.reference(order, prefix)}/sale",
                     partial(_sale_payload, config=config, erp=erp, made=made)),
        DocumentFlow(CORRECTION_ENTITY, refunds, ErpDocuments(erp, (m.CORRECTION_KIND,)),
                     lambda item: f"{m.reference(item['order'], prefix)}/refund-{item['refund']['id']}",
                     partial(_correction_payload, config=config, erp=erp, sales=ledger)),
    ]
    counts: dict[str, int] = {}
    incomplete: IncompleteTransfer | None = None
    for flow in flows:
        try:
            result = DocumentTransfer(flow, ledger, dry_run=dry_run).run()
        except IncompleteTransfer as exc:
            incomplete = exc
            continue
        counts |= {f"{flow.entity}.{k}": v for k, v in result.counts.items()}
    if incomplete:
        raise incomplete
    waiting = [gmt(o.get("date_modified_gmt")) for o in paid.waiting + refunds.waiting]
    mark = min(filter(None, waiting), default=None) or listing.newest
    if not dry_run and only is None and mark:
        ledger.set_watermark(PAID_STREAM, mark.isoformat())
        ledger.commit()
    counts["waiting"] = len(paid.waiting) + len(refunds.waiting)
    return counts
