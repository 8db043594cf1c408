"""ERP -> e-shop catalog (R-D.1): prices and stock of the ERP's e-shop warehouse written to WooCommerce by SKU
(= the ERP product code; with ``split_warehouses``, the sum over those warehouses), as absolute quantities
through the batch endpoints; prices from the price lists
and dated promotions as erpbridge.flows.eshop_erp.pricing says.

Change-proportional: only the ERP products changed since the stream's watermark are read and written; the
SKU -> shop id map lives in the ledger (built in full once, or on a full resync). The reservation rule: the
quantity the shop may sell is the ERP's stock minus what shop orders hold that the ERP has not issued (the
ledger's reservations, plus orders placed since the orders flow last read). An order placed while the
write is on its way is looked for again after it, and the SKUs it touched are written once more. A SKU the
shop does not have waits in quarantine.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from erpbridge.engine.registry import content_hash
from erpbridge.errors import RecordRejected
from erpbridge.flows.eshop_erp import mapping as m
from erpbridge.flows.eshop_erp import sync as orders_flow
from erpbridge.flows.eshop_erp.pricing import Pricing
from erpbridge.flows.eshop_erp.settings import EshopErpSettings
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from erpbridge.ledger.reservations import Reservations
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

CATALOG_FLOW = "erp_eshop_catalog"
ITEM_ENTITY = "catalog_item"
SHOP_INDEX = "shop_product"  # id map: SKU -> "<product id>" or "<parent id>/<variation id>"
STOCK_STREAM = "erp_products"  # watermark: ERP product changes read up to here


@dataclass(frozen=True)
class ShopItem:
    product_id: int
    parent_id: int | None = None  # a variation's product

    @classmethod
    def parse(cls, text: str) -> "ShopItem":
        parent, _, item = text.rpartition("/")
        return cls(int(item), int(parent) if parent else None)

    def text(self) -> str:
        return f"{self.parent_id}/{self.product_id}" if self.parent_id else str(self.product_id)


class ShopIndex:
    """SKU -> shop product or variation, remembered in the ledger (in a dry run, ``keep=False``: in memory)."""

    def __init__(self, shop: WooCommerceHook, ledger: Ledger, *, keep: bool = True):
        self.shop = shop
        self.ledger = ledger.of(orders_flow.SHOP)  # the shop's products
        self.keep = keep
        self.read: dict[str, str] = {}

    def rebuild(self) -> int:
        """Every product and variation of the shop (a first run or a full resync)."""
        count = 0
        for page in self.shop.products():
            rows = []
            for product in page:
                if product.get("sku"):
                    rows.append((product["sku"], ShopItem(product["id"]).text(), None))
                if product.get("type") == "variable":
                    rows += [(v["sku"], ShopItem(v["id"], product["id"]).text(), None)
                             for v in self.shop.variations(product["id"]) if v.get("sku")]
            self._remember(rows)
            count += len(rows)
        if self.keep:
            self.ledger.commit()
        return count

    def find(self, skus: list[str]) -> dict[str, ShopItem]:
        """The shop items of these SKUs: remembered ones, then the rest asked of the shop (products by SKU)."""
        known = {sku: text for sku, (text, _) in self.ledger.mappings(SHOP_INDEX, skus).items()}
        known |= {sku: self.read[sku] for sku in skus if sku in self.read}
        found = {sku: ShopItem.parse(text) for sku, text in known.items()}
        missing = [s for s in skus if s not in found and "," not in s]
        for start in range(0, len(missing), 100):
            for page in self.shop.products(missing[start:start + 100]):
                for product in page:
                    found[product["sku"]] = ShopItem(product["id"])
                    self._remember([(product["sku"], ShopItem(product["id"]).text(), None)])
        return found

    def _remember(self, rows: list[tuple[str, str, None]]) -> None:
        if self.keep:
            self.ledger.remember_many(SHOP_INDEX, rows)
        else:
            self.read.update((sku, text) for sku, text, _ in rows)


class PendingOrders:
    """Stock held by shop orders the orders flow has not read yet (newer than its watermark)."""

    def __init__(self, shop: WooCommerceHook, ledger: Ledger, reservations: Reservations, since: datetime):
        self.shop = shop
        self.reservations = reservations
        self.issued = ledger.for_flow(orders_flow.PAYMENTS_FLOW).of(orders_flow.SHOP)
        self.since = since

    def held(self) -> dict[str, Counter]:
        """Order id -> its quantities, for orders holding stock without a reservation or a sales document."""
        orders = [o for page in self.shop.orders(self.since, m.STOCK_HOLDING) for o in page]
        known = self.reservations.held_orders([str(o["id"]) for o in orders])
        return {str(o["id"]): Counter(m.quantities(o)) for o in orders
                if str(o["id"]) not in known and not self._issued(str(o["id"]))}

    def _issued(self, order_id: str) -> bool:
        state = self.issued.document_state(orders_flow.SALE_ENTITY, order_id)
        return bool(state and state.stage == "done")


class ErpStock:
    """ERP products with the stock the shop sells from: the e-shop warehouse's, or with ``split_warehouses`` (orders
    filled from several) the sum over those."""

    def __init__(self, erp: FakturowniaHook, config: EshopErpSettings):
        self.erp = erp
        self.first, *self.others = config.split_warehouses or [config.eshop_warehouse_id]

    def changed(self, since: datetime | None) -> dict[str, dict]:
        """Code -> product, of those changed since ``since`` (all without): one list read per warehouse."""
        items = {str(p["code"]): p for page in self.erp.products(self.first, since) for p in page if p.get("code")}
        for warehouse in self.others:
            unread = set(items)
            for page in self.erp.products(warehouse, since):
                for product in page:
                    if str(product.get("code")) in unread:
                        unread.discard(str(product["code"]))
                        _add_stock(items[str(product["code"])], product.get("stock_level"))
            for code in unread:  # changed between the list reads
                _add_stock(items[code], self.erp.stock_level(items[code]["id"], warehouse))
        return items

    def product(self, product_id: int) -> dict | None:
        product = self.erp.get("products", product_id, {"warehouse_id": self.first} if self.first else None)
        for warehouse in self.others if product else ():
            _add_stock(product, self.erp.stock_level(product_id, warehouse))
        return product


def _add_stock(product: dict, level) -> None:
    product["stock_level"] = str(Decimal(str(product.get("stock_level") or 0)) + Decimal(str(level or 0)))


def sync_catalog(config: EshopErpSettings, ledger: Ledger, shop: WooCommerceHook, erp: FakturowniaHook, *,
                 full: bool = False, dry_run: bool = False) -> dict[str, int]:
    """One pass; returns counts (written, unchanged SKUs are never read, rejected, rewritten after a race)."""
    started = datetime.now(timezone.utc)
    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    ledger = ledger.of(orders_flow.ERP)  # catalog items are ERP product codes
    stored = ledger.watermark(STOCK_STREAM)
    index = ShopIndex(shop, ledger, keep=not dry_run)
    if full or not stored:
        log.info("shop index rebuilt: %d SKUs", index.rebuild())
    since = None if full or not stored else datetime.fromisoformat(stored) - overlap
    stock = ErpStock(erp, config)
    erp_items = stock.changed(since)
    erp_items |= _quarantined(ledger, index, stock, skip=erp_items)
    pricing = Pricing(config, erp, date.today())
    erp_items |= _repriced(stock, pricing.changed(ledger), skip=erp_items)
    counts = Counter(read=len(erp_items))
    if erp_items:
        counts += _write(config, ledger, shop, index, erp_items, pricing, full=full, dry_run=dry_run)
    if not dry_run:
        pricing.remember(ledger)
        ledger.set_watermark(STOCK_STREAM, started.isoformat())
        ledger.commit()
    log.info("catalog: %s", dict(counts))
    return dict(counts)


def _quarantined(ledger: Ledger, index: ShopIndex, stock: ErpStock, skip: dict) -> dict[str, dict]:
    """The quarantined SKUs the shop now has, with their ERP products read again (by the id kept)."""
    waiting = [sku for sku in ledger.quarantined(ITEM_ENTITY) if sku not in skip]
    if not waiting:
        return {}
    with ledger.conn.cursor() as cur:
        cur.execute("SELECT source_id, payload->>'erp_product_id' FROM quarantine WHERE company = %s AND flow = %s"
                    " AND system = %s AND entity = %s AND source_id = ANY(%s)",
                    (ledger.company, ledger.flow, ledger.system, ITEM_ENTITY, waiting))
        product_ids = {sku: product_id for sku, product_id in cur.fetchall() if product_id}
    found = index.find(sorted(product_ids))
    products = {sku: stock.product(product_ids[sku]) for sku in found}
    return {sku: product for sku, product in products.items() if product}


def _repriced(stock: ErpStock, product_ids: list[int], skip: dict) -> dict[str, dict]:
    """The ERP products whose price-list prices changed, read again (those not read already)."""
    read = {int(p["id"]) for p in skip.values()}
    products = (stock.product(i) for i in product_ids if i not in read)
    return {str(p["code"]): p for p in products if p and p.get("code")}


def _write(config: EshopErpSettings, ledger: Ledger, shop: WooCommerceHook, index: ShopIndex, erp_items: dict,
           pricing: Pricing, *, full: bool, dry_run: bool) -> Counter:
    counts: Counter = Counter()
    items = index.find(sorted(erp_items))
    for sku in sorted(set(erp_items) - set(items)):
        _refuse(ledger, sku, f"SKU {sku}: the ERP has product {erp_items[sku].get('name')!r} with this code but the "
                             "shop has no product or variation with this SKU; add it in the shop",
                "UNKNOWN_SKU", erp_items[sku], dry_run)
        counts["rejected"] += 1
    reservations = Reservations(ledger.of(orders_flow.SHOP), shop.conn_id)
    pending = PendingOrders(shop, ledger, reservations, _pending_since(config, ledger))
    held = reservations.reserved(items)
    before = pending.held()
    values = {}
    for sku in list(items):
        try:
            values[sku] = _values(pricing, erp_items[sku], sku, held[sku] + _sum(before, sku))
        except RecordRejected as exc:
            _refuse(ledger, sku, exc.reason, exc.category, erp_items[sku], dry_run)
            counts["rejected"] += 1
    if not full:  # what was written last and still holds costs no write (a re-read within the overlap)
        last = ledger.mappings(ITEM_ENTITY, list(values))
        same = {sku for sku in values if last.get(sku, (None, None))[1] == content_hash(values[sku])}
        values = {sku: v for sku, v in values.items() if sku not in same}
        counts["unchanged"] += len(same)
    if dry_run:
        log.info("dry run, nothing written: %s", values)
        return counts + Counter(written=len(values))
    counts += _send(ledger, shop, items, values)
    raced = {o: q for o, q in pending.held().items() if o not in before}
    touched = {sku for q in raced.values() for sku in q if sku in values}
    if touched:  # an order came in while the write was on its way: write those SKUs once more
        log.info("orders %s came in during the write; SKUs %s written again", sorted(raced), sorted(touched))
        again = {sku: _values(pricing, erp_items[sku], sku, held[sku] + _sum(before, sku) + _sum(raced, sku))
                 for sku in touched}
        counts += _send(ledger, shop, {s: items[s] for s in touched}, again)
        counts["rewritten"] += len(touched)
        counts["written"] -= len(touched)
    return counts


def _pending_since(config: EshopErpSettings, ledger: Ledger) -> datetime:
    """Orders newer than the orders flow's watermark (or the setting orders_since, or an hour) are not in the
    ledger's reservations yet."""
    stored = ledger.for_flow(orders_flow.ORDERS_FLOW).of(orders_flow.SHOP).watermark(orders_flow.ORDERS_STREAM)
    overlap = timedelta(minutes=config.watermark_overlap_minutes)
    if stored:
        return datetime.fromisoformat(stored) - overlap
    if config.orders_since:
        return datetime.combine(config.orders_since, datetime.min.time(), timezone.utc)
    return datetime.now(timezone.utc) - timedelta(hours=1)


