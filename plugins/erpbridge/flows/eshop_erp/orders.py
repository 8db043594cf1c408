"""E-shop <-> ERP orders (R-D.3, R-D.6): WooCommerce orders -> Fakturownia customer orders (ZK), exactly once.

The ZK carries ``oid`` = the shop's order number with ``oid_unique``, so the ERP itself refuses a
second one; the document engine's in-flight ledger row and lookup by ``oid`` make a crash safe.
The customer card is matched by NIP, else by e-mail, and made only when none exists. A cancelled
order's ZK is rejected in the ERP (its reservation lifted); a pickup order sent to its store gets
its MM to the store's warehouse once. With ``split_warehouses`` an order becomes one ZK per warehouse
it is filled from (erpbridge.flows.eshop_erp.split), each with its own ``oid``; the ledger keeps the
order's ZK ids together as its one target.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Iterator

from erpbridge.engine.documents import Attachment, DocumentFlow
from erpbridge.errors import RecordRejected
from erpbridge.flows.eshop_erp import mapping as m
from erpbridge.flows.eshop_erp import split
from erpbridge.flows.eshop_erp.split import erp_ids, erp_target
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.reservations import Reservations
from erpbridge.ledger.store import DocumentState, Ledger, Outcome
from erpbridge.flows.eshop_erp.sync import (CANCEL_ENTITY, CANCELLED_ERP_STATUS, CUSTOMER_ENTITY, ERP, ORDER_ENTITY,
                                      ORDERS_STREAM, PAYMENTS_FLOW, PRODUCT_INDEX, SHOP, STORE_ENTITY, OrderNotes,
                                      ShopOrders, ShopOrderSource, StockHolds)

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # orders whose ledger rows are committed together (the engine's page), one shop page


class ErpProductIndex:
    """ERP product code -> id, kept in the ledger and refreshed with only what changed since the last read; each
    code is looked up in the ledger once a run (``read``). In a dry run (``keep=False``) what is read stays in
    memory: the ledger is not written."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger, overlap: timedelta, *, keep: bool = True):
        self.hook = hook
        self.ledger = ledger.of(ERP)  # ERP product codes
        self.overlap = overlap
        self.keep = keep
        self.read: dict[str, str] = {}

    def refresh(self) -> int:
        started = datetime.now(timezone.utc)
        stored = self.ledger.watermark(PRODUCT_INDEX)
        since = datetime.fromisoformat(stored) - self.overlap if stored else None
        count = 0
        for page in self.hook.products(changed_since=since):
            rows = [(str(p["code"]), str(p["id"]), None) for p in page if p.get("code")]
            if self.keep:
                self.ledger.remember_many(PRODUCT_INDEX, rows)
            else:
                self.read.update((code, target) for code, target, _ in rows)
            count += len(rows)
        if self.keep:
            self.ledger.set_watermark(PRODUCT_INDEX, started.isoformat())
            self.ledger.commit()
        return count

    def ids(self, codes: list[str]) -> dict[str, int]:
        """The ERP ids of those codes that are ERP products (each code looked up in the ledger once a run)."""
        unread = [code for code in codes if code not in self.read]
        self.read |= {code: target for code, (target, _) in self.ledger.mappings(PRODUCT_INDEX, unread).items()}
        return {code: int(self.read[code]) for code in codes if code in self.read}


