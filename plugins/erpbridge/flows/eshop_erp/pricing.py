"""The shop's prices from the ERP (R-D.1): a product on the e-shop's price list (setting ``price_list_id``) sells
at that list's price, any other at its product card's; a dated promotion (setting ``promotions``: a price
list's prices from one day to another) becomes WooCommerce's sale price with its dates, so the shop starts
and ends it by itself. When promotions are set, the ERP owns the sale prices: a product in none has its
sale price cleared. Price lists carry no change time to filter by, so the configured ones are read whole
each run; the products whose prices on them changed since the last run (a hash per product in the ledger)
are read again and written, the others cost nothing.
"""

from __future__ import annotations

from datetime import date

from erpbridge.engine.registry import content_hash
from erpbridge.errors import RecordRejected
from erpbridge.hooks.fakturownia import FakturowniaHook
from erpbridge.ledger.store import Ledger
from erpbridge.flows.eshop_erp.settings import EshopErpSettings, Promotion

PRICING_ENTITY = "erp_pricing"  # id map: ERP product id -> hash of its price-list prices


class Pricing:
    """The configured price lists as read in this run, and the prices they give each product."""

    def __init__(self, config: EshopErpSettings, erp: FakturowniaHook, today: date):
        self.gross = config.shop_prices_include_tax
        self.owns_sales = bool(config.promotions)
        running = sorted((p for p in config.promotions if p.ends >= today), key=lambda p: p.starts)
        wanted = sorted({p.price_list_id for p in running} | ({config.price_list_id} - {None}))
        lists = erp.price_list_positions(wanted) if wanted else {}
        missing = [i for i in wanted if i not in lists]
        if missing:
            raise ValueError(f"price list(s) {missing} (settings price_list_id / promotions) are not in Fakturownia")
        self.regular = _by_product(lists.get(config.price_list_id, []))
        self.sales: dict[int, tuple[dict, Promotion]] = {}
        for promotion in running:  # the earliest promotion of a product first; the next one after it ends
            for product_id, position in _by_product(lists[promotion.price_list_id]).items():
                self.sales.setdefault(product_id, (position, promotion))

    def prices(self, product: dict, sku: str) -> dict:
        """The shop's price fields for one ERP product; RecordRejected for a price list position without one."""
        product_id = int(product["id"])
        card = product.get("price_gross") if self.gross else product.get("price_net")
        regular = self._price(self.regular[product_id], sku) if product_id in self.regular else str(card)
        fields = {"regular_price": regular}
        if self.owns_sales:
            position, promotion = self.sales.get(product_id, (None, None))
            fields |= ({"sale_price": self._price(position, sku), "date_on_sale_from": f"{promotion.starts}T00:00:00",
                        "date_on_sale_to": f"{promotion.ends}T23:59:59"} if position else
                       {"sale_price": "", "date_on_sale_from": None, "date_on_sale_to": None})
        return fields

    def changed(self, ledger: Ledger) -> list[int]:
        """ERP product ids whose price-list prices differ from those of the last run (added, changed, dropped)."""
        now, before = self.digests(), _stored(ledger)
        return sorted(i for i in set(now) | set(before) if now.get(i) != before.get(i))

    def remember(self, ledger: Ledger) -> None:
        """This run's prices as the ones written (a product no longer on any list: none)."""
        now = self.digests()
        gone = [i for i in _stored(ledger) if i not in now]
        ledger.remember_many(PRICING_ENTITY, [(str(i), "", digest) for i, digest in now.items()]
                             + [(str(i), "", None) for i in gone])

    def digests(self) -> dict[int, str]:
        ids = set(self.regular) | set(self.sales)
        return {i: content_hash({"regular": self.regular.get(i),
                                 "sale": self.sales[i][0] | {"promotion": self.sales[i][1].model_dump(mode="json")}
                                 if i in self.sales else None}) for i in ids}

    def _price(self, position: dict, sku: str) -> str:
        if str(position.get("use_percentage") or "0") not in ("0", "false", ""):
            raise RecordRejected(f"SKU {sku}: price list position {position.get('id')} gives a percentage, not a "
                                 "price; give the product its price on the price list", "PRICE_LIST_PERCENTAGE")
        price = position.get("price_gross" if self.gross else "price_net")
        if price in (None, ""):
            raise RecordRejected(f"SKU {sku}: price list position {position.get('id')} has no "
                                 f"{'gross' if self.gross else 'net'} price", "PRICE_LIST_PRICE")
        return str(price)


def _by_product(positions: list[dict]) -> dict[int, dict]:
    return {int(p["priceable_id"]): p for p in positions if p.get("priceable_type", "Product") == "Product"}


def _stored(ledger: Ledger) -> dict[int, str]:
    """ERP product id -> the hash of its price-list prices when last written."""
    with ledger.conn.cursor() as cur:
        cur.execute("SELECT source_id, content_hash FROM id_map WHERE flow = %s AND entity = %s"
                    " AND content_hash IS NOT NULL", (ledger.flow, PRICING_ENTITY))
        return {int(source_id): digest for source_id, digest in cur.fetchall()}
