"""The two kinds of failure every flow distinguishes.

RecordRejected: one record's data is refused (by our mapping or by the target). The record goes
to quarantine with the reason, the rest of the batch goes on.
SystemError-like failures (auth refused, outage after retries) raise ExternalSystemError: the task
fails and Airflow retries it; the ledger makes the rerun safe.
"""

from __future__ import annotations


class RecordRejected(Exception):
    """A record the target would refuse (or did refuse): ``reason`` is shown to the user unchanged."""

    def __init__(self, reason: str, category: str = "INVALID_DATA"):
        super().__init__(reason)
        self.reason = reason
        self.category = category


class RecordSkipped(Exception):
    """A record that by design does not move (e.g. a product without a code): logged, not quarantined."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ExternalSystemError(Exception):
    """The external system could not be used (auth, outage, malformed answers after retries)."""

    def __init__(self, system: str, message: str, category: str = "SYSTEM", status: int | None = None):
        super().__init__(f"{system}: {message}")
        self.system = system
        self.message = message
        self.category = category
        self.status = status
