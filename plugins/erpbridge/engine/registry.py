"""Registry sync: list what changed -> map -> find-or-create / update -> record the outcome.

Exactly once without idempotency keys: the id map first, then a lookup by natural key in the
target (adopt what exists), and only then a create, remembered in the ledger right after.
A content hash per record makes an unchanged record cost no write. Records refused for their
data go to quarantine and are tried again on every run; one the source no longer has (or whose id it
refuses as none of its own) leaves the quarantine as 'gone', saying why. System failures stop the task.
The ledger rows of a register are those of its source's system: a register whose direction is switched
starts on the other system's id map, watermark and quarantine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Protocol

from erpbridge.errors import ExternalSystemError, RecordRejected, RecordSkipped
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)


class Source(Protocol):
    """Records of one register. ``changed_pages`` gets what the stream's Watermark makes of the stored
    value (by default a datetime, from ``changed_at``); a source may bring its own by a ``watermark()``
    method returning a Watermark (e.g. a change sequence number). ``system`` names the system its ids are of
    (e.g. "severa"): the ledger keeps them apart by it."""

    system: str

    def changed_pages(self, since) -> Iterator[list[dict]]: ...
    def fetch(self, source_ids: list[str]) -> Iterable[dict]: ...
    def source_id(self, record: dict) -> str: ...
    def changed_at(self, record: dict) -> datetime | None: ...


class Watermark(Protocol):
    """Where a stream got to, stored as opaque text in the ledger between runs."""

    def since(self, stored: str | None): ...  # what changed_pages receives (None: everything)
    def observe(self, page: list[dict]) -> None: ...  # sees every page read
    def value(self) -> str | None: ...  # the text to store after the run (None: keep the old one)


class ChangeTimeWatermark:
    """The newest ``changed_at`` seen (else the run's start), read back with an overlap."""

    def __init__(self, source: Source, overlap: timedelta):
        self.source = source
        self.overlap = overlap
        self.started = datetime.now(timezone.utc)
        self.newest: datetime | None = None

    def since(self, stored: str | None) -> datetime | None:
        return datetime.fromisoformat(stored) - self.overlap if stored else None

    def observe(self, page: list[dict]) -> None:
        times = [t for t in map(self.source.changed_at, page) if t is not None]
        if times:
            self.newest = max(times + ([self.newest] if self.newest else []))

    def value(self) -> str | None:
        return (self.newest or self.started).isoformat()


class Target(Protocol):
    def find(self, keys: list[str]) -> dict[str, str]: ...
    def create(self, payload: dict) -> str: ...
    def update(self, target_id: str, payload: dict) -> str: ...


@dataclass
class Register:
    """One stream of one register: where from, where to, and how a record is mapped and keyed."""

    entity: str
    source: Source
    target: Target
    mapping: Callable[[dict], dict]
    natural_key: Callable[[dict], str]


@dataclass
class SyncResult:
    entity: str
    counts: Counter = field(default_factory=Counter)
    preview: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        order = ["created", "updated", "unchanged", "skipped", "rejected", "failed"]
        return f"{self.entity}: " + " ".join(f"{k}={self.counts.get(k, 0)}" for k in order)


def content_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class RegistrySync:
    def __init__(self, register: Register, ledger: Ledger, *, full: bool = False, dry_run: bool = False,
                 overlap: timedelta = timedelta(minutes=10), write_attempts: int = 3,
                 only: list[str] | None = None):
        self.register = register
        self.only = only  # just these source ids (a control-room retry, named employees); the watermark stays
        self.ledger = ledger.of(register.source.system)
        self.full = full
        self.dry_run = dry_run
        self.overlap = overlap
        self.write_attempts = write_attempts
        self.result = SyncResult(register.entity)
        self.keys_this_run: dict[str, str] = {}
        self._written: list[tuple[str, str, str]] = []  # (source id, target id, hash) not yet in the ledger

    def run(self) -> SyncResult:
        entity = self.register.entity
        source = self.register.source
        if self.only is not None:
            return self._run_only(self.only)
        watermark = source.watermark() if hasattr(source, "watermark") else ChangeTimeWatermark(source, self.overlap)
        retry_ids = self.ledger.quarantined(entity)
        if retry_ids:
            log.info("%s: retrying %d quarantined records", entity, len(retry_ids))
            self._process(self._fetch(retry_ids))
        since = None if self.full else watermark.since(self.ledger.watermark(entity))
        for page in source.changed_pages(since):
            watermark.observe(page)
            self._process(page)
        value = watermark.value()
        if not self.dry_run and value is not None:
            self.ledger.set_watermark(entity, value)
            self.ledger.commit()
        log.info(self.result.summary())
        return self.result

    def _run_only(self, source_ids: list[str]) -> SyncResult:
        """Fetch and transfer just these records; the watermark stays where the last full pass left it."""
        self._process(self._fetch(source_ids) if source_ids else [])
        log.info(self.result.summary())
        return self.result

    def _fetch(self, source_ids: list[str]) -> list[dict]:
        """These records as the source has them now. An id the source says it does not have, or refuses as none
        of its own, is logged; if it waits in the quarantine it leaves it as 'gone' with the source's words."""
        source, entity = self.register.source, self.register.entity
        try:
            records, refused = list(source.fetch(source_ids)), {}
        except (RecordRejected, ExternalSystemError) as exc:
            if not _refuses_the_id(exc):
                raise
            records, refused = self._fetch_each(source_ids)
        found = {source.source_id(r) for r in records}
        gone = {sid: refused.get(sid) or f"{source.system} has no {entity} {sid} (any more)"
                for sid in source_ids if sid not in found}
        if gone:
            log.warning("%s: not in %s, not transferred: %s", entity, source.system,
                        "; ".join(f"{sid}: {why}" for sid, why in gone.items()))
            if not self.dry_run:
                self.result.counts["gone"] += len(self.ledger.gone(entity, gone))
                self.ledger.commit()
        return records

    def _fetch_each(self, source_ids: list[str]) -> tuple[list[dict], dict[str, str]]:
        """One by one, after the source refused a list: (the records it gave, {id: its refusal})."""
        records, refused = [], {}
        for source_id in source_ids:
            try:
                records += list(self.register.source.fetch([source_id]))
            except (RecordRejected, ExternalSystemError) as exc:
                if not _refuses_the_id(exc):
                    raise
                refused[source_id] = f"{self.register.source.system} refuses {self.register.entity} {source_id}: {exc}"
        return records, refused

    def _process(self, page: list[dict]) -> None:
        reg = self.register
        outcomes: list[Outcome] = []
        mapped: list[tuple[str, str, dict]] = []
        for record in page:
            source_id = reg.source.source_id(record)
            try:
                payload = reg.mapping(record)
                key = reg.natural_key(payload)
                self._claim(key, source_id)
            except RecordSkipped as exc:
                outcomes.append(Outcome(reg.entity, source_id, "skipped", _describe(record), error_text=exc.reason))
                continue
            except RecordRejected as exc:
                outcomes.append(self._reject(source_id, _describe(record), exc, record))
                continue
            mapped.append((source_id, key, payload))

        known = self.ledger.mappings(reg.entity, [sid for sid, _, _ in mapped])
        unknown_keys = [key for sid, key, _ in mapped if sid not in known]
        found = reg.target.find(unknown_keys) if unknown_keys else {}
        try:
            for source_id, key, payload in mapped:
                outcomes.append(self._transfer(source_id, key, payload, known.get(source_id), found.get(key)))
        finally:
            self._record(outcomes)

    def _claim(self, key: str, source_id: str) -> None:
        """Refuse a second source record that maps to a natural key already used in this run."""
        owner = self.keys_this_run.setdefault(key, source_id)
        if owner != source_id:
            raise RecordRejected(f"duplicate code {key!r} in the source: also used by record {owner}",
                                 "DUPLICATE_IN_SOURCE")

    def _transfer(self, source_id: str, key: str, payload: dict, known: tuple | None, found: str | None) -> Outcome:
        reg = self.register
        digest = content_hash(payload)
        if known and known[1] == digest and not self.full:
            return Outcome(reg.entity, source_id, "unchanged", key, known[0])
        target_id = known[0] if known else found
        action = "updated" if target_id else "created"
        if self.dry_run:
            self.result.preview.append({"action": action, "key": key, "target_id": target_id, "payload": payload})
            return Outcome(reg.entity, source_id, action, key, target_id)
        try:
            target_id = self._write(source_id, key, payload, target_id)
        except RecordRejected as exc:
            return self._reject(source_id, key, exc, payload)
        self._written.append((source_id, target_id, digest))  # into the ledger before the next commit
        return Outcome(reg.entity, source_id, action, key, target_id)

    def _write(self, source_id: str, key: str, payload: dict, target_id: str | None) -> str:
        """Create or update; after a failed attempt look the key up again (the create may have landed)
        and try again, so a flaky target costs retries, not duplicates. Each failure is logged."""
        reg = self.register
        attempt = 1
        while True:
            try:
                return reg.target.update(target_id, payload) if target_id else reg.target.create(payload)
            except ExternalSystemError as exc:
                self._record([Outcome(reg.entity, source_id, "failed", key, target_id, exc.category, str(exc))])
                if attempt >= self.write_attempts:
                    raise
                attempt += 1
                target_id = target_id or reg.target.find([key]).get(key)

    def _reject(self, source_id: str, key: str | None, exc: RecordRejected, payload: dict) -> Outcome:
        if not self.dry_run:
            self.ledger.quarantine(self.register.entity, source_id, key, exc.reason, exc.category, payload)
        else:
            self.result.preview.append({"action": "rejected", "key": key, "reason": exc.reason})
        return Outcome(self.register.entity, source_id, "rejected", key, None, exc.category, exc.reason)

    def _record(self, outcomes: list[Outcome]) -> None:
        """Count and log outcomes, and commit them together with the id map rows of the writes since the
        last commit (one batch per page: committed exactly when per-record statements would have been)."""
        self.result.counts.update(o.action for o in outcomes)
        written, self._written = self._written, []
        if written and not self.dry_run:
            self.ledger.remember_many(self.register.entity, written)
            self.ledger.release(self.register.entity, [source_id for source_id, _, _ in written])
        if (outcomes or written) and not self.dry_run:
            self.ledger.log(outcomes)
            self.ledger.commit()
        outcomes.clear()


def _refuses_the_id(exc: Exception) -> bool:
    """The source's answer to a read by id says the id is not one of its records (refused as data, or not
    found), not that the source cannot be used."""
    return isinstance(exc, RecordRejected) or exc.category == "NOT_FOUND"


def _describe(record: dict) -> str | None:
    """A human key for a record that could not be mapped: its code or number, else its name."""
    for field_name in ("code", "number", "name"):
        if record.get(field_name) not in (None, ""):
            return str(record[field_name])
    return None
