"""E-shop <-> ERP wiring (R-D.3): WooCommerce orders -> Fakturownia customer orders (ZK), exactly once.

The ZK carries ``oid`` = the shop's order number with ``oid_unique``, so the ERP itself refuses a
second one; the document engine's in-flight ledger row and lookup by ``oid`` make a crash safe.
The customer card is matched by NIP, else by e-mail, and made only when none exists. A cancelled
order's ZK is rejected in the ERP (its reservation lifted).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from functools import partial
from itertools import chain
from typing import Iterator

from erpbridge.errors import RecordRejected
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce import WooCommerceHook
from erpbridge.ledger.reservations import Reservations
from erpbridge.ledger.store import DocumentState, Ledger, Outcome
from erpbridge.mappings import eshop_erp as m
from erpbridge.settings import EshopErpSettings
from erpbridge.sync.documents import Attachment, DocumentFlow

log = logging.getLogger(__name__)

ORDERS_FLOW, PAYMENTS_FLOW = "eshop_erp_orders", "eshop_erp_payments"  # ledger flows (= the DAG ids)
ORDER_ENTITY = "customer_order"
CANCEL_ENTITY = "order_cancellation"
CUSTOMER_ENTITY = "customer"
PRODUCT_INDEX = "erp_product"  # id map: ERP product code (= shop SKU) -> ERP product id
CANCELLED_ERP_STATUS = "rejected"
ORDERS_STREAM = "shop_orders"  # watermark: the newest order change read
SALE_ENTITY = "sales_document"
STORE_ENTITY = "store_transfer"  # the MM of a pickup order sent to its store
CORRECTION_ENTITY = "correction"
PAID_STREAM = "shop_orders_paid"


class ErpProductIndex:
    """ERP product code -> id, kept in the ledger and refreshed with only what changed since the last read."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger, overlap: timedelta):
        self.hook = hook
        self.ledger = ledger
        self.overlap = overlap

    def refresh(self) -> int:
        started = datetime.now(timezone.utc)
        stored = self.ledger.watermark(PRODUCT_INDEX)
        since = datetime.fromisoformat(stored) - self.overlap if stored else None
        count = 0
        for page in self.hook.products(changed_since=since):
            rows = [(str(p["code"]), str(p["id"]), None) for p in page if p.get("code")]
            self.ledger.remember_many(PRODUCT_INDEX, rows)
            count += len(rows)
        self.ledger.set_watermark(PRODUCT_INDEX, started.isoformat())
        self.ledger.commit()
        return count

    def ids(self, codes: list[str]) -> dict[str, int]:
        return {code: int(target) for code, (target, _) in self.ledger.mappings(PRODUCT_INDEX, codes).items()}