def _sum(orders: dict[str, Counter], sku: str) -> Decimal:
    return sum((Decimal(q[sku]) for q in orders.values() if sku in q), Decimal(0))


def _values(pricing: Pricing, product: dict, sku: str, held: Decimal) -> dict:
    """What the shop shows of one ERP product: its prices, and the stock the shop may still sell."""
    stock = Decimal(str(product.get("stock_level") or 0)) - held
    return {"manage_stock": True, "stock_quantity": max(int(stock), 0), **pricing.prices(product, sku)}


def _send(ledger: Ledger, shop: WooCommerceHook, items: dict, values: dict) -> Counter:
    """Batch updates per product list (simple products together, each variable product's variations together)."""
    counts: Counter = Counter()
    groups: dict[int | None, list[str]] = {}
    for sku in sorted(values):
        groups.setdefault(items[sku].parent_id, []).append(sku)
    for parent, skus in groups.items():
        answers = shop.batch_update([{"id": items[s].product_id, **values[s]} for s in skus], parent)
        outcomes = []
        for sku, answer in zip(skus, answers):
            if "error" in answer:
                error = answer["error"]
                _refuse(ledger, sku, f"SKU {sku}: the shop refused the update: {error.get('message')} "
                                     f"({error.get('code')})", "SHOP_REFUSED", {}, False)
                counts["rejected"] += 1
            else:
                outcomes.append(Outcome(ITEM_ENTITY, sku, "updated", sku, items[sku].text()))
                counts["written"] += 1
        ledger.log(outcomes)
        ledger.remember_many(ITEM_ENTITY, [(o.source_id, o.target_id, content_hash(values[o.source_id]))
                                           for o in outcomes])
        ledger.release(ITEM_ENTITY, [o.source_id for o in outcomes])
        ledger.commit()
    return counts


def _refuse(ledger: Ledger, sku: str, reason: str, category: str, product: dict, dry_run: bool) -> None:
    """Quarantine a SKU (with its ERP product id, to be asked again on the next runs)."""
    log.warning(reason)
    if not dry_run:
        ledger.quarantine(ITEM_ENTITY, sku, sku, reason, category, {"erp_product_id": product.get("id")})
        ledger.log([Outcome(ITEM_ENTITY, sku, "rejected", sku, None, category, reason)])
        ledger.commit()

