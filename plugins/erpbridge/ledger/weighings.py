"""The labels read from the weighing system (table weighing, migration 011): what makes each count once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from erpbridge.ledger.store import Ledger, storable


@dataclass(frozen=True)
class Weighing:
    label_id: str
    order_no: str
    station_id: str
    weighed_at: datetime
    seq: int
    label: str
    gtin: str | None
    net_kg: Decimal | None
    lot: str | None
    pack_date: date | None
    voided: bool = False
    delivery_note: str | None = None


_COLUMNS = "label_id, order_no, station_id, weighed_at, seq, label, gtin, net_kg, lot, pack_date, voided, delivery_note"


class Weighings:
    """The weighings of the ledger's company and flow; callers commit."""

    def __init__(self, ledger: Ledger):
        self.conn, self.key = ledger.conn, (ledger.company, ledger.flow)

    def get(self, label_id: str) -> Weighing | None:
        found = self._select("label_id = %s", label_id)
        return found[0] if found else None

    def add(self, weighing: Weighing) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO weighing (company, flow, {_COLUMNS}) VALUES"
                        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (*self.key, *(storable(v) for v in vars(weighing).values())))

    def void(self, label_id: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("UPDATE weighing SET voided = true WHERE company = %s AND flow = %s AND label_id = %s",
                        (*self.key, label_id))

    def countable(self, order_no: str) -> list[Weighing]:
        """The order's labels not voided and counted in no delivery note yet, in the order they were weighed."""
        return self._select("order_no = %s AND NOT voided AND delivery_note IS NULL ORDER BY weighed_at, label_id",
                            order_no)

    def delivered(self, order_no: str) -> str | None:
        """The reference of the delivery note that counted the order's labels, if one did."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT max(delivery_note) FROM weighing WHERE company = %s AND flow = %s AND order_no = %s",
                        (*self.key, order_no))
            return cur.fetchone()[0]

    def count_in(self, label_ids: list[str], reference: str) -> None:
        """The labels counted in the delivery note ``reference``."""
        with self.conn.cursor() as cur:
            cur.execute("UPDATE weighing SET delivery_note = %s WHERE company = %s AND flow = %s"
                        " AND label_id = ANY(%s)", (reference, *self.key, label_ids))

    def uncount(self, reference: str) -> None:
        """The labels of a delivery note Horizon never stored count in none again."""
        with self.conn.cursor() as cur:
            cur.execute("UPDATE weighing SET delivery_note = NULL WHERE company = %s AND flow = %s"
                        " AND delivery_note = %s", (*self.key, reference))

    def _select(self, where: str, *args) -> list[Weighing]:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM weighing WHERE company = %s AND flow = %s AND {where}",
                        (*self.key, *args))
            return [Weighing(*row) for row in cur.fetchall()]