class Customers:
    """The ERP's customer card of a buyer: the one remembered, else one found by NIP / e-mail, else a new one."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger):
        self.hook = hook
        self.ledger = ledger

    def card_id(self, buyer: m.Buyer) -> int:
        key = buyer.key()
        remembered = self.ledger.mappings(CUSTOMER_ENTITY, [key]).get(key)
        if remembered:
            return int(remembered[0])
        found = self.hook.find_clients(tax_no=buyer.nip) if buyer.nip else self.hook.find_clients(email=buyer.email)
        if found:
            card = min(found, key=lambda c: c["id"])  # the oldest card, never a new one for a returning buyer
        else:
            card = self.hook.create_client(buyer.card())
            log.info("customer card %s created for %s", card["id"], key)
        self.ledger.remember(CUSTOMER_ENTITY, key, str(card["id"]), None)
        return int(card["id"])


class StockHolds:
    """The ledger's reservations following the shop: an order holding stock in the shop (WooCommerce reduces it
    at on-hold / processing / completed; a pickup order keeps it when sent to its store) that the ERP has not
    issued or moved to the store holds its lines; any other is let go."""

    def __init__(self, reservations: Reservations, made: Ledger, sales: Ledger, to_store: tuple[str, ...]):
        self.reservations = reservations
        self.made = made
        self.sales = sales
        self.to_store = to_store

    def issued(self, order_id: str) -> bool:
        return any(state and state.stage == "done" for state in (self.sales.document_state(SALE_ENTITY, order_id),
                                                                 self.made.document_state(STORE_ENTITY, order_id)))

    def follow(self, order: dict) -> None:
        order_id = str(order["id"])
        if order.get("status") in (*m.STOCK_HOLDING, *self.to_store) and not self.issued(order_id):
            self.reservations.hold(order_id, m.quantities(order))
        else:
            self.reservations.release(order_id)


class ShopOrders:
    """WooCommerce orders changed since the stream's watermark (or just ``only``), sorted by the status map:
    "order" ones (and any in an unmapped status, to be refused by name) are offered, "cancel" ones
    collected in ``cancelled``, "wait" ones left for later. Quarantined ones (``retry``) come first."""

    def __init__(self, hook: WooCommerceHook, config: EshopErpSettings, since: datetime | None,
                 retry: list[str] = (), only: list[str] | None = None, stock: "StockHolds | None" = None):
        self.hook = hook
        self.config = config
        self.since = since
        self.retry = list(retry)
        self.only = only
        self.stock = stock  # keeps each order's reservation as its status says
        self.newest: datetime | None = None  # the newest change seen: the next watermark
        self.cancelled: list[dict] = []
        self.to_store: list[dict] = []

    def ready(self) -> Iterator[dict]:
        for order in chain(self.fetch(self.retry), self.changed()):
            action = self.config.status_map.get(order.get("status"))
            if self.stock:
                self.stock.follow(order)
            if action == "cancel":
                self.cancelled.append(order)
            elif action != "wait" and self._wanted(order):
                if action == "to_store":
                    self.to_store.append(order)
                yield order

    def changed(self) -> Iterator[dict]:
        if self.only is not None:
            yield from self.fetch(self.only)
            return
        for page in self.hook.orders(self.since):
            for order in page:
                moment = _gmt(order.get("date_modified_gmt"))
                self.newest = max(filter(None, (self.newest, moment)), default=None)
                yield order

    def _wanted(self, order: dict) -> bool:
        start = self.config.orders_since
        return not start or str(order.get("date_created_gmt") or "")[:10] >= start.isoformat()

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        return (order for order in map(self.hook.order, source_ids) if order is not None)

    def source_id(self, order: dict) -> str:
        return str(order["id"])

    def describe(self, order: dict) -> str:
        return m.describe(order)

    def attachment(self, order: dict) -> Attachment | None:
        return None

    def mark_transferred(self, order: dict, target_id: str) -> None:
        """Nothing to write back: the shop learns of the ERP's documents with the sales document (payments)."""


class ErpCustomerOrders:
    """Fakturownia customer orders (ZK) as a DocumentTarget, each with its customer card."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger):
        self.hook = hook
        self.ledger = ledger
        self.customers = Customers(hook, ledger)

    def find(self, reference: str, payload: dict) -> str | None:
        found = [i for i in self.hook.invoices_by_oid(reference) if i.get("kind") == m.ERP_ORDER_KIND]
        return str(found[0]["id"]) if found else None

    def post(self, payload: dict) -> str:
        client_id = self.customers.card_id(m.Buyer(**payload["buyer"]))
        invoice = payload["invoice"] | {"client_id": client_id}
        try:
            return str(self.hook.create_invoice(invoice)["id"])
        except RecordRejected as exc:
            existing = self.find(invoice["oid"], payload) if exc.category == "oid_taken" else None
            if existing is None:
                raise
            log.info("%s is already in the ERP as %s: adopted", invoice["oid"], existing)
            return existing

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError("orders carry no attachment")

    def complete(self, target_id: str, payload: dict) -> None:
        """Refuse (into quarantine, never absorbed) a customer order whose ERP totals differ from the shop's."""
        invoice = self.hook.get("invoices", target_id) or {}
        erp_vat, erp_total = m.erp_vat(invoice), str(invoice.get("price_gross"))
        if erp_vat != payload["vat"] or erp_total != payload["total"]:
            raise RecordRejected(f"{payload['invoice']['oid']}: the ERP's customer order {invoice.get('number')} totals "
                                 f"{erp_total} with VAT {_rates_text(erp_vat)}, the shop's order {payload['total']} "
                                 f"with VAT {_rates_text(payload['vat'])}; correct the customer order in the ERP",
                                 "TOTALS_DIFFER")


def _rates_text(vat: dict[str, str]) -> str:
    return ", ".join(f"{rate} %: {amount}" for rate, amount in vat.items()) or "none"


