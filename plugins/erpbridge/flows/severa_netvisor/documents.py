"""Flow A documents wiring (R-A.6, R-A.8): Severa invoices -> Netvisor sales invoices, Severa hour
entries and absences -> Netvisor workday records, both through the generic DocumentTransfer, in batches
(``engine.batches``).

Exactly once: a sales invoice carries the Severa invoice number as <salesinvoicenumber> and the
deterministic reference (the Severa guid) as <salesinvoiceourreference>; after a crash the rerun
finds it in Netvisor's sales invoice list by number and date and only completes the ledger and the
status write-back. A workday is posted with method="replace": a person's day sent again replaces
its hours, so a repeat can never double them; a day whose entries or absences changed is a new
document (its id carries a digest of them) and replaces the earlier hours.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Iterator

from erpbridge.engine.documents import Attachment, DocumentFlow
from erpbridge.errors import ExternalSystemError
from erpbridge.flows.severa_netvisor import document_mapping as m
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
from erpbridge.hooks.netvisor import NetvisorHook
from erpbridge.hooks.severa import SeveraHook
from erpbridge.ledger.store import Ledger

log = logging.getLogger(__name__)

SALES_INVOICE = "sales_invoice"
TRAVEL_INVOICE = "travel_invoice"
WORKDAY = "workday"
DELETED_LOOKBACK_DAYS = 31  # hour entries deleted up to this long before a range's first day are noticed


class SeveraLookups:
    """Referenced Severa records by guid, each fetched once per run."""

    def __init__(self, hook: SeveraHook):
        self.hook = hook
        self._records: dict[tuple[str, str], dict | None] = {}
        self._lists: dict[str, dict[str, dict]] = {}

    def record(self, resource: str, reference: dict | None) -> dict | None:
        guid = (reference or {}).get("guid")
        if not guid:
            return None
        if (resource, guid) not in self._records:
            self._records[resource, guid] = self.hook.get(resource, guid)
        return self._records[resource, guid]

    def listed(self, resource: str, reference: dict | None) -> dict | None:
        """A record of a short code list (overtimes, work types, statuses, activity types), read whole once."""
        if resource not in self._lists:
            self._lists[resource] = {r["guid"]: r for page in self.hook.iter_all(resource) for r in page}
        return self._lists[resource].get((reference or {}).get("guid"))

    def by_name(self, resource: str, name: str) -> dict:
        self.listed(resource, None)
        found = [r for r in self._lists[resource].values() if r.get("name") == name]
        if not found:
            raise ExternalSystemError("Severa", f"no {resource} record named {name!r}: create it in Severa or fix "
                                                "the setting that names it", "CONFIGURATION")
        return found[0]


def _in_range(day: str | None, date_from: str | None, date_to: str | None) -> bool:
    day = (day or "")[:10]
    return (not date_from or day >= date_from) and (not date_to or day <= date_to)


class _PostCarriesAll:
    """For a DocumentTarget whose post carries everything: attachments inline, no follow-ups."""

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return True

    def attach(self, target_id: str, attachment: Attachment) -> None:
        raise NotImplementedError

    def complete(self, target_id: str, payload: dict) -> None:
        return None


# --- sales invoices ------------------------------------------------------------------------------

class _SeveraNumberedDocuments:
    """Severa documents picked by status, then limited to some numbers, one ``resend`` number and dates."""

    system = "severa"
    status_resource = ""  # the Severa list of statuses these documents move through

    def __init__(self, hook: SeveraHook, settings, numbers=(), resend: str | None = None,
                 date_from: str | None = None, date_to: str | None = None):
        self.hook = hook
        self.lookups = SeveraLookups(hook)
        self.settings = settings
        self.numbers = set(numbers)
        self.resend = resend
        self.date_from, self.date_to = date_from, date_to

    def status_guid(self, name: str) -> str:
        return self.lookups.by_name(self.status_resource, name)["guid"]

    def wanted(self, document: dict) -> bool:
        number = str(document.get("number") or "")
        if (self.resend and number != self.resend) or (self.numbers and number not in self.numbers):
            return False
        return _in_range(document.get("date"), self.date_from, self.date_to)


class SeveraInvoices(_SeveraNumberedDocuments):
    """Severa invoices in the "ready" status (optionally some numbers / dates) as a DocumentSource."""

    status_resource = "invoicestatuses"

    def __init__(self, hook: SeveraHook, config: SeveraNetvisorSettings, **limits):
        super().__init__(hook, config.sales_invoices, **limits)

    def ready(self) -> Iterator[dict]:
        statuses = [self.status_guid(self.settings.ready_status)]
        if self.resend:
            statuses.append(self.status_guid(self.settings.sent_status))
        for page in self.hook.iter_pages("v1/invoices", {"invoiceStatusGuids": statuses}):
            yield from filter(self.wanted, page)

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        """Invoices whose transfer is unfinished, read by guid (they may have left the ready status)."""
        return (self.load(invoice) for guid in source_ids if (invoice := self.hook.get("invoices", guid)))

    def load(self, invoice: dict) -> dict:
        """The invoice with all its rows (paged), each with the fees and hours it bills (read for the whole
        invoice, matched by ``invoiceRowGuid``) and the project (the invoice's one project, else the one its
        fees or hours name) with its business unit."""
        look, guid = self.lookups, invoice["guid"]
        rows = [row for page in self.hook.iter_pages(f"v1/invoices/{guid}/invoicerows") for row in page]
        billed: dict[str, dict[str, list[dict]]] = defaultdict(lambda: {"_fees": [], "_hours": []})
        for kind, resource in (("_fees", "projectfees"), ("_hours", "workhours")):
            for page in self.hook.iter_pages(f"v1/invoices/{guid}/{resource}"):
                for item in page:
                    billed[item.get("invoiceRowGuid")][kind].append(item)
        projects = invoice.get("projects") or []
        for row in rows:
            row.update(billed[row["guid"]])
            named = {(item.get("project") or {}).get("guid") for item in row["_fees"] + row["_hours"]} - {None}
            project_ref = projects[0] if len(projects) == 1 else ({"guid": named.pop()} if len(named) == 1 else None)
            project = look.record("projects", project_ref)
            row.update(_project=project, _business_unit=(project or {}).get("businessUnit"))
        return {**invoice, "rows": rows}

    def source_id(self, invoice: dict) -> str:
        return str(invoice["guid"])

    def describe(self, invoice: dict) -> str:
        return str(invoice.get("number") or invoice["guid"])

    def attachment(self, invoice: dict) -> Attachment | None:
        return None  # Netvisor prints its own invoice; the Severa PDF does not move (R-A.6 asks none)

    def mark_transferred(self, invoice: dict, target_id: str) -> None:
        sent = self.status_guid(self.settings.sent_status)
        if (invoice.get("status") or {}).get("guid") != sent:
            self.hook.update("invoices", invoice["guid"], {"status": {"guid": sent}})


class NetvisorSalesInvoices(_PostCarriesAll):
    """Netvisor sales invoices as a DocumentTarget; found again by invoice number and date."""

    def __init__(self, hook: NetvisorHook):
        self.hook = hook

    def find(self, reference: str, payload: dict) -> str | None:
        listed = self.hook.list_sales_invoices(payload["date"], payload["date"])
        return next((i["netvisor_key"] for i in listed if i["number"] == payload["number"]), None)

    def post(self, payload: dict) -> str:
        return self.hook.add_sales_invoice(payload)


def sales_invoice_flow(config: SeveraNetvisorSettings, severa: SeveraHook, netvisor: NetvisorHook, numbers=(),
                       resend: str | None = None, date_from: str | None = None,
                       date_to: str | None = None) -> DocumentFlow:
    return DocumentFlow(SALES_INVOICE, SeveraInvoices(severa, config, numbers=numbers, resend=resend,
                                                       date_from=date_from, date_to=date_to),
                        NetvisorSalesInvoices(netvisor), m.invoice_reference,
                        partial(m.sales_invoice, config=config))


# --- hours ---------------------------------------------------------------------------------------

class SeveraPersonDays:
    """Severa hour entries and absences in a date range grouped per person and day, as a DocumentSource.

    ``employees`` limits to some employee codes; ``resend`` is one "<employee code> <YYYY-MM-DD>"."""

    system = "severa"

    def __init__(self, hook: SeveraHook, config: SeveraNetvisorSettings, date_from: str, date_to: str,
                 employees=(), resend: str | None = None):
        self.hook = hook
        self.lookups = SeveraLookups(hook)
        self.config = config
        self.date_from, self.date_to = date_from, date_to
        self.employees = set(employees)
        self.resend = resend
        self._days: list[dict] | None = None

    def ready(self) -> Iterator[dict]:
        if self._days is None:  # our writes do not change Severa's hours: read the range once per run
            self._days = list(self._read())
        return iter(self._days)

    def _read(self) -> Iterator[dict]:
        days: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(
            lambda: {"entries": [], "absences": [], "deleted": []})
        for entry in self._entries():
            days[entry["user"]["guid"], str(entry["eventDate"])[:10]]["entries"].append(entry)
        for user_guid, day, absence in self._absences_by_day():
            days[user_guid, day]["absences"].append(absence)
        for entry in self._deleted_entries():
            days[entry["user"]["guid"], str(entry["eventDate"])[:10]]["deleted"].append(entry)
        look = self.lookups
        for (user_guid, day), found in sorted(days.items(), key=lambda item: (item[0][1], item[0][0])):
            user = look.record("users", {"guid": user_guid}) or {"guid": user_guid}
            code = str(user.get("code") or "")
            if (self.employees and code not in self.employees) or (self.resend and self.resend != f"{code} {day}"):
                continue
            for entry in found["entries"]:
                entry.update(_project=entry.get("project"),
                             _overtime=look.listed("overtimes", entry.get("overtime")),
                             _work_type=look.listed("worktypes", entry.get("workType")))
            for entry in found["deleted"]:  # a deleted entry shows no overtime: its work type decides
                entry.update(_overtime=None, _work_type=look.listed("worktypes", entry.get("workType")))
            document = {"user": user, "date": day, **{kind: sorted(found[kind], key=lambda e: e["guid"])
                                                       for kind in ("entries", "absences", "deleted")}}
            yield {**document, "digest": m.day_digest(document)}

    def _entries(self) -> Iterator[dict]:
        for page in self.hook.iter_pages("v1/workhours", {"eventDateStart": self.date_from,
                                                          "eventDateEnd": self.date_to}):
            yield from page

    def _deleted_entries(self) -> Iterator[dict]:
        """Entries of the range deleted in Severa (``deletedworkhours``), read from DELETED_LOOKBACK_DAYS
        before the range on: their days are sent again so that Netvisor's day follows Severa's."""
        since = datetime.combine(date.fromisoformat(self.date_from) - timedelta(days=DELETED_LOOKBACK_DAYS),
                                 datetime.min.time(), timezone.utc)
        for page in self.hook.iter_deleted_hours(since):
            yield from (e for e in page if e.get("user") and _in_range(e.get("eventDate"), self.date_from,
                                                                       self.date_to))

    def _absences_by_day(self) -> Iterator[tuple[str, str, dict]]:
        """(person guid, date, absence with its ``_type`` and ``_hours`` that date) for each date in the
        range an absence covers."""
        for page in self.hook.iter_absences(self.date_from, self.date_to):
            for absence in page:
                kind = self.lookups.listed("activitytypes", absence.get("activityType"))
                for day, hours in m.absence_days(absence, self.config).items():
                    if self.date_from <= day <= self.date_to:
                        yield absence["ownerUser"]["guid"], day, {**absence, "_type": kind, "_hours": hours}

    def load(self, day: dict) -> dict:
        return day

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        """Unfinished days still in the range as they were (a changed day is a new document)."""
        return _still_ready(self, source_ids)

    def source_id(self, day: dict) -> str:
        return f"{day['user']['guid']}:{day['date']}:{day['digest']}"

    def describe(self, day: dict) -> str:
        user = day["user"]
        who = user.get("code") or " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
        return f"{who} {day['date']}"

    def attachment(self, day: dict) -> Attachment | None:
        return None

    def mark_transferred(self, day: dict, target_id: str) -> None:
        return None  # Severa hour entries carry no transfer status; the ledger remembers the day


class NetvisorWorkdays(_PostCarriesAll):
    """Netvisor workday records as a DocumentTarget. Nothing to look up: method="replace" makes a
    repeated post of the same day harmless."""

    def __init__(self, hook: NetvisorHook):
        self.hook = hook

    def find(self, reference: str, payload: dict) -> str | None:
        return None

    def post(self, payload: dict) -> str:
        self.hook.save_workday(payload)
        return f"{payload['employee']}:{payload['date']}"


def hours_flow(config: SeveraNetvisorSettings, severa: SeveraHook, netvisor: NetvisorHook, employees=(),
               resend: str | None = None, date_from: str | None = None, date_to: str | None = None,
               today: date | None = None) -> DocumentFlow:
    today = today or date.today()
    date_to = date_to or today.isoformat()
    date_from = date_from or (date.fromisoformat(date_to) - timedelta(days=config.hours.days_back - 1)).isoformat()
    source = SeveraPersonDays(severa, config, date_from, date_to, employees, resend)
    return DocumentFlow(WORKDAY, source, NetvisorWorkdays(netvisor),
                        lambda day: f"severa-hours-{source.source_id(day)}", partial(m.workday, config=config))


def release_superseded(ledger: Ledger, entity: str, current_ids: set[str]) -> None:
    """A person-day refused earlier and since changed in Severa has a new id: drop the old refusal."""
    current_days = {sid.rsplit(":", 1)[0] for sid in current_ids}
    stale = [sid for sid in ledger.quarantined(entity)
             if sid not in current_ids and sid.rsplit(":", 1)[0] in current_days]
    if stale:
        ledger.release(entity, stale)
        ledger.commit()


# --- travel invoices -----------------------------------------------------------------------------

class SeveraTravelInvoices(_SeveraNumberedDocuments):
    """Severa travel invoices with a number in a moving status (default Approved) as a DocumentSource."""

    status_resource = "travelreimbursementstatuses"

    def __init__(self, hook: SeveraHook, config: SeveraNetvisorSettings, **limits):
        super().__init__(hook, config.travel_invoices, **limits)

    def ready(self) -> Iterator[dict]:
        names = list(self.settings.statuses) + ([self.settings.transferred_status] if self.resend else [])
        statuses = [self.status_guid(name) for name in names]
        for page in self.hook.iter_pages("v1/travelreimbursements", {"travelReimbursementStatusGuids": statuses}):
            # R-A.7: only numbered travel reimbursements move
            yield from (travel for travel in page if travel.get("number") and self.wanted(travel))

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        """Travel reimbursements whose transfer is unfinished, read by guid (they may have left the status)."""
        return (self.load(travel) for guid in source_ids
                if (travel := self.hook.get("travelreimbursements", guid)))

    def load(self, travel: dict) -> dict:
        """With the person, its own expense lines (the per-trip list, paged) and the PDF; RecordSkipped
        when none of its lines is to be reimbursed."""
        own_lines = f"v1/travelreimbursements/{travel['guid']}/projecttravelexpenses"
        expenses = [e for page in self.hook.iter_pages(own_lines) for e in page]
        user = self.lookups.record("users", travel.get("user"))
        loaded = {**travel, "_user": user, "_expenses": expenses,
                  "_business_unit": (user or {}).get("businessUnit")}
        m.check_reimbursable(loaded)
        loaded["_pdf"] = m.Pdf(self.hook.download(f"v1/travelreimbursements/{travel['guid']}/pdf"))
        return loaded

    def source_id(self, travel: dict) -> str:
        return str(travel["guid"])

    def describe(self, travel: dict) -> str:
        return str(travel.get("number") or travel["guid"])

    def attachment(self, travel: dict) -> Attachment | None:
        return None  # the PDF travels inside the tripexpense request (see the mapping)

    def mark_transferred(self, travel: dict, target_id: str) -> None:
        done = self.status_guid(self.settings.transferred_status)
        if (travel.get("travelReimbursementStatus") or {}).get("guid") != done:
            self.hook.update("travelreimbursements", travel["guid"], {"travelReimbursementStatus": {"guid": done}})


class NetvisorTripExpenses(_PostCarriesAll):
    """Netvisor travel expenses as a DocumentTarget. Netvisor lists no travel expenses, so nothing is
    looked up: the post itself is found again, by its TransactionId (see NetvisorHook.add_trip_expense),
    and a rerun's post of the same document is answered "already done" instead of stored twice."""

    def __init__(self, hook: NetvisorHook):
        self.hook = hook

    def find(self, reference: str, payload: dict) -> str | None:
        return None

    def post(self, payload: dict) -> str:
        return self.hook.add_trip_expense(payload)


