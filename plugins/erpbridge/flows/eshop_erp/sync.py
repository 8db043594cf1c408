"""E-shop <-> ERP (WooCommerce <-> Fakturownia): what the orders, payments and catalog flows share - the
ledger's names, the shop orders read since a watermark and sorted by the status map, the reservations
following them, and the notes written back to the shop."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from itertools import chain
from typing import Iterator

from erpbridge.engine.documents import Attachment
from erpbridge.flows.eshop_erp import mapping as m
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.reservations import Reservations
from erpbridge.ledger.store import Ledger

log = logging.getLogger(__name__)

ORDERS_FLOW, PAYMENTS_FLOW = "eshop_erp_orders", "eshop_erp_payments"  # ledger flows (= the DAG ids)
SHOP, ERP = "woocommerce", "fakturownia"  # the systems whose ids the ledger keeps (order ids, product codes)
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


class StockHolds:
    """The ledger's reservations following the shop: an order holding stock in the shop (WooCommerce reduces it
    at on-hold / processing / completed; a pickup order keeps it when sent to its store) that the ERP has not
    issued or moved to the store holds its lines (a split order keeps its holds per warehouse, written when it
    was split); any other is let go."""

    def __init__(self, reservations: Reservations, made: Ledger, sales: Ledger, to_store: tuple[str, ...]):
        self.reservations = reservations
        self.made = made
        self.sales = sales
        self.to_store = to_store

    def follow(self, orders: list[dict]) -> None:
        holding = [o for o in orders if o.get("status") in (*m.STOCK_HOLDING, *self.to_store)]
        issued = self._issued([str(o["id"]) for o in holding])
        held = {str(o["id"]): m.quantities(o) for o in holding if str(o["id"]) not in issued}
        split = self.reservations.split_orders(held)
        self.reservations.hold_many({order_id: lines for order_id, lines in held.items() if order_id not in split})
        self.reservations.release_many([str(o["id"]) for o in orders if str(o["id"]) not in held])

    def _issued(self, order_ids: list[str]) -> set[str]:
        """Those of the orders whose stock the ERP issued (sales document) or moved to the store (MM)."""
        done = set()
        for ledger, entity in ((self.sales, SALE_ENTITY), (self.made, STORE_ENTITY)):
            done |= {i for i, state in ledger.document_states(entity, order_ids).items() if state.stage == "done"}
        return done


class ShopOrderSource:
    """What every document source of shop orders shares: orders read again by id from ``shop``, named by their
    number, with no attachment."""

    shop: WooCommerceHook
    system = SHOP

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        return (order for order in map(self.shop.order, source_ids) if order is not None)

    def source_id(self, order: dict) -> str:
        return str(order["id"])

    def describe(self, order: dict) -> str:
        return m.describe(order)

    def attachment(self, order: dict) -> Attachment | None:
        return None


class ShopOrders(ShopOrderSource):
    """WooCommerce orders changed since the stream's watermark (or just ``only``), sorted by the status map:
    "order" ones (and any in an unmapped status, to be refused by name) are offered, "cancel" ones
    collected in ``cancelled``, "wait" ones left for later. Quarantined ones (``retry``) come first; one the shop
    no longer has is named in ``gone`` (id -> why)."""

    def __init__(self, hook: WooCommerceHook, config: EshopErpSettings, since: datetime | None,
                 retry: list[str] = (), only: list[str] | None = None, stock: "StockHolds | None" = None):
        self.shop = hook
        self.config = config
        self.since = since
        self.retry = list(retry)
        self.only = only
        self.stock = stock  # keeps each order's reservation as its status says
        self.newest: datetime | None = None  # the newest change seen: the next watermark
        self.cancelled: list[dict] = []
        self.to_store: list[dict] = []
        self.gone: dict[str, str] = {}

    def ready(self) -> Iterator[dict]:
        for page in chain([list(self._waiting())], self.changed()):
            if self.stock:
                self.stock.follow(page)
            for order in page:
                action = self.config.status_map.get(order.get("status"))
                if action == "cancel":
                    self.cancelled.append(order)
                elif action != "wait" and self._wanted(order):
                    if action == "to_store":
                        self.to_store.append(order)
                    yield order

    def _waiting(self) -> Iterator[dict]:
        for order_id in self.retry:
            order = self.shop.order(order_id)
            if order is None:
                self.gone[order_id] = f"the shop has no order {order_id} any more"
            else:
                yield order

    def changed(self) -> Iterator[list[dict]]:
        """Pages of the orders changed since the watermark (or of ``only``)."""
        if self.only is not None:
            yield list(self.fetch(self.only))
            return
        for page in self.shop.orders(self.since):
            for order in page:
                moment = gmt(order.get("date_modified_gmt"))
                self.newest = max(filter(None, (self.newest, moment)), default=None)
            yield page

    def _wanted(self, order: dict) -> bool:
        start = self.config.orders_since
        return not start or str(order.get("date_created_gmt") or "")[:10] >= start.isoformat()

    def mark_transferred(self, order: dict, target_id: str) -> None:
        """Nothing to write back: the shop learns of the ERP's documents with the sales document (payments)."""



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


def gmt(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
