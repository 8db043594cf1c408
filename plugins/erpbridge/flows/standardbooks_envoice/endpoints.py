"""Standard Books and Envoice as the registry sync's sources and targets."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Iterator

from erpbridge.hooks.envoice import EnvoiceHook
from erpbridge.hooks.standard_books import StandardBooksHook


class StandardBooksSource:
    """A Standard Books register read by change sequence (``updates_after``); records as the hook gives them."""

    system = "standard_books"

    def __init__(self, hook: StandardBooksHook, register: str, key_field: str, filters: dict | None = None):
        self.hook = hook
        self.register = register
        self.key_field = key_field
        self.filters = filters or {}
        self.sequence_at_start: int | None = None

    def changed_pages(self, since: int | None) -> Iterator[list[dict]]:
        for page in self.hook.iter_pages(self.register, updates_after=since, filters=self.filters):
            if self.sequence_at_start is None:
                self.sequence_at_start = page.sequence
            yield page.records

    def watermark(self) -> "SequenceWatermark":
        return SequenceWatermark(self)

    def fetch(self, source_ids: list[str]) -> Iterable[dict]:
        return filter(None, (self.hook.get(self.register, key) for key in source_ids))

    def source_id(self, record: dict) -> str:
        return record[self.key_field]

    def changed_at(self, record: dict) -> datetime | None:
        return None  # Standard Books orders changes by sequence, not time


class SequenceWatermark:
    """Standard Books' change sequence as read with the first page: a change made while the pages
    were read has a higher number and is read again next time (the content hash makes that free)."""

    def __init__(self, source: StandardBooksSource):
        self.source = source

    def since(self, stored: str | None) -> int | None:
        return int(stored) if stored else None

    def observe(self, page: list[dict]) -> None:
        pass

    def value(self) -> str | None:
        seen = self.source.sequence_at_start
        return str(seen) if seen is not None else None


class EnvoiceMasterData:
    """One Envoice master-data collection as a target, keyed (and identified) by the ERP's code."""

    def __init__(self, hook: EnvoiceHook, kind: str):
        self.hook = hook
        self.kind = kind

    def find(self, keys: list[str]) -> dict[str, str]:
        wanted = set(keys)
        return {r["code"]: r["code"] for r in self.hook.list_all(self.kind) if r["code"] in wanted}

    def create(self, payload: dict) -> str:
        return self.hook.create(self.kind, payload)["code"]

    def update(self, target_id: str, payload: dict) -> str:
        self.hook.update(self.kind, target_id, payload)
        return target_id