class Customers:
    """The ERP's customer card of a buyer: the one remembered, else one found by NIP / e-mail, else a new one."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger):
        self.hook = hook
        self.ledger = ledger.of(SHOP)  # keyed by the shop order's buyer
        self.known: dict[str, int] = {}  # buyer key -> card id, read or made in this run

    def card_id(self, buyer: m.Buyer) -> int:
        key = buyer.key()
        if key in self.known:
            return self.known[key]
        remembered = self.ledger.mappings(CUSTOMER_ENTITY, [key]).get(key)
        if remembered:
            self.known[key] = int(remembered[0])
            return self.known[key]
        found = self.hook.find_clients(tax_no=buyer.nip) if buyer.nip else self.hook.find_clients(email=buyer.email)
        if found:
            card = min(found, key=lambda c: c["id"])  # the oldest card, never a new one for a returning buyer
        else:
            card = self.hook.create_client(buyer.card())
            log.info("customer card %s created for %s", card["id"], key)
        self.ledger.remember(CUSTOMER_ENTITY, key, str(card["id"]), None)
        self.known[key] = int(card["id"])
        return self.known[key]


class WarehouseStock:
    """Each order's split by the rule, kept as the order's reservation per warehouse. It is written with the
    order's in-flight row (committed before any part is posted), so a rerun after a failure or a crash splits
    the order as before and adopts the parts already in the ERP. Free stock per (SKU, warehouse) = that
    warehouse's ERP stock (read once a run) minus what other orders hold there. A dry run (``keep=False``)
    writes nothing: its preview splits each order against the stock alone."""

    def __init__(self, hook: FakturowniaHook, reservations: Reservations, warehouses: list[int], *, keep: bool = True):
        self.hook = hook
        self.reservations = reservations
        self.warehouses = warehouses
        self.keep = keep
        self.levels: dict[tuple[int, int], Decimal] = {}  # (ERP product id, warehouse id) -> stock

    def parts(self, order: dict, customer_order: dict, products: dict[str, int]) -> list[dict]:
        order_id = str(order["id"])
        lines = [(str(line["sku"]).strip(), line["quantity"]) for line in order.get("line_items") or []]
        allocation = split.from_holds(lines, self.reservations.split_holds(order_id), self.warehouses)
        if allocation is None:
            skus = sorted({sku for sku, _ in lines})
            held = self.reservations.held_in(skus, [order_id])
            free = {(sku, w): self._level(products[sku], w) - held[(sku, w)] for sku in skus for w in self.warehouses}
            allocation = split.allocate(order, lines, self.warehouses, free)
            if self.keep:
                self.reservations.hold_split(order_id, split.holds(lines, allocation))
        return split.parts(customer_order, order, allocation)

    def _level(self, product_id: int, warehouse_id: int) -> Decimal:
        if (product_id, warehouse_id) not in self.levels:
            self.levels[(product_id, warehouse_id)] = self.hook.stock_level(product_id, warehouse_id)
        return self.levels[(product_id, warehouse_id)]


class ErpCustomerOrders:
    """Fakturownia customer orders (ZK) as a DocumentTarget, each with its customer card; a split order's parts
    posted one by one, their ids joined as its target."""

    def __init__(self, hook: FakturowniaHook, ledger: Ledger):
        self.hook = hook
        self.ledger = ledger
        self.customers = Customers(hook, ledger)
        self.created: dict[str, dict] = {}  # this run's answers to the posts, for complete()

    def find(self, reference: str, payload: dict) -> str | None:
        """No lookup before the post: the ERP refuses a second document with an ``oid_unique`` order id, and
        post() adopts the one it names (one call fewer per order)."""
        return None

    def existing(self, oid: str) -> str | None:
        found = [i for i in self.hook.invoices_by_oid(oid) if i.get("kind") == m.ERP_ORDER_KIND]
        return str(found[0]["id"]) if found else None

    def post(self, payload: dict) -> str:
        client_id = self.customers.card_id(m.Buyer(**payload["buyer"]))
        if "parts" not in payload:
            return self._post(payload["invoice"] | {"client_id": client_id})[0]
        posted = [self._post(part["invoice"] | {"client_id": client_id}) for part in payload["parts"]]
        if any(adopted for _, adopted in posted):
            self._no_other_parts(payload)
        return erp_target([target for target, _ in posted])

    def _post(self, invoice: dict) -> tuple[str, bool]:
        """(its ERP id, whether it was there already)."""
        try:
            created = self.hook.create_invoice(invoice)
        except RecordRejected as exc:
            existing = self.existing(invoice["oid"]) if exc.category == "oid_taken" else None
            if existing is None:
                raise
            log.info("%s is already in the ERP as %s: adopted", invoice["oid"], existing)
            return existing, True
        self.created[str(created["id"])] = created
        return str(created["id"]), False

    def _no_other_parts(self, payload: dict) -> None:
        """After an interrupted run: no part of the order in a warehouse today's split does not use."""
        planned = {part["warehouse_id"] for part in payload["parts"]}
        for warehouse in payload["split_warehouses"]:
            oid = split.part_oid(payload["oid"], warehouse)
            if warehouse not in planned and self.existing(oid):
                raise RecordRejected(f"{payload['oid']}: the ERP holds its part {oid} from an earlier run, but "
                                     f"today's split uses warehouses {sorted(planned)} (the stock changed since); "
                                     "check its customer orders in the ERP", "SPLIT_CHANGED")

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError("orders carry no attachment")

    def complete(self, target_id: str, payload: dict) -> None:
        """Refuse (into quarantine, never absorbed) a customer order whose ERP totals differ from the shop's
        (each part of a split order against its share, which add up to the order's)."""
        if "parts" not in payload:
            self._check(target_id, payload["invoice"], payload["vat"], payload["total"])
            return
        for erp_id, part in zip(erp_ids(target_id), payload["parts"]):
            self._check(erp_id, part["invoice"], part["vat"], part["total"], part["warehouse_id"])

    def _check(self, erp_id: str, sent: dict, vat: dict[str, str], total: str, warehouse: int | None = None) -> None:
        invoice = self.created.pop(erp_id, None) or self.hook.get("invoices", erp_id) or {}
        erp_vat, erp_total = m.erp_vat(invoice), str(invoice.get("price_gross"))
        if erp_vat != vat or erp_total != total:
            raise RecordRejected(f"{sent['oid']}: the ERP's customer order {invoice.get('number')} totals "
                                 f"{erp_total} with VAT {_rates_text(erp_vat)}, the shop's order {total} "
                                 f"with VAT {_rates_text(vat)}; correct the customer order in the ERP",
                                 "TOTALS_DIFFER")
        if warehouse is not None and invoice.get("warehouse_id") != warehouse:
            raise RecordRejected(f"{sent['oid']}: the ERP's customer order {invoice.get('number')} is in warehouse "
                                 f"{invoice.get('warehouse_id')}, this part of the order is warehouse {warehouse}'s; "
                                 "correct the customer order in the ERP", "WAREHOUSE_DIFFERS")