def travel_flow(config: SeveraNetvisorSettings, severa: SeveraHook, netvisor: NetvisorHook, numbers=(),
                resend: str | None = None, date_from: str | None = None, date_to: str | None = None) -> DocumentFlow:
    return DocumentFlow(TRAVEL_INVOICE, SeveraTravelInvoices(severa, config, numbers=numbers, resend=resend,
                                                             date_from=date_from, date_to=date_to),
                        NetvisorTripExpenses(netvisor), m.travel_reference,
                        partial(m.travel_expense, config=config))


# --- purchase invoices (Netvisor -> Severa) -------------------------------------------------------

PURCHASE_INVOICE = "purchase_invoice"


class NetvisorPurchaseInvoices:
    """Netvisor purchase invoices in the configured status and date range, as a DocumentSource."""

    system = "netvisor"

    def __init__(self, netvisor: NetvisorHook, severa: SeveraHook, config: SeveraNetvisorSettings, numbers=(),
                 resend: str | None = None, date_from: str | None = None, date_to: str | None = None,
                 today: date | None = None):
        self.netvisor, self.severa = netvisor, severa
        self.config = config
        self.numbers = set(numbers)
        self.resend = resend
        self.date_to = date_to or (today or date.today()).isoformat()
        self.date_from = date_from or (date.fromisoformat(self.date_to) - timedelta(
            days=config.purchase_invoices.days_back)).isoformat()
        self._projects: dict[str, dict | None] = {}
        self._products: dict[str, dict | None] = {}

    def ready(self) -> Iterator[dict]:
        for invoice in self.netvisor.list_purchase_invoices(self.config.purchase_invoices.status, self.date_from,
                                                            self.date_to):
            number = str(invoice.get("number"))
            if (self.resend and number != self.resend) or (self.numbers and number not in self.numbers):
                continue
            yield invoice

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        """Unfinished invoices (they stay listed: Netvisor keeps no transfer status for them)."""
        return _still_ready(self, source_ids)

    def load(self, invoice: dict) -> dict:
        full = self.netvisor.get_purchase_invoice(invoice["netvisor_key"])
        heading = self.config.dimensions.project_heading
        for line in full["lines"]:
            number = m.project_number(line["dimensions"], heading)
            line["_project_number"] = number
            line["_project"] = self._project(number) if number else None
            line["_product"] = self._product(line["product_code"]) if line["product_code"] else None
        return full

    def _project(self, number: str) -> dict | None:
        if number not in self._projects:  # Severa's project numbers are integers: any other is unknown there
            self._projects[number] = self.severa.find("projects", "numbers", [number]).get(number) \
                if number.isdigit() else None
        return self._projects[number]

    def _product(self, code: str) -> dict | None:
        if code not in self._products:
            self._products[code] = self.severa.find("products", "code", [code]).get(code)
        return self._products[code]

    def source_id(self, invoice: dict) -> str:
        return str(invoice["netvisor_key"])

    def describe(self, invoice: dict) -> str:
        return str(invoice.get("number") or invoice["netvisor_key"])

    def attachment(self, invoice: dict) -> Attachment | None:
        return None

    def mark_transferred(self, invoice: dict, target_id: str) -> None:
        return None  # Netvisor keeps no transfer status for this; the ledger remembers the invoice


