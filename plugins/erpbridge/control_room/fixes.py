"""Fixes offered where a refusal is shown: for a record waiting for a missing mapping, a form that writes it
into the flow's settings Variable through Airflow's REST API (with the user's token and rights).

One kind so far: an absence type without a Netvisor record type (``hours.absence_record_types`` in the
Variable ``erpbridge_severa_netvisor``). Our Netvisor hook reads no list of record types from Netvisor,
so the choices offered are the record types the settings already use, and the page says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from erpbridge import settings

VARIABLE = "erpbridge_severa_netvisor"
_ABSENCE = re.compile(r"\(code (?P<code>[^)\s]+)\) has no Netvisor record type")
CHOICES_FROM = ("Netvisor offers no list of record types through the interface erpbridge uses: these are the "
                "record types your settings already use; any record-type number Netvisor knows is accepted")


@dataclass
class AbsenceTypeFix:
    code: str  # the Severa absence type code
    choices: list[str]  # record-type numbers offered
    choices_from: str = CHOICES_FROM


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
    settings.parse(settings.SeveraNetvisorSettings, overrides, f"Variable {VARIABLE}")
    return overrides


def choices(overrides: dict) -> list[str]:
    hours = settings.parse(settings.SeveraNetvisorSettings, overrides, VARIABLE).hours
    used = {hours.default_record_type, *hours.record_types.values(), *hours.absence_record_types.values()}
    return sorted(used, key=int)


def with_absence_type(overrides: dict, code: str, record_type: str) -> dict:
    """The Variable's JSON with ``hours.absence_record_types[code] = record_type``; SettingsError naming the field
    when the result does not validate (a record type is a number)."""
    hours = dict(overrides.get("hours") or {})
    hours["absence_record_types"] = {**(hours.get("absence_record_types") or {}), code: record_type.strip()}
    updated = {**overrides, "hours": hours}
    settings.parse(settings.SeveraNetvisorSettings, updated, f"Variable {VARIABLE}")
    return updated
