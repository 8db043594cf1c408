"""Severa and Netvisor as the registry sync's sources and targets."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Iterator

from erpbridge.hooks.netvisor import NetvisorHook
from erpbridge.hooks.severa import SeveraHook


class SeveraSource:
    """A Severa list read by ``changedSince``; records are the API's JSON."""

    system = "severa"

    def __init__(self, hook: SeveraHook, resource: str):
        self.hook = hook
        self.resource = resource

    def changed_pages(self, since: datetime | None) -> Iterator[list[dict]]:
        return self.hook.iter_changed(self.resource, since)

    def fetch(self, source_ids: list[str]) -> Iterable[dict]:
        return filter(None, (self.hook.get(self.resource, guid) for guid in source_ids))

    def source_id(self, record: dict) -> str:
        return record["guid"]

    def changed_at(self, record: dict) -> datetime | None:
        stamp = record.get("lastUpdatedDateTime")
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


class SeveraTarget:
    """Severa customers (keyed by number) or products (keyed by code)."""

    def __init__(self, hook: SeveraHook, resource: str, key_field: str, filter_param: str):
        self.hook = hook
        self.resource = resource
        self.key_field = key_field
        self.filter_param = filter_param

    def find(self, keys: list[str]) -> dict[str, str]:
        return {key: record["guid"] for key, record in self.hook.find(self.resource, self.filter_param, keys).items()}

    def create(self, payload: dict) -> str:
        return self.hook.create(self.resource, payload)["guid"]

    def update(self, target_id: str, payload: dict) -> str:
        self.hook.update(self.resource, target_id, payload)
        return target_id


class NetvisorCustomers:
    """Netvisor's customer register as a source (by change time) and a target (by customer code)."""

    system = "netvisor"

    def __init__(self, hook: NetvisorHook):
        self.hook = hook

    def changed_pages(self, since: datetime | None) -> Iterator[list[dict]]:
        keys = [row["netvisor_key"] for row in self.hook.list_customers(since)]
        for start in range(0, len(keys), 500):
            yield list(self.hook.get_customers(keys[start:start + 500]))

    def fetch(self, source_ids: list[str]) -> Iterable[dict]:
        return self.hook.get_customers(source_ids)

    def source_id(self, record: dict) -> str:
        return record["netvisor_key"]

    def changed_at(self, record: dict) -> datetime | None:
        return None  # Netvisor lists carry no change time: the run's start becomes the watermark

    def find(self, keys: list[str]) -> dict[str, str]:
        return self.hook.find_customers(keys)

    def create(self, payload: dict) -> str:
        return self.hook.add_customer(payload)

    def update(self, target_id: str, payload: dict) -> str:
        self.hook.edit_customer(target_id, payload)
        return target_id


class NetvisorProducts:
    """Netvisor's product register as a source and a target (by product code)."""

    system = "netvisor"

    def __init__(self, hook: NetvisorHook):
        self.hook = hook
        self._keys_by_code: dict[str, str] | None = None

    def changed_pages(self, since: datetime | None) -> Iterator[list[dict]]:
        rows = self.hook.list_products(since)
        for start in range(0, len(rows), 100):
            yield [self.hook.get_product(row["netvisor_key"]) for row in rows[start:start + 100]]

    def fetch(self, source_ids: list[str]) -> Iterable[dict]:
        return (self.hook.get_product(key) for key in source_ids)

    def source_id(self, record: dict) -> str:
        return record["netvisor_key"]

    def changed_at(self, record: dict) -> datetime | None:
        return None

    def find(self, keys: list[str]) -> dict[str, str]:
        """By code, from one full product list per run (Netvisor has no filter by code list)."""
        if self._keys_by_code is None:
            self._keys_by_code = {p["code"]: p["netvisor_key"] for p in self.hook.list_products() if p["code"]}
        return {key: self._keys_by_code[key] for key in keys if key in self._keys_by_code}

    def create(self, payload: dict) -> str:
        try:
            return self.hook.add_product(payload)
        except Exception:
            self._keys_by_code = None  # the add may have landed: list again before the next lookup
            raise

    def update(self, target_id: str, payload: dict) -> str:
        self.hook.edit_product(target_id, payload)
        return target_id


class NetvisorDimensionItems:
    """Items under one Netvisor dimension heading, keyed (and identified) by item name."""

    def __init__(self, hook: NetvisorHook, heading: str):
        self.hook = hook
        self.heading = heading

    def find(self, keys: list[str]) -> dict[str, str]:
        existing = set(self.hook.list_dimensions().get(self.heading, []))
        return {key: key for key in keys if key in existing}

    def create(self, payload: dict) -> str:
        self.hook.add_dimension_item(self.heading, payload["item"])
        return payload["item"]

    def update(self, target_id: str, payload: dict) -> str:
        if payload["item"] != target_id:
            self.hook.rename_dimension_item(self.heading, target_id, payload["item"])
        return payload["item"]
