"""Fixes offered where a refusal is shown: for a record waiting for a missing mapping, a form that writes it
into the flow's settings Variable through Airflow's REST API (with the user's token and rights).

One kind so far: an absence type without a Netvisor record type (``hours.absence_record_types`` in the
Variable ``erpbridge_severa_netvisor``). The choices are the record types Netvisor lists (its collector
ratios, read through the hours flow's connection); when Netvisor cannot be reached, the record types the
settings already use, and the page says why.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from airflow.sdk.exceptions import AirflowNotFoundException

from erpbridge import settings
from erpbridge.catalog import FLOWS
from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.netvisor import NetvisorHook

log = logging.getLogger(__name__)
HOURS = FLOWS["severa_netvisor_hours"]  # the flow whose refusals this fixes
VARIABLE = HOURS.settings_variable
_ABSENCE = re.compile(r"\(code (?P<code>[^)\s]+)\) has no Netvisor record type")
PAGE_TIMEOUT = 10.0  # seconds a page waits for Netvisor's list (one attempt, no retries)
FROM_NETVISOR = f"Read from Netvisor (connection {HOURS.connections['netvisor']}): its record types (collector ratios)"
FROM_SETTINGS = ("Netvisor's list of record types could not be read ({problem}): these are the record types your "
                 "settings already use; any record-type number Netvisor knows is accepted")


@dataclass
class RecordType:
    number: str
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}".strip()


@dataclass
class AbsenceTypeFix:
    code: str  # the Severa absence type code
    choices: list[RecordType]  # record types offered
    problem: str | None = None  # why the choices are the settings' and not Netvisor's list

    @property
    def choices_from(self) -> str:
        return FROM_SETTINGS.format(problem=self.problem) if self.problem else FROM_NETVISOR


def absence_type_code(record: dict) -> str | None:
    """The Severa absence type code a waiting record lacks a record type for, or None."""
    if record.get("error_category") != "ABSENCE_TYPE":
        return None
    found = _ABSENCE.search(record.get("reason") or "")
    return found["code"] if found else None


def current(raw: str | None) -> dict:
    """The Variable's JSON (empty when it does not exist); SettingsError when it does not validate."""
    try:
        overrides = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise settings.SettingsError(f"Variable {VARIABLE} is not valid JSON: {exc}") from None
    settings.parse(HOURS.settings(), overrides, f"Variable {VARIABLE}")
    return overrides


def choices(overrides: dict) -> tuple[list[RecordType], str | None]:
    """The record types to offer: Netvisor's list, else the settings' and why Netvisor's is not offered."""
    try:
        listed = netvisor_record_types()
    except (ExternalSystemError, RecordRejected, AirflowNotFoundException, ValueError) as exc:
        log.warning("control room: Netvisor's record types not read, the settings' offered: %s", exc)
        return settings_record_types(overrides), str(exc)
    return (listed, None) if listed else (settings_record_types(overrides), "Netvisor lists none")


def netvisor_record_types() -> list[RecordType]:
    """Netvisor's collector ratios through the hours flow's connection, in one short attempt."""
    hook = NetvisorHook(HOURS.connections["netvisor"])
    hook.client.attempts, hook.client.timeout = 1, min(hook.client.timeout, PAGE_TIMEOUT)
    return [RecordType(ratio["number"], ratio["name"]) for ratio in hook.list_payroll_ratios()]


def settings_record_types(overrides: dict) -> list[RecordType]:
    hours = settings.parse(HOURS.settings(), overrides, VARIABLE).hours
    used = {hours.default_record_type, *hours.record_types.values(), *hours.absence_record_types.values()}
    return [RecordType(number) for number in sorted(used, key=int)]


def with_absence_type(overrides: dict, code: str, record_type: str) -> dict:
    """The Variable's JSON with ``hours.absence_record_types[code] = record_type``; SettingsError naming the field
    when the result does not validate (a record type is a number)."""
    hours = dict(overrides.get("hours") or {})
    hours["absence_record_types"] = {**(hours.get("absence_record_types") or {}), code: record_type.strip()}
    updated = {**overrides, "hours": hours}
    settings.parse(HOURS.settings(), updated, f"Variable {VARIABLE}")
    return updated