def _rates_text(vat: dict[str, str]) -> str:
    return ", ".join(f"{rate} %: {amount}" for rate, amount in vat.items()) or "none"


def order_flow(config: EshopErpSettings, ledger: Ledger, erp: FakturowniaHook, orders: ShopOrders,
               index: ErpProductIndex, stock: WarehouseStock | None = None) -> DocumentFlow:
    return DocumentFlow(ORDER_ENTITY, orders, ErpCustomerOrders(erp, ledger),
                        partial(m.reference, prefix=config.oid_prefix),
                        partial(_map_order, config=config, index=index, stock=stock))


def _map_order(order: dict, oid: str, *, config: EshopErpSettings, index: ErpProductIndex,
               stock: WarehouseStock | None = None) -> dict:
    if order.get("status") not in config.status_map:
        raise RecordRejected(f"{m.describe(order)}: status {order.get('status')!r} is not in the status map (setting "
                             "status_map); say whether it means order, wait, cancel or to_store", "UNKNOWN_STATUS")
    location = m.pickup_location(order, config.pickup_method_ids, config.pickup_location_meta_key)
    if location is not None and location not in config.pickup_locations:
        raise RecordRejected(f"{m.describe(order)}: pickup location {location!r} is not in the setting "
                             "pickup_locations (location name -> the store's warehouse id)", "UNKNOWN_PICKUP_LOCATION")
    skus = [str(line.get("sku") or "").strip() for line in order.get("line_items") or []]
    products = index.ids([s for s in skus if s])
    mapped = m.customer_order(order, oid, currency=config.currency, warehouse_id=config.eshop_warehouse_id,
                              products=products, nip_meta_key=config.nip_meta_key)
    if stock is None or location is not None:  # not split: one customer order (a pickup one from the e-shop's)
        return mapped
    return {"oid": oid, "order_id": str(order["id"]), "split_warehouses": stock.warehouses, "buyer": mapped["buyer"],
            "vat": mapped["vat"], "total": mapped["total"], "parts": stock.parts(order, mapped, products)}