def order_flow(config: EshopErpSettings, ledger: Ledger, erp: FakturowniaHook, orders: ShopOrders) -> DocumentFlow:
    index = ErpProductIndex(erp, ledger, timedelta(minutes=config.watermark_overlap_minutes))
    return DocumentFlow(ORDER_ENTITY, orders, ErpCustomerOrders(erp, ledger),
                        partial(m.reference, prefix=config.oid_prefix), partial(_map_order, config=config, index=index))


def _map_order(order: dict, oid: str, *, config: EshopErpSettings, index: ErpProductIndex) -> dict:
    if order.get("status") not in config.status_map:
        raise RecordRejected(f"{m.describe(order)}: status {order.get('status')!r} is not in the status map (setting "
                             "status_map); say whether it means order, wait, cancel or to_store", "UNKNOWN_STATUS")
    location = m.pickup_location(order, config.pickup_method_ids, config.pickup_location_meta_key)
    if location is not None and location not in config.pickup_locations:
        raise RecordRejected(f"{m.describe(order)}: pickup location {location!r} is not in the setting "
                             "pickup_locations (location name -> the store's warehouse id)", "UNKNOWN_PICKUP_LOCATION")
    skus = [str(line.get("sku") or "").strip() for line in order.get("line_items") or []]
    return m.customer_order(order, oid, currency=config.currency, warehouse_id=config.eshop_warehouse_id,
                            products=index.ids([s for s in skus if s]), nip_meta_key=config.nip_meta_key)


class PickupOrdersSent:
    """Pickup orders now "sent to store" whose customer order is in the ERP: each gets its MM once, then the
    reservation is lifted and the MM's number noted on the order (the store issues the final document)."""

    def __init__(self, orders: list[dict], made: Ledger, shop: WooCommerceHook, notes: "OrderNotes",
                 reservations: Reservations | None):
        self.orders = orders
        self.made = made
        self.shop = shop
        self.notes = notes
        self.reservations = reservations

    def ready(self) -> Iterator[dict]:
        for order in self.orders:
            state = self.made.document_state(ORDER_ENTITY, str(order["id"]))
            if state and state.stage == "done":
                yield order

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        return (order for order in map(self.shop.order, source_ids) if order is not None)

    def source_id(self, order: dict) -> str:
        return str(order["id"])

    def describe(self, order: dict) -> str:
        return m.describe(order)

    def attachment(self, order: dict) -> Attachment | None:
        return None

    def mark_transferred(self, order: dict, target_id: str) -> None:
        if self.reservations:
            self.reservations.release(str(order["id"]))
        self.notes.write_transfer(order["id"], target_id)


class ErpStoreTransfers:
    """Fakturownia MM documents as a DocumentTarget, found by our reference in their description."""

    def __init__(self, hook: FakturowniaHook):
        self.hook = hook

    def find(self, reference: str, payload: dict) -> str | None:
        return next((str(d["id"]) for page in self.hook.warehouse_documents("mm") for d in page
                     if d.get("description") == reference), None)

    def post(self, payload: dict) -> str:
        return str(self.hook.create_warehouse_document(payload["document"])["id"])

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError("transfers carry no attachment")

    def complete(self, target_id: str, payload: dict) -> None:
        """Nothing follows: the store issues the final document at pickup."""


def _transfer_payload(order: dict, reference: str, *, config: EshopErpSettings, erp: FakturowniaHook,
                      made: Ledger) -> dict:
    location = m.pickup_location(order, config.pickup_method_ids, config.pickup_location_meta_key)
    if location is None or location not in config.pickup_locations:
        raise RecordRejected(f"{m.describe(order)}: sent to store, but its pickup location {location!r} is not in the "
                             "setting pickup_locations", "UNKNOWN_PICKUP_LOCATION")
    if config.eshop_warehouse_id is None:
        raise RecordRejected(f"{m.describe(order)}: a transfer to the store needs the setting eshop_warehouse_id",
                             "NO_ESHOP_WAREHOUSE")
    state = made.document_state(ORDER_ENTITY, str(order["id"]))
    customer_order = erp.get("invoices", state.target_id) if state else None
    if not customer_order:
        raise RecordRejected(f"{m.describe(order)}: its customer order is no longer in the ERP", "NO_CUSTOMER_ORDER")
    return m.store_transfer(order, reference, customer_order, from_warehouse=config.eshop_warehouse_id,
                            to_warehouse=config.pickup_locations[location])


