"""Fixes offered where a refusal is shown: for a record waiting for a missing mapping, a form that writes it
into the flow's settings Variable through Airflow's REST API (with the user's token and rights).

One kind so far: an absence type without a Netvisor record type (``hours.absence_record_types`` in the
settings Variable of the record's company's hours flow, ``erpbridge_severa_netvisor`` for the default company).
The choices are the record types Netvisor lists (its collector ratios, read through that flow's Netvisor
connection); when Netvisor cannot be reached, the record types the settings already use, and the page says why.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from airflow.sdk.exceptions import AirflowNotFoundException

from erpbridge import settings
from erpbridge.catalog import FLOWS
from erpbridge.companies import companies_file, company_flow
from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.netvisor import NetvisorHook

log = logging.getLogger(__name__)
HOURS = FLOWS["severa_netvisor_hours"]  # the flow whose refusals this fixes
_ABSENCE = re.compile(r"\(code (?P<code>[^)\s]+)\) has no Netvisor record type")
PAGE_TIMEOUT = 10.0  # seconds a page waits for Netvisor's list (one attempt, no retries)
FROM_NETVISOR = "Read from Netvisor (connection {connection}): its record types (collector ratios)"
FROM_SETTINGS = ("Netvisor's list of record types could not be read ({problem}): these are the record types your "
                 "settings already use; any record-type number Netvisor knows is accepted")


@dataclass(frozen=True)
class HoursSettings:
    """Where one company's hours flow keeps its settings and reaches Netvisor."""

    variable: str
    netvisor_conn_id: str


def hours_settings(company: str) -> HoursSettings | None:
    """The company's hours flow as the DAGs read it (the companies file of the DAG folder); None when the company
    does not run it."""
    from airflow.configuration import conf

    try:
        found = company_flow(HOURS.id, company, companies_file(Path(conf.get("core", "dags_folder"))))
    except LookupError:
        return None
    return HoursSettings(found.settings_variable, found.connections["netvisor"])


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
    where: HoursSettings  # the company's Variable the fix writes, and the Netvisor connection it read
    problem: str | None = None  # why the choices are the settings' and not Netvisor's list

    @property
    def choices_from(self) -> str:
        return (FROM_SETTINGS.format(problem=self.problem) if self.problem
                else FROM_NETVISOR.format(connection=self.where.netvisor_conn_id))


def absence_type_code(record: dict) -> str | None:
    """The Severa absence type code a waiting record lacks a record type for, or None."""
    if record.get("error_category") != "ABSENCE_TYPE":
        return None
    found = _ABSENCE.search(record.get("reason") or "")
    return found["code"] if found else None


def current(raw: str | None, variable: str) -> dict:
    """The Variable's JSON (empty when it does not exist); SettingsError when it does not validate."""
    try:
        overrides = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise settings.SettingsError(f"Variable {variable} is not valid JSON: {exc}") from None
    settings.parse(HOURS.settings(), overrides, f"Variable {variable}")
    return overrides


def choices(overrides: dict, where: HoursSettings) -> tuple[list[RecordType], str | None]:
    """The record types to offer: Netvisor's list, else the settings' and why Netvisor's is not offered."""
    try:
        listed = netvisor_record_types(where.netvisor_conn_id)
    except (ExternalSystemError, RecordRejected, AirflowNotFoundException, ValueError) as exc:
        log.warning("control room: Netvisor's record types not read, the settings' offered: %s", exc)
        return settings_record_types(overrides, where.variable), str(exc)
    return (listed, None) if listed else (settings_record_types(overrides, where.variable), "Netvisor lists none")


def netvisor_record_types(conn_id: str) -> list[RecordType]:
    """Netvisor's collector ratios through the hours flow's connection, in one short attempt."""
    hook = NetvisorHook(conn_id)
    hook.client.attempts, hook.client.timeout = 1, min(hook.client.timeout, PAGE_TIMEOUT)
    return [RecordType(ratio["number"], ratio["name"]) for ratio in hook.list_payroll_ratios()]


def settings_record_types(overrides: dict, variable: str) -> list[RecordType]:
    hours = settings.parse(HOURS.settings(), overrides, variable).hours
    used = {hours.default_record_type, *hours.record_types.values(), *hours.absence_record_types.values()}
    return [RecordType(number) for number in sorted(used, key=int)]


def with_absence_type(overrides: dict, code: str, record_type: str, variable: str) -> dict:
    """The Variable's JSON with ``hours.absence_record_types[code] = record_type``; SettingsError naming the field
    when the result does not validate (a record type is a number)."""
    hours = dict(overrides.get("hours") or {})
    hours["absence_record_types"] = {**(hours.get("absence_record_types") or {}), code: record_type.strip()}
    updated = {**overrides, "hours": hours}
    settings.parse(HOURS.settings(), updated, f"Variable {variable}")
    return updated
