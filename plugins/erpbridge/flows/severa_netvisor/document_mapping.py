"""Severa -> Netvisor document mappings (R-A.6, R-A.8, R-A.10). Pure: no I/O.

The source enriches each Severa document before mapping: an invoice carries its ``rows``, each row
``_fees`` (the project fees it bills), ``_hours`` (the hour entries it bills), ``_project`` and
``_business_unit`` (full records or None); a person-day carries ``user``, ``entries``, each entry
``_project``, ``_overtime``, ``_work_type``, and ``absences``, each with its ``_type`` and its ``_hours``
that day. Money is Severa's ``{amount, currencyCode}``, read as exact Decimals; the hook writes them
with a comma.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta
from decimal import Decimal

from erpbridge.engine import checks
from erpbridge.errors import RecordRejected, RecordSkipped
from erpbridge.flows.severa_netvisor.mapping import TEMP_CODE, netvisor_customer_code, project_item
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings

CENT = Decimal("0.01")


def invoice_reference(invoice: dict) -> str:
    """Deterministic: the Severa invoice guid (kept in Netvisor as <salesinvoiceourreference>)."""
    return f"severa-invoice-{invoice['guid']}"


def _code(reference: dict | None) -> str | None:
    return (reference or {}).get("code") or None


def money(who: str, field: str, value: dict | None, currency: str) -> Decimal | None:
    """A Severa money object ``{amount, currencyCode}`` as an exact Decimal in ``currency``; one in another
    currency is refused (Severa gives no rate for a single amount)."""
    if not value or value.get("amount") is None:
        return None
    code = value.get("currencyCode") or currency
    if code != currency:
        raise RecordRejected(f"{who}: {field} is in {code} but the document is in {currency}, and Severa gives "
                             "no exchange rate for it", "CURRENCY")
    return checks.amount(who, field, value["amount"])


def _dimensions(config: SeveraNetvisorSettings, *, business_unit=None, cost_centre=None, project=None,
                user=None) -> list[list[str]]:
    headings = config.dimensions
    found = []
    if headings.business_unit_heading and business_unit and business_unit.get("name"):
        found.append([headings.business_unit_heading, business_unit["name"]])
    if headings.cost_centre_heading and cost_centre and cost_centre.get("name"):
        found.append([headings.cost_centre_heading, cost_centre["name"]])
    if headings.project_heading and project:
        found.append([headings.project_heading, project_item(project)["item"]])
    if headings.user_heading and user:
        name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
        if name:
            found.append([headings.user_heading, name])
    return found


def row_product(row: dict, where: str, config: SeveraNetvisorSettings) -> str:
    """The Netvisor product code of an invoice row (README, "Invoice row -> Netvisor product"): the product
    of the project fees it bills; for an hours row the work type of the hours it bills; else the row's
    single ``code``; else the TEMP product."""
    if config.products.use_temp:
        return TEMP_CODE
    linked = [("product", (fee.get("product") or {}).get("code")) for fee in row.get("_fees") or []]
    linked += [("work type", (entry.get("workType") or {}).get("code")) for entry in row.get("_hours") or []]
    for kind in ("product", "work type"):
        codes = sorted({code for k, code in linked if k == kind and code})
        if len(codes) > 1:
            raise RecordRejected(f"{where}: bills {kind}s {', '.join(codes)}; Netvisor takes one product per row")
        if codes:
            return codes[0]
    own = [code for code in row.get("code") or [] if code]
    if len(own) > 1:
        raise RecordRejected(f"{where}: has codes {', '.join(own)}; Netvisor takes one product per row")
    return own[0] if own else TEMP_CODE


def _row_user(row: dict) -> dict | None:
    """The person behind an hours row: the user of the hours it bills, when they are one person's."""
    users = {(entry.get("user") or {}).get("guid"): entry.get("user") for entry in row.get("_hours") or []}
    return next(iter(users.values())) if len(users) == 1 else None