def cancel_orders(cancelled: list[dict], erp: FakturowniaHook, ledger: Ledger, *, dry_run: bool) -> dict[str, int]:
    """Each cancelled order whose ZK exists: the ZK rejected in the ERP, once."""
    counts = {"cancelled": 0, "unchanged": 0}
    for order in cancelled:
        source_id, key = str(order["id"]), m.describe(order)
        made = ledger.document_state(ORDER_ENTITY, source_id)
        if not made or not made.target_id or ledger.document_state(CANCEL_ENTITY, source_id):
            counts["unchanged"] += 1
            continue
        if not dry_run:
            erp.set_status(made.target_id, CANCELLED_ERP_STATUS)
            ledger.set_document_state(CANCEL_ENTITY, source_id, key, DocumentState(f"{made.reference}/cancel", "done",
                                                                                    made.target_id))
            ledger.log([Outcome(CANCEL_ENTITY, source_id, "updated", key, made.target_id)])
            ledger.commit()
        log.info("%s cancelled in the shop: customer order %s rejected in the ERP", key, made.target_id)
        counts["cancelled"] += 1
    return counts


def _gmt(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def import_orders(config: EshopErpSettings, ledger: Ledger, *, only: list[str] | None = None,
                  dry_run: bool = False) -> dict[str, int]:
    """One pass: the ERP product index refreshed, every changed order in an "order" status -> its ZK (raises
    IncompleteTransfer when some failed for a system reason), then the cancelled ones' ZKs rejected. The
    orders watermark moves only after a whole pass."""
    from erpbridge.sync.documents import DocumentTransfer

    shop, erp = WooCommerceHook(config.shop_conn_id), FakturowniaHook(config.erp_conn_id)
    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    ErpProductIndex(erp, ledger, overlap).refresh()
    stored = ledger.watermark(ORDERS_STREAM)
    reservations = None if dry_run else Reservations(ledger.conn, config.shop_conn_id)
    to_store = tuple(s for s, action in config.status_map.items() if action == "to_store")
    holds = reservations and StockHolds(reservations, ledger, Ledger(ledger.conn, PAYMENTS_FLOW, ledger.run),
                                        to_store)
    orders = ShopOrders(shop, config, datetime.fromisoformat(stored) - overlap if stored else None,
                        retry=ledger.quarantined(ORDER_ENTITY), only=only, stock=holds)
    result = DocumentTransfer(order_flow(config, ledger, erp, orders), ledger, dry_run=dry_run).run()
    counts = dict(result.counts) | cancel_orders(orders.cancelled, erp, ledger, dry_run=dry_run)
    sent = DocumentFlow(STORE_ENTITY, PickupOrdersSent(orders.to_store, ledger, shop, OrderNotes(shop, erp),
                                                       reservations),
                        ErpStoreTransfers(erp), lambda order: f"{m.reference(order, config.oid_prefix)}/mm",
                        partial(_transfer_payload, config=config, erp=erp, made=ledger))
    counts |= {f"store_transfer.{k}": v for k, v in DocumentTransfer(sent, ledger, dry_run=dry_run).run().counts.items()}
    if not dry_run and only is None and orders.newest:
        ledger.set_watermark(ORDERS_STREAM, orders.newest.isoformat())
        ledger.commit()
    return counts


# --- paid orders -> sales document + payment (R-D.4); refunds -> corrections --------------------------------



class OrderNotes:
    """The ERP document's number written back to the shop order as a private note, once."""

    def __init__(self, shop: WooCommerceHook, erp: FakturowniaHook):
        self.shop = shop
        self.erp = erp

    def write(self, order_id, target_id: str, label: str) -> None:
        number = (self.erp.get("invoices", target_id) or {}).get("number") or target_id
        self._once(order_id, f"{label} {number} (Fakturownia)")

    def write_transfer(self, order_id, target_id: str) -> None:
        number = (self.erp.get("warehouse_documents", target_id) or {}).get("number") or target_id
        self._once(order_id, f"Przesunięcie do sklepu {number} (Fakturownia)")

    def _once(self, order_id, text: str) -> None:
        if not any(n.get("note") == text for n in self.shop.notes(order_id)):
            self.shop.add_note(order_id, text)


class PaidOrders:
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

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        return (order for order in map(self.shop.order, source_ids) if order is not None)

    def source_id(self, order: dict) -> str:
        return str(order["id"])

    def describe(self, order: dict) -> str:
        return m.describe(order)

    def attachment(self, order: dict) -> Attachment | None:
        return None

    def mark_transferred(self, order: dict, target_id: str) -> None:
        """The number noted on the order; the stock it held is now issued in the ERP."""
        self.notes.write(order["id"], target_id, "Dokument sprzedaży")
        self.reservations.release(str(order["id"]))


class ErpDocuments:
    """Fakturownia documents of some kinds as a DocumentTarget, found by their order id (``oid``)."""

    def __init__(self, hook: FakturowniaHook, kinds: tuple[str, ...]):
        self.hook = hook
        self.kinds = kinds

    def find(self, reference: str, payload: dict) -> str | None:
        found = [i for i in self.hook.invoices_by_oid(reference) if i.get("kind") in self.kinds]
        return str(found[0]["id"]) if found else None

    def post(self, payload: dict) -> str:
        try:
            return str(self.hook.create_invoice(payload["invoice"])["id"])
        except RecordRejected as exc:
            existing = self.find(payload["invoice"]["oid"], payload) if exc.category == "oid_taken" else None
            if existing is None:
                raise
            return existing

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError("these documents carry no attachment")

    def complete(self, target_id: str, payload: dict) -> None:
        """The payment registered against the sales document, unless the ERP already has it paid."""
        if "payment" not in payload:
            return
        invoice = self.hook.get("invoices", target_id) or {}
        if invoice.get("status") == "paid":
            return
        self.hook.create_payment(payload["payment"] | {"invoice_id": int(target_id)})


class Refunds:
    """The refunds of the read orders whose sales document is in the ERP, as ``{"order", "refund"}``."""

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
    customer_order = erp.get("invoices", state.target_id) if state and state.target_id else None
    if not customer_order:
        raise RecordRejected(f"{m.describe(order)}: its customer order {state and state.target_id} is no longer in "
                             "the ERP", "NO_CUSTOMER_ORDER")
    kind = m.sales_kind(order, nip_meta_key=config.nip_meta_key, invoice_meta_key=config.invoice_meta_key)
    return m.sales_document(order, oid, customer_order, kind=kind, warehouse_id=config.eshop_warehouse_id,
                            ksef_send=config.ksef_send)


def _correction_payload(item: dict, oid: str, *, config: EshopErpSettings, erp: FakturowniaHook,
                        sales: Ledger) -> dict:
    state = sales.document_state(SALE_ENTITY, str(item["order"]["id"]))
    sale = erp.get("invoices", state.target_id) if state else None
    if not sale:
        raise RecordRejected(f"{m.describe(item['order'])}: its sales document is no longer in the ERP", "NO_SALE")
    return m.correction(item["order"], item["refund"], oid, sale, warehouse_id=config.eshop_warehouse_id)


def import_payments(config: EshopErpSettings, ledger: Ledger, *, only: list[str] | None = None,
                    dry_run: bool = False) -> dict[str, int]:
    """One pass over the orders changed since the last: each paid one whose customer order is in the ERP gets its
    sales document (VAT invoice or receipt), its payment and a note in the shop; each refund of an order with a
    sales document gets a correction. Orders still waiting keep the watermark before them."""
    from erpbridge.errors import IncompleteTransfer
    from erpbridge.sync.documents import DocumentTransfer

    shop, erp = WooCommerceHook(config.shop_conn_id), FakturowniaHook(config.erp_conn_id)
    made = Ledger(ledger.conn, ORDERS_FLOW, ledger.run)
    notes = OrderNotes(shop, erp)
    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    stored = ledger.watermark(PAID_STREAM)
    listing = ShopOrders(shop, config, datetime.fromisoformat(stored) - overlap if stored else None,
                         retry=sorted({*ledger.quarantined(SALE_ENTITY),
                                       *(i.partition("/")[0] for i in ledger.quarantined(CORRECTION_ENTITY))}),
                         only=only)
    orders = list({o["id"]: o for o in [*listing.fetch(listing.retry), *listing.changed()]}.values())
    prefix = config.oid_prefix
    paid = PaidOrders(orders, config, made, shop, notes, Reservations(ledger.conn, config.shop_conn_id))
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
    waiting = [_gmt(o.get("date_modified_gmt")) for o in paid.waiting + refunds.waiting]
    mark = min(filter(None, waiting), default=None) or listing.newest
    if not dry_run and only is None and mark:
        ledger.set_watermark(PAID_STREAM, mark.isoformat())
        ledger.commit()
    counts["waiting"] = len(paid.waiting) + len(refunds.waiting)
    return counts
