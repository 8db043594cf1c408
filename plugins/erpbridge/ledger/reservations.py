"""E-shop reservations in the ledger (migrations 006, 010): stock held by shop orders the ERP has not issued,
per ERP warehouse for the parts of an order split per warehouse."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Iterable

from erpbridge.ledger.store import Ledger


class Reservations:
    """The reservations of one shop (its connection id) of the ledger's company, keyed by the shop's order ids
    (the ledger's system); callers commit."""

    def __init__(self, ledger: Ledger, shop: str):
        self.conn = ledger.conn
        company, _, system = ledger.scope
        self.scope = (company, shop, system)

    def hold(self, order_id: str, quantities: dict[str, Decimal]) -> None:
        """The order's lines (SKU -> quantity) as its reservation, replacing what it held before."""
        self.hold_many({order_id: quantities})

    def hold_many(self, orders: dict[str, dict[str, Decimal]]) -> None:
        """``hold`` for many orders (order id -> its lines) in one round trip each for the delete and the insert."""
        self.release_many(list(orders))
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO eshop_reservation (company, shop, system, shop_order_id, sku, quantity)"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            [(*self.scope, order_id, sku, q) for order_id, quantities in orders.items()
                             for sku, q in quantities.items() if q > 0])

    def hold_split(self, order_id: str, parts: dict[int, dict[str, Decimal]]) -> None:
        """A split order's parts (warehouse id -> SKU -> quantity) as its reservation, replacing what it held."""
        self.release(order_id)
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO eshop_reservation (company, shop, system, shop_order_id, sku, quantity,"
                            " warehouse_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            [(*self.scope, order_id, sku, q, warehouse) for warehouse, quantities in parts.items()
                             for sku, q in quantities.items() if q > 0])

    def split_holds(self, order_id: str) -> dict[int, dict[str, Decimal]]:
        """A split order's holds: warehouse id -> SKU -> quantity (empty when it holds none per warehouse)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT warehouse_id, sku, quantity FROM eshop_reservation WHERE company = %s AND shop = %s"
                        " AND system = %s AND shop_order_id = %s AND warehouse_id <> 0", (*self.scope, order_id))
            holds: dict[int, dict[str, Decimal]] = {}
            for warehouse, sku, quantity in cur.fetchall():
                holds.setdefault(int(warehouse), {})[sku] = Decimal(quantity)
            return holds

    def split_orders(self, order_ids: Iterable[str]) -> set[str]:
        """Which of these orders hold their stock per warehouse (split)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT DISTINCT shop_order_id FROM eshop_reservation WHERE company = %s AND shop = %s"
                        " AND system = %s AND shop_order_id = ANY(%s) AND warehouse_id <> 0",
                        (*self.scope, list(order_ids)))
            return {row[0] for row in cur.fetchall()}

    def held_in(self, skus: Iterable[str], excluding: Iterable[str]) -> Counter:
        """(SKU, warehouse id) -> quantity the split orders hold, of the given SKUs, except orders ``excluding``."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT sku, warehouse_id, sum(quantity) FROM eshop_reservation WHERE company = %s"
                        " AND shop = %s AND system = %s AND warehouse_id <> 0 AND sku = ANY(%s)"
                        " AND NOT shop_order_id = ANY(%s) GROUP BY sku, warehouse_id",
                        (*self.scope, list(skus), list(excluding)))
            return Counter({(sku, int(warehouse)): Decimal(total) for sku, warehouse, total in cur.fetchall()})

    def release(self, order_id: str) -> None:
        self.release_many([order_id])

    def release_many(self, order_ids: list[str]) -> None:
        if order_ids:
            with self.conn.cursor() as cur:
                cur.execute("DELETE FROM eshop_reservation WHERE company = %s AND shop = %s AND system = %s"
                            " AND shop_order_id = ANY(%s)", (*self.scope, order_ids))

    def held_orders(self, order_ids: Iterable[str]) -> set[str]:
        """Which of these orders hold a reservation."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT DISTINCT shop_order_id FROM eshop_reservation WHERE company = %s AND shop = %s"
                        " AND system = %s AND shop_order_id = ANY(%s)", (*self.scope, list(order_ids)))
            return {row[0] for row in cur.fetchall()}

    def reserved(self, skus: Iterable[str] | None = None) -> Counter:
        """SKU -> quantity held (of the given SKUs, or of all)."""
        query = "SELECT sku, sum(quantity) FROM eshop_reservation WHERE company = %s AND shop = %s AND system = %s"
        args: list = [*self.scope]
        if skus is not None:
            query += " AND sku = ANY(%s)"
            args.append(list(skus))
        with self.conn.cursor() as cur:
            cur.execute(query + " GROUP BY sku", args)
            return Counter({sku: Decimal(total) for sku, total in cur.fetchall()})