def _sales_line(row: dict, where: str, currency: str, credit: bool, config: SeveraNetvisorSettings) -> dict:
    recurring = any(fee.get("recurrenceRuleGuid") for fee in row.get("_fees") or [])
    if config.sales_invoices.periodise_recurring_rows and recurring:
        raise RecordRejected(f"{where}: bills a recurring fee, but Severa's contract gives an invoice row no period "
                             "to periodise over; periodise it in Netvisor or turn "
                             "sales_invoices.periodise_recurring_rows off")
    product_code = row_product(row, where, config)
    quantity = checks.amount(where, "quantity", row.get("quantity"))
    price = money(where, "unit price", row.get("unitPrice"), currency)
    vat = checks.amount(where, "VAT rate", row.get("vatRate"))
    if quantity is None or price is None or vat is None:
        raise RecordRejected(f"{where}: quantity, unit price and VAT rate are required")
    if credit and quantity * price > 0:
        quantity = -quantity  # a credit note: Netvisor books negative rows
    fee_names = [fee.get("name") or (fee.get("product") or {}).get("name") for fee in row.get("_fees") or []]
    return {
        "product": product_code,
        "name": checks.text(where, "description", row.get("description") or next(filter(None, fee_names), None),
                            required=True, max_length=200),
        "unit_price": price, "vat_percent": vat, "vat_code": config.sales_invoices.vat_code, "quantity": quantity,
        "dimensions": _dimensions(config, business_unit=row.get("_business_unit"),
                                  cost_centre=row.get("costCenter"), project=row.get("_project"),
                                  user=_row_user(row)),
        "accrual": None,
    }


def sales_invoice(invoice: dict, reference: str, *, config: SeveraNetvisorSettings) -> dict:
    """A Severa invoice (with its rows) as a Netvisor sales invoice payload."""
    number = checks.text("invoice", "number", invoice.get("number"), required=True, max_length=20)
    who = f"invoice {number}"
    home = config.currency  # R-A.10: Severa's home currency must be Netvisor's (the setting currency)
    currency = _code(invoice.get("currency")) or home
    rate = None
    if currency != home:
        rate = checks.amount(who, "currency rate", invoice.get("currencyRate"))
        if not rate or rate <= 0:
            raise RecordRejected(f"{who}: is in {currency} but has no exchange rate (currencyRate) to {home}",
                                 "CURRENCY")
    if config.customers.use_temp:
        customer = TEMP_CODE
    else:
        try:
            customer = netvisor_customer_code((invoice.get("customer") or {}).get("number"))
        except RecordRejected as exc:
            raise RecordRejected(f"{who}: {exc.reason}", exc.category) from None
    credit = bool(invoice.get("isCreditNote"))
    rows = invoice.get("rows") or []
    if not rows:
        raise RecordRejected(f"{who}: has no rows")
    lines = [_sales_line(row, f"{who} row {index}", currency, credit, config) for index, row in enumerate(rows, 1)]
    net_total = sum((line["quantity"] * line["unit_price"]).quantize(CENT) for line in lines)
    if not credit and net_total < 0:
        raise RecordRejected(f"{who}: has a negative total but is not a credit note")
    expected = money(who, "total excluding tax", invoice.get("totalExcludingTax"), currency)
    if expected is not None and abs(expected) != abs(net_total):
        raise RecordRejected(f"{who}: rows add up to {abs(net_total)} but the invoice total excluding tax is "
                             f"{abs(expected)}; fix the invoice in Severa", "TOTALS")
    gross = money(who, "total including tax", invoice.get("totalIncludingTax"), currency)
    if gross is None:
        gross = sum(((line["quantity"] * line["unit_price"]).quantize(CENT) * (100 + line["vat_percent"]) / 100)
                    .quantize(CENT) for line in lines)
    gross = abs(gross) * (-1 if credit else 1)
    term = invoice.get("paymentTerm")
    return {
        "number": number, "date": checks.text(who, "date", invoice.get("date"), required=True)[:10],
        "amount": gross.quantize(CENT), "currency": currency if currency != home else None, "currency_rate": rate,
        "customer": customer, "status": config.sales_invoices.netvisor_status, "reference": reference,
        "credit_note": credit, "lines": lines,
        "due_date": str(invoice["dueDate"])[:10] if invoice.get("dueDate") else None,
        "payment_term_days": int(term) if term is not None else None,
    }