class SeveraProjectCosts(_PostCarriesAll):
    """Severa project fees (``projectfees``) as a DocumentTarget, amounts in ``currency`` (Severa's home
    currency). Each fee carries its reference tag at the end of its description; posting is itself
    idempotent per fee."""

    RESOURCE = "projectfees"

    def __init__(self, hook: SeveraHook, currency: str):
        self.hook = hook
        self.currency = currency

    def _existing(self, project: str) -> dict[str, str]:
        found = {}
        for page in self.hook.iter_pages(f"v1/projects/{project}/{self.RESOURCE}"):
            for fee in page:
                description = fee.get("description") or ""
                if description.endswith("]") and " [" in description:
                    found[description.rsplit(" [", 1)[1][:-1]] = fee["guid"]
        return found

    def _money(self, amount) -> dict:
        return {"amount": float(amount), "currencyCode": self.currency}

    def find(self, reference: str, payload: dict) -> str | None:
        existing = {}
        for project in {fee["project"] for fee in payload["fees"]}:
            existing.update(self._existing(project))
        guids = [existing.get(fee["tag"]) for fee in payload["fees"]]
        return ",".join(guids) if all(guids) else None

    def post(self, payload: dict) -> str:
        existing: dict[str, str] = {}
        for project in {fee["project"] for fee in payload["fees"]}:
            existing.update(self._existing(project))
        guids = []
        for fee in payload["fees"]:
            if fee["tag"] not in existing:
                record = {"project": {"guid": fee["project"]}, "quantity": float(fee["quantity"]),
                          "unitCost": self._money(fee["unit_cost"]), "eventDate": fee["date"],
                          "description": f"{fee['description']} [{fee['tag']}]"}
                if fee["product"]:
                    record["product"] = {"guid": fee["product"]}
                if fee["unit_price"] is not None:
                    record["unitPrice"] = self._money(fee["unit_price"])
                existing[fee["tag"]] = self.hook.create(self.RESOURCE, record)["guid"]
            guids.append(existing[fee["tag"]])
        return ",".join(guids)


def purchase_invoice_flow(config: SeveraNetvisorSettings, severa: SeveraHook, netvisor: NetvisorHook, numbers=(),
                          resend: str | None = None, date_from: str | None = None,
                          date_to: str | None = None) -> DocumentFlow:
    return DocumentFlow(PURCHASE_INVOICE,
                        NetvisorPurchaseInvoices(netvisor, severa, config, numbers, resend, date_from, date_to),
                        SeveraProjectCosts(severa, config.currency), m.purchase_reference,
                        partial(m.project_costs, config=config))


# --- batches -------------------------------------------------------------------------------------

def _still_ready(source, source_ids: list[str]) -> Iterator[dict]:
    """For sources whose documents stay offered after their transfer: the wanted ones, loaded."""
    wanted = set(source_ids)
    return (source.load(d) for d in source.ready() if source.source_id(d) in wanted)