class PickupOrdersSent(ShopOrderSource):
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
            for erp_id in erp_ids(made.target_id):  # every part of a split order
                erp.set_status(erp_id, CANCELLED_ERP_STATUS)
            ledger.set_document_state(CANCEL_ENTITY, source_id, key, DocumentState(f"{made.reference}/cancel", "done",
                                                                                    made.target_id))
            ledger.log([Outcome(CANCEL_ENTITY, source_id, "updated", key, made.target_id)])
            ledger.commit()
        log.info("%s cancelled in the shop: customer order %s rejected in the ERP", key, made.target_id)
        counts["cancelled"] += 1
    return counts


def import_orders(config: EshopErpSettings, ledger: Ledger, shop: WooCommerceHook, erp: FakturowniaHook, *,
                  only: list[str] | None = None, dry_run: bool = False) -> dict[str, int]:
    """One pass: the ERP product index refreshed, every changed order in an "order" status -> its ZK (raises
    IncompleteTransfer when some failed for a system reason), then the cancelled ones' ZKs rejected. The
    orders watermark moves only after a whole pass."""
    from erpbridge.engine.documents import DocumentTransfer

    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    ledger = ledger.of(SHOP)  # shop order ids
    index = ErpProductIndex(erp, ledger, overlap, keep=not dry_run)
    index.refresh()
    stored = ledger.watermark(ORDERS_STREAM)
    reservations = None if dry_run else Reservations(ledger, shop.conn_id)
    to_store = tuple(s for s, action in config.status_map.items() if action == "to_store")
    holds = reservations and StockHolds(reservations, ledger, ledger.for_flow(PAYMENTS_FLOW), to_store)
    orders = ShopOrders(shop, config, datetime.fromisoformat(stored) - overlap if stored else None,
                        retry=ledger.quarantined(ORDER_ENTITY), only=only, stock=holds)
    stock = config.split_warehouses and WarehouseStock(erp, Reservations(ledger, shop.conn_id),
                                                       config.split_warehouses, keep=not dry_run)
    result = DocumentTransfer(order_flow(config, ledger, erp, orders, index, stock or None), ledger,
                              dry_run=dry_run, page_size=PAGE_SIZE).run()
    counts = dict(result.counts) | cancel_orders(orders.cancelled, erp, ledger, dry_run=dry_run)
    if orders.gone and not dry_run:  # quarantined orders the shop no longer has: out, saying why
        counts["gone"] = len(ledger.gone(ORDER_ENTITY, orders.gone))
        ledger.commit()
    sent = DocumentFlow(STORE_ENTITY, PickupOrdersSent(orders.to_store, ledger, shop, OrderNotes(shop, erp),
                                                       reservations),
                        ErpStoreTransfers(erp), lambda order: f"{m.reference(order, config.oid_prefix)}/mm",
                        partial(_transfer_payload, config=config, erp=erp, made=ledger))
    counts |= {f"store_transfer.{k}": v for k, v in DocumentTransfer(sent, ledger, dry_run=dry_run).run().counts.items()}
    if not dry_run and only is None and orders.newest:
        ledger.set_watermark(ORDERS_STREAM, orders.newest.isoformat())
        ledger.commit()
    return counts