# --- hours -------------------------------------------------------------------------------------

def _name(user: dict) -> str:
    return " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p) or user.get("guid", "?")


def employee_code(user: dict | None) -> str:
    """R-A.7 / R-A.8: the person's employee code (Severa user code = Netvisor employee number)."""
    user = user or {}
    name = _name(user)
    code = str(user.get("code") or "").strip()
    if not code:
        raise RecordRejected(f"user {name} has no employee code in Severa; Netvisor matches persons by it")
    if code.startswith("0"):
        raise RecordRejected(f"user {name}: employee code {code} starts with 0; this integration matches no employee by a code starting with 0")
    return code


def record_type(entry: dict, config: SeveraNetvisorSettings) -> str:
    """Overtime code = Netvisor record type; otherwise the work type's mapped type, or the default."""
    overtime = entry.get("_overtime")
    if overtime:
        code = str(overtime.get("code") or "").strip()
        if not code.isdigit():
            raise RecordRejected(f"overtime class {overtime.get('name')!r} has no numeric code; its code must be "
                                 "the Netvisor record type number")
        return code
    work_type = entry.get("_work_type") or {}
    return config.hours.record_types.get(str(work_type.get("code") or ""), config.hours.default_record_type)


def _wall_clock(value: str) -> datetime:
    """A Severa date-time as the wall-clock time it gives (any offset ignored: the day is the person's)."""
    return datetime.fromisoformat(value).replace(tzinfo=None)


def absence_days(absence: dict, config: SeveraNetvisorSettings) -> dict[str, Decimal]:
    """The days an absence covers, among ``hours.absence_weekdays``, with its hours on each: an all-day
    absence (or one over several days) ``hours.absence_day_hours`` a day, a part-day one its duration.
    An end at midnight ends the day before."""
    start = _wall_clock(absence["startDateTime"])
    end = _wall_clock(absence.get("endDateTime") or absence["startDateTime"])
    last = (end - timedelta(microseconds=1)).date() if end.time() == time() and end > start else end.date()
    if absence.get("isAllDay") or last > start.date():
        each = config.hours.absence_day_hours
    else:
        each = (Decimal(int((end - start).total_seconds())) / 3600).quantize(CENT)
    if each <= 0:
        return {}
    days = (start.date() + timedelta(days=n) for n in range((last - start.date()).days + 1))
    return {day.isoformat(): each for day in days if day.isoweekday() in config.hours.absence_weekdays}


def day_digest(day: dict) -> str:
    """What makes a person-day's transfer: a change in any entry or absence makes it move again (and replace)."""
    entries = sorted((e["guid"], str(e.get("quantity")), e.get("isApproved"), (e.get("project") or {}).get("guid"),
                      (e.get("overtime") or {}).get("guid"), (e.get("workType") or {}).get("guid"),
                      e.get("description")) for e in day["entries"])
    absences = sorted((a["guid"], (a.get("activityType") or {}).get("guid"), str(a["_hours"]))
                      for a in day.get("absences") or [])
    deleted = sorted(e["guid"] for e in day.get("deleted") or [])
    content = [day["user"].get("code"), entries] + ([absences] if absences or deleted else []) + (
        [deleted] if deleted else [])  # a day without absences or deletions: id as before
    return hashlib.sha256(json.dumps(content, default=str).encode()).hexdigest()[:16]


def _entry_line(entry: dict, where: str, config: SeveraNetvisorSettings) -> dict:
    """An hour entry as a workday line."""
    quantity = checks.amount(where, "quantity", entry.get("quantity"))
    if quantity is None or quantity < 0 or quantity > 24:
        raise RecordRejected(f"{where}: {entry.get('quantity')!r} is not a number of hours between 0 and 24")
    accepted = config.hours.use_approval and bool(entry.get("isApproved"))
    return {"hours": quantity, "record_type": record_type(entry, config),
            "acceptance": "accepted" if accepted else "confirmed",
            "description": checks.text(where, "description", entry.get("description"), max_length=255) or "",
            "dimensions": _dimensions(config, project=entry.get("_project"))}


