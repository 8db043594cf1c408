"""The pain.001 files written for payroll runs (table payment_file): what makes a run paid once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from erpbridge.ledger.store import Ledger


@dataclass(frozen=True)
class PaymentFile:
    run_pk: str
    payer_iban: str
    version: int
    msg_id: str
    created: datetime
    file_name: str
    payments_hash: str
    file_sha256: str | None  # None: recorded, not written yet (a crash in between)
    payments: int
    control_sum: Decimal


_COLUMNS = "run_pk, payer_iban, version, msg_id, created, file_name, payments_hash, file_sha256, payments, control_sum"


class PaymentFiles:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def latest(self, run_pk: str, payer_iban: str) -> PaymentFile | None:
        with self.ledger.conn.cursor() as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM payment_file WHERE company = %s AND flow = %s AND run_pk = %s"
                        " AND payer_iban = %s ORDER BY version DESC LIMIT 1",
                        (self.ledger.company, self.ledger.flow, run_pk, payer_iban))
            row = cur.fetchone()
        return PaymentFile(*row) if row else None

    def record(self, entry: PaymentFile, confirmed_by: str | None = None) -> None:
        """Record a file about to be written (or, for an unwritten version, what it now holds). Callers commit."""
        with self.ledger.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO payment_file (company, flow, {_COLUMNS}, confirmed_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (company, flow, run_pk, payer_iban, version) DO UPDATE SET"
                " payments_hash = EXCLUDED.payments_hash, payments = EXCLUDED.payments,"
                " control_sum = EXCLUDED.control_sum, confirmed_by = EXCLUDED.confirmed_by"
                " WHERE payment_file.file_sha256 IS NULL",
                (self.ledger.company, self.ledger.flow, entry.run_pk, entry.payer_iban, entry.version, entry.msg_id,
                 entry.created, entry.file_name, entry.payments_hash, entry.file_sha256, entry.payments,
                 entry.control_sum, confirmed_by))

    def written(self, entry: PaymentFile, sha256: str) -> None:
        with self.ledger.conn.cursor() as cur:
            cur.execute("UPDATE payment_file SET file_sha256 = %s, written_at = now() WHERE company = %s AND flow = %s"
                        " AND run_pk = %s AND payer_iban = %s AND version = %s",
                        (sha256, self.ledger.company, self.ledger.flow, entry.run_pk, entry.payer_iban, entry.version))
