"""The two kinds of failure every flow distinguishes.

RecordRejected: one record's data is refused (by our mapping or by the target). The record goes
to quarantine with the reason, the rest of the batch goes on.
SystemError-like failures (auth refused, outage after retries) raise ExternalSystemError: the task
fails and Airflow retries it; the ledger makes the rerun safe. A document run goes on past one
document's system failure and raises IncompleteTransfer at its end.
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


class IncompleteTransfer(ExternalSystemError):
    """A run that moved what it could: ``failures`` (each "key: error", each also in the transfer log)
    failed for a system reason and are tried again by the next run."""

    def __init__(self, entity: str, failures: list[str]):
        shown = "; ".join(failures[:10]) + (f"; ... and {len(failures) - 10} more" if len(failures) > 10 else "")
        super().__init__("erpbridge", f"{len(failures)} {entity}(s) not moved, tried again on the next run: {shown}")
        self.failures = failures


class RunFailures:
    """The system failures of a run that goes on past them. ``add`` says when to stop (three in a row:
    the system is taken to be down); ``raise_if_any`` ends the run with IncompleteTransfer."""

    IN_A_ROW = 3

    def __init__(self, entity: str):
        self.entity = entity
        self.items: list[str] = []
        self._in_a_row = 0

    def add(self, key: str, exc: Exception) -> bool:
        """Record a failure; True when the run should stop."""
        self.items.append(f"{key}: {exc}")
        self._in_a_row += 1
        return self._in_a_row >= self.IN_A_ROW

    def succeeded(self) -> None:
        self._in_a_row = 0

    def raise_if_any(self) -> None:
        if self.items:
            raise IncompleteTransfer(self.entity, self.items)