def _absence_line(absence: dict, where: str, config: SeveraNetvisorSettings) -> dict:
    """An absence's day as a workday line: record type by the absence type's code (never guessed);
    confirmed, as Severa absences carry no approval; no project."""
    kind = absence.get("_type") or absence.get("activityType") or {}
    name, code = kind.get("name") or "(unnamed)", str(kind.get("code") or "").strip()
    number = config.hours.absence_record_types.get(code)
    if not number:
        raise RecordRejected(f"{where}: absence type {name!r} (code {code or 'missing'}) has no Netvisor record type; "
                             "add its code to hours.absence_record_types", "ABSENCE_TYPE")
    return {"hours": absence["_hours"], "record_type": number, "acceptance": "confirmed",
            "description": checks.text(where, "absence type", name, max_length=255) or "", "dimensions": []}


def workday(day: dict, reference: str, *, config: SeveraNetvisorSettings) -> dict:
    """One person's hour entries and absences of one date as a Netvisor workday (method replace). The record
    type of an entry deleted in Severa (``deleted``) that nothing left replaces gets a zero line, so that
    Netvisor's day follows Severa's."""
    code = employee_code(day["user"])
    where = f"hours of {code} on {day['date']}"
    hours = [_entry_line(entry, where, config) for entry in day["entries"]]
    absent = f"absence of {code} ({_name(day['user'])}) on {day['date']}"
    hours += [_absence_line(absence, absent, config) for absence in day.get("absences") or []]
    sent = {line["record_type"] for line in hours}
    hours += [{"hours": Decimal(0), "record_type": kind, "acceptance": "confirmed", "description": "deleted in Severa",
               "dimensions": []}
              for kind in sorted({record_type(entry, config) for entry in day.get("deleted") or []} - sent)]
    return {"employee": code, "date": day["date"], "method": "replace", "hours": hours}


# --- travel invoices ---------------------------------------------------------------------------

def travel_reference(travel: dict) -> str:
    return f"severa-travel-{travel['guid']}"


def check_reimbursable(travel: dict) -> None:
    """R-A.7: a travel reimbursement with no line to reimburse (``travelReimbursementRequired``) does not move."""
    if not any(e.get("travelReimbursementRequired") for e in travel.get("_expenses") or []):
        raise RecordSkipped(f"travel reimbursement {travel.get('number')} has no line to reimburse (none of its "
                            f"{len(travel.get('_expenses') or [])} lines is travelReimbursementRequired); nothing "
                            "to reimburse in Netvisor")


def travel_expense(travel: dict, reference: str, *, config: SeveraNetvisorSettings) -> dict:
    """A Severa travel reimbursement (with ``_user``, ``_expenses``, ``_pdf``) as a Netvisor travel expense.

    Each line to reimburse is its own Netvisor line (so several per-diems stay separate), at its unit cost."""
    number = checks.text("travel reimbursement", "number", travel.get("number"), required=True, max_length=50)
    who = f"travel reimbursement {number}"
    try:
        employee = employee_code(travel.get("_user"))
    except RecordRejected as exc:
        raise RecordRejected(f"{who}: {exc.reason}", exc.category) from None
    lines = []
    for index, expense in enumerate(e for e in travel.get("_expenses") or [] if e.get("travelReimbursementRequired")):
        where = f"{who} line {index + 1}"
        kind = expense.get("travelExpense") or {}
        code = str(kind.get("code") or "").strip()
        if not code:
            raise RecordRejected(f"{where}: the travel expense type {kind.get('name') or ''!r} has no code; Severa's "
                                 "expense code must be the name of the Netvisor wage type (the line's ratio)")
        quantity = checks.amount(where, "quantity", expense.get("quantity"))
        unit = money(where, "unit cost", expense.get("unitCost"), config.currency)
        if quantity is None or unit is None:
            raise RecordRejected(f"{where}: quantity and unit cost are required")
        lines.append({"wage_type": code, "date": str(expense.get("eventDate") or travel.get("date") or "")[:10],
                      "quantity": quantity, "unit_amount": unit,
                      "description": checks.text(where, "description", expense.get("description") or kind.get("name"),
                                                 max_length=255) or "",
                      "dimensions": _dimensions(config, business_unit=travel.get("_business_unit"),
                                                project=expense.get("project"))})
    pdf = travel.get("_pdf")
    return {"number": number, "reference": reference, "employee": employee,
            "date": checks.text(who, "date", travel.get("date"), required=True)[:10], "lines": lines,
            "attachments": [{"filename": f"travel-invoice-{number}.pdf", "content_type": "application/pdf",
                             "content": pdf}] if pdf else []}


