"""E-shop reservations in the ledger (migration 006): stock held by shop orders the ERP has not issued."""

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
        with self.conn.cursor() as cur:
            self._release(cur, order_id)
            cur.executemany("INSERT INTO eshop_reservation (company, shop, system, shop_order_id, sku, quantity)"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            [(*self.scope, order_id, sku, q) for sku, q in quantities.items() if q > 0])

    def release(self, order_id: str) -> None:
        with self.conn.cursor() as cur:
            self._release(cur, order_id)

    def _release(self, cur, order_id: str) -> None:
        cur.execute("DELETE FROM eshop_reservation WHERE company = %s AND shop = %s AND system = %s"
                    " AND shop_order_id = %s", (*self.scope, order_id))

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