class Pdf(bytes):
    """PDF bytes that show as a short description in logs, previews and quarantine payloads."""

    def __str__(self) -> str:
        return f"<PDF, {len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:12]}>"

    __repr__ = __str__


# --- purchase invoices (Netvisor -> Severa) ------------------------------------------------------

def purchase_reference(invoice: dict) -> str:
    return f"netvisor-purchase-invoice-{invoice['netvisor_key']}"


def project_number(dimensions, heading: str) -> str | None:
    """The Severa project number in a project dimension item ("2001 ERP rollout" -> "2001")."""
    item = next((item for name, item in dimensions if name == heading and item), None)
    return item.split(" ", 1)[0] if item else None


def _project_for(where: str, number: str | None, project: dict | None) -> dict:
    if not number:
        raise RecordRejected(f"{where}: has no project dimension; the Severa project cannot be known", "PROJECT")
    if not project:
        raise RecordRejected(f"{where}: project {number} is unknown in Severa", "PROJECT")
    if project.get("isClosed"):
        raise RecordRejected(f"{where}: project {number} is closed in Severa; costs go only to open projects",
                             "PROJECT")
    return project


def project_costs(invoice: dict, reference: str, *, config: SeveraNetvisorSettings) -> dict:
    """A Netvisor purchase invoice (lines enriched with ``_project_number``, ``_project``, ``_product``)
    as Severa project costs: one per line, or one for the invoice (setting ``per_line``). The
    re-billing product is suggested from the line's product code; its price (from Severa's price
    list) moves as the re-billing price."""
    number = invoice.get("number") or invoice["netvisor_key"]
    who = f"purchase invoice {number} ({invoice.get('vendor') or 'unknown vendor'})"
    lines = invoice.get("lines") or []
    if not lines:
        raise RecordRejected(f"{who}: has no lines")
    fees = []
    if config.purchase_invoices.per_line:
        for index, line in enumerate(lines, 1):
            where = f"{who} line {index}"
            project = _project_for(where, line.get("_project_number"), line.get("_project"))
            product = line.get("_product")
            price = ((product or {}).get("unitPrice") or {}).get("amount")
            fees.append({"project": project["guid"], "product": (product or {}).get("guid"),
                         "quantity": line["quantity"], "unit_cost": line["unit_price"],
                         "unit_price": checks.amount(where, "re-billing price", price),
                         "description": f"{invoice.get('vendor')} {number}: {line.get('description')}"[:200],
                         "date": invoice.get("date"), "tag": f"{reference}-{index}"})
    else:
        numbers = {line.get("_project_number") for line in lines}
        if len(numbers) != 1:
            raise RecordRejected(f"{who}: its lines name projects {sorted(n or '-' for n in numbers)}; per-invoice "
                                 "costs need one project (or set purchase_invoices.per_line)", "PROJECT")
        project = _project_for(who, lines[0].get("_project_number"), lines[0].get("_project"))
        total = sum((line["quantity"] * line["unit_price"]).quantize(CENT) for line in lines)
        fees.append({"project": project["guid"], "product": None, "quantity": Decimal(1), "unit_cost": total,
                     "unit_price": None, "description": f"{invoice.get('vendor')} {number}"[:200],
                     "date": invoice.get("date"), "tag": f"{reference}-all"})
    return {"number": number, "reference": reference, "fees": fees}
