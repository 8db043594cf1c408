"""SaldeoSMART API simulator (the document hub), written from the public description of the API as an
open client implements it (repository ``piotrlinski/saldeosmart-mcp``: docs/explanation/request-signing.md,
src/saldeosmart_mcp/http/{client,signing}.py, tools/endpoints.py, tools/documents.py, models/, errors.py),
never from our hook.

What it serves, as that description gives it:

* Every request carries ``username``, ``req_id`` (unique per user) and ``req_sig`` = MD5 (hex, any case) of
  the URL-encoded (``+`` for a space) concatenation ``k=v`` of every other parameter - URL query and form
  fields together - sorted by key, with the user's API token appended. A ``command`` form field holds gzip +
  base64 of the request XML; it is signed as sent, so a command re-encoded after signing is refused.
* No concurrent requests per user: a request arriving while the same user's previous one is served is refused.
* Answers are ``<RESPONSE>`` envelopes: ``<STATUS>OK</STATUS>`` with ``<METAINF><OPERATION>``, or
  ``<STATUS>ERROR</STATUS>`` with ``<ERROR_CODE>`` and ``<ERROR_MESSAGE>``; batch writes answer OK with a
  ``STATUS`` per item and, for a refused item, ``<ERRORS><ERROR><PATH/><MESSAGE/></ERROR></ERRORS>``.
* ``GET /api/xml/1.0/company/list``; ``GET /api/xml/2.12/document/list?company_program_id=&policy=``
  (``LAST_10_DAYS``, ``LAST_10_DAYS_OCRED``, ``SALDEO`` = the documents marked for export); documents carry
  ``DOCUMENT_ID``, ``GUID``, ``NUMBER``, ``DOCUMENT_TYPE`` (``SHORT_NAME``, ``MODEL_TYPE`` INVOICE_COST /
  INVOICE_SALES), dates, ``IS_CORRECTIVE`` / ``CORR_INV_NUM`` / ``CORR_INV_DATE``, ``CATEGORY``,
  ``CURRENCY_ISO4217``, ``SUM``, ``CONTRACTOR`` and ``VAT_REGISTRIES`` (``RATE``, ``NETTO``, ``VAT``).
* ``POST /api/xml/1.13/document/sync`` with ``DOCUMENT_SYNCS/DOCUMENT_SYNC`` (``SALDEO_ID``, ...,
  ``ACCOUNT_DOCUMENT_NUMBER``, ``DOCUMENT_STATUS`` BUFFER / INTRODUCED / BOOKED): the accounting number and
  status written back.
* The registers' merges, per company (``?company_program_id=``), as ``tools/contractors.py`` and
  ``tools/catalog.py`` build them: ``POST /api/xml/1.23/contractor/merge`` (``CONTRACTORS/CONTRACTOR``:
  ``CONTRACTOR_PROGRAM_ID`` or ``CONTRACTOR_ID``, ``SHORT_NAME`` and ``FULL_NAME`` required, ``SUPPLIER``,
  ``CUSTOMER``, ``VAT_NUMBER`` [CC]+8-15 digits, address, ``COUNTRY_ISO3166A2``, ...),
  ``/api/xml/1.0/category/merge`` (``CATEGORIES/CATEGORY``: ``CATEGORY_PROGRAM_ID``, ``NAME`` required,
  ``DESCRIPTION``), ``/api/xml/1.0/register/merge`` (``REGISTERS/REGISTER``) and
  ``/api/xml/1.0/payment_method/merge`` (``PAYMENT_METHODS/PAYMENT_METHOD``: ``*_PROGRAM_ID`` or ``*_ID``,
  ``NAME`` required). An item matched on its program id (or hub id) is updated (``MERGED``), any other is
  created (``CREATED``); a refused one answers ``NOT_VALID`` with ``ERRORS/ERROR/{PATH,MESSAGE}``.
* ``GET /api/xml/2.18/bank_statement/list?company_program_id=`` (``tools/bank.py``, ``models/bank.py``): every
  statement of the company as ``BANK_STATEMENTS/BANK_STATEMENT`` with ``FOLDER/{YEAR,MONTH}``,
  ``BANK_STATEMENT_ACCOUNT_NUMBER``, ``CURRENCY_ISO4217``, ``BANK_STATEMENT_PERIOD_FROM`` / ``_TO``, ``STATUS``,
  ``STATUS_DATE``, ``BANK_STATEMENT_FILENAME``, ``SOURCE`` and ``BANK_OPERATIONS/BANK_OPERATION``
  (``BANK_OPERATION_ACCOUNT_NUMBER``, ``BANK_OPERATION_TYPE``, ``OPERATION_DATE``, ``ACCOUNTING_DATE``,
  ``OPERATION_DESCRIPTION``, ``VALUE``, ``DEBIT_CREDIT``, ``CURRENCY_ISO4217``, ``IS_APPROVED``, ``IS_REFUND``);
  a company without the Bank statements module answers error ``6001`` "User does not have access".
* Companies, as ``tools/companies.py`` and ``models/companies.py`` describe them: ``company/list`` gives
  ``COMPANY_ID``, ``COMPANY_PROGRAM_ID`` (absent for a company no program is linked to yet), ``SHORT_NAME``,
  ``FULL_NAME``, ``VAT_NUMBER``, address; ``POST /api/xml/2.19/company/create`` (``COMPANIES/COMPANY``:
  ``COMPANY_PROGRAM_ID``, ``USERNAME``, ``EMAIL``, ``SHORT_NAME`` of at most 8 characters, ``FULL_NAME``,
  ``VAT_NUMBER``, ``CITY``, ``POSTCODE``, ``STREET`` required; ``CREATED``, or ``MERGED`` when the program id
  exists, with the ``COMPANY_ID``; the admin user's ``PASSWORD`` only when ``SEND_EMAIL`` is not true);
  ``POST /api/xml/1.0/company/synchronize`` (``COMPANIES/COMPANY``: ``COMPANY_ID`` + ``COMPANY_PROGRAM_ID``,
  both required; ``MERGED``, ``NOT_VALID`` or ``CONFLICT`` when another company has that program id).

Where the description is silent (ASSUMED here, and in the README's "assumed, verify first" table):
the error codes and HTTP statuses (401 ``INVALID_SIGNATURE`` / ``UNKNOWN_USER``, 409 ``REQ_ID_USED``,
429 ``CONCURRENT_REQUEST``, 404 ``UNKNOWN_COMPANY``, 400 ``INVALID_COMMAND``, 403 for ``6001``); the KSeF number as
``KSEF_NUMBER``; the per-item result of ``document/sync`` (``<DOCUMENT_SYNC><SALDEO_ID/><STATUS>OK |
NOT_VALID</STATUS>``); a document synced with status INTRODUCED or BOOKED leaving the SALDEO policy's list;
a category, register or payment method whose ``NAME`` another one of the company already has refused
(``NAME``); a merge's per-item result echoing the item's program id (``<CONTRACTOR><CONTRACTOR_PROGRAM_ID/>
<CONTRACTOR_ID/><STATUS/>``, the same for the other registers and for ``company/create|synchronize``) in the
request's order; a user name taken by another company's user refused (``USERNAME``); the password sent by
e-mail, not answered, when ``SEND_EMAIL`` is true; the messages' words (Polish, as the hub's users see them);
a statement's operations listed in the order they were seeded.

Admin (``/_sim/``): ``POST /_sim/seed`` with ``{"companies": [...], "documents": [...], "bank_statements": [...]}``
(a company without ``program_id`` is one no program is linked to yet; a company seeded with ``"bank_module":
false`` has no Bank statements module; a statement: ``company_program_id`` and its fields in lower case,
``operations`` a list of operation fields in lower case; ``"registers"``: [{kind, company_program_id, program_id,
NAME ...}] a register item already in the hub); config
``users`` ({username: token}) and ``hold_seconds`` (how long a request keeps its user busy).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import gzip
import hashlib
import hmac
import re
import secrets
import threading
import zlib
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote_plus
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeET
from fastapi import FastAPI, Request
from starlette.responses import Response

from include.simulators._common import Simulator

DEFAULT_CONFIG = {"users": {"erpbridge": "demo-saldeo-token"}, "hold_seconds": 0.0}
POLICIES = ("LAST_10_DAYS", "LAST_10_DAYS_OCRED", "SALDEO")
SYNC_STATUSES = ("BUFFER", "INTRODUCED", "BOOKED")
EXPORTED_STATUSES = ("INTRODUCED", "BOOKED")
# register -> (container, item, the item's fields as the open client builds them, required fields)
MERGES = {
    "contractor": ("CONTRACTORS", "CONTRACTOR", (
        "SHORT_NAME", "FULL_NAME", "SUPPLIER", "CUSTOMER", "VAT_NUMBER", "CITY", "POSTCODE", "STREET",
        "COUNTRY_ISO3166A2", "TELEPHONE", "CONTACT_PERSON", "DESCRIPTION", "PAYMENT_DAYS"), ("SHORT_NAME", "FULL_NAME")),
    "category": ("CATEGORIES", "CATEGORY", ("NAME", "DESCRIPTION"), ("NAME",)),
    "register": ("REGISTERS", "REGISTER", ("NAME",), ("NAME",)),  # models/catalog.py RegisterInput
    "payment_method": ("PAYMENT_METHODS", "PAYMENT_METHOD", ("NAME",), ("NAME",)),
}
MERGE_PATHS = {"contractor": "/api/xml/1.23/contractor/merge", "category": "/api/xml/1.0/category/merge",
               "register": "/api/xml/1.0/register/merge", "payment_method": "/api/xml/1.0/payment_method/merge"}
VAT_NUMBER = re.compile(r"^[A-Z]{0,2}[0-9]{8,15}$")
# company/create: the fields the open client sends, and those its model requires
COMPANY_FIELDS = ("USERNAME", "FIRST_NAME", "LAST_NAME", "EMAIL", "SHORT_NAME", "FULL_NAME", "VAT_NUMBER", "CITY",
                  "POSTCODE", "STREET", "TELEPHONE", "CONTACT_PERSON", "SEND_EMAIL")
COMPANY_REQUIRED = ("COMPANY_PROGRAM_ID", "USERNAME", "EMAIL", "SHORT_NAME", "FULL_NAME", "VAT_NUMBER", "CITY",
                    "POSTCODE", "STREET")
SHORT_NAME_MAX = 8


class SaldeoError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def envelope(status: str, operation: str | None = None) -> Element:
    root = Element("RESPONSE")
    SubElement(root, "STATUS").text = status
    if operation:
        SubElement(SubElement(root, "METAINF"), "OPERATION").text = operation
    return root


def xml_response(root: Element, status: int = 200) -> Response:
    return Response(tostring(root, encoding="utf-8", xml_declaration=True), status_code=status,
                    media_type="application/xml")


def error_response(status: int, code: str, message: str) -> Response:
    root = envelope("ERROR")
    SubElement(root, "ERROR_CODE").text = code
    SubElement(root, "ERROR_MESSAGE").text = message
    return xml_response(root, status)


def signature(params: dict[str, str], token: str) -> str:
    """The published algorithm: sort by key, join ``k=v`` without separator, URL-encode, append the token, MD5."""
    joined = "".join(f"{key}={params[key]}" for key in sorted(params))
    return hashlib.md5((quote_plus(joined) + token).encode("utf-8")).hexdigest()


def decode_command(value: str) -> Element:
    try:
        raw = gzip.decompress(base64.b64decode(value, validate=True))
        return SafeET.fromstring(raw, forbid_dtd=True)
    except (binascii.Error, OSError, EOFError, zlib.error, SafeET.ParseError, ValueError) as exc:
        raise SaldeoError(400, "INVALID_COMMAND", f"command is not gzip + base64 XML: {exc}") from None


def add(parent: Element, tag: str, value) -> None:
    if value is not None:
        SubElement(parent, tag).text = str(value)


def add_errors(result: Element, errors: list[tuple[str, str]]) -> None:
    """An item's refusals as ``ERRORS/ERROR/{PATH,MESSAGE}`` (nothing when it has none)."""
    if errors:
        block = SubElement(result, "ERRORS")
        for path, message in errors:
            error = SubElement(block, "ERROR")
            add(error, "PATH", path)
            add(error, "MESSAGE", message)


class Hub:
    """The hub's companies and documents; callers hold the simulator lock."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.companies: dict[str, dict] = {}  # program id -> company
        self.unlinked: dict[int, dict] = {}  # hub id -> a company no program is linked to yet
        self.company_writes: list[dict] = []  # every company created or synchronised, in order
        self.documents: dict[int, dict] = {}
        self.syncs: list[dict] = []
        self.req_ids: dict[str, set[str]] = {}
        self.registers: dict[str, dict[str, dict[str, dict]]] = {kind: {} for kind in MERGES}  # kind -> company -> id
        self.merges: list[dict] = []  # every merged item, in order (what a test counts as writes)
        self.bank_statements: list[dict] = []
        self._next_id = 5000

    def seed(self, payload: dict) -> dict:
        for company in payload.get("companies", []):
            self._next_id += 1
            record = {"name": company.get("name", ""), "company_id": self._next_id, **company}
            if company.get("program_id"):
                self.companies[str(company["program_id"])] = record
            else:
                self.unlinked[record["company_id"]] = record
        for row in payload.get("registers", []):  # {kind, company_program_id, program_id, TAG: value}
            self._next_id += 1
            records = self.registers[row["kind"]].setdefault(str(row["company_program_id"]), {})
            records[row["program_id"]] = {"id": self._next_id, **{k: v for k, v in row.items()
                                                                 if k not in ("kind", "company_program_id")}}
        created = []
        for document in payload.get("documents", []):
            if str(document["company_program_id"]) not in self.companies:
                raise ValueError(f"document of unknown company {document['company_program_id']}")
            self._next_id += 1
            record = {"document_id": document.get("document_id", self._next_id), "ready": True,
                      "added_at": datetime.now(timezone.utc).isoformat(), "account_number": None,
                      "status": None, **copy.deepcopy(document)}
            record["guid"] = record.get("guid") or f"saldeo-{record['document_id']:08d}"
            self.documents[record["document_id"]] = record
            created.append(record["document_id"])
        for statement in payload.get("bank_statements", []):
            if str(statement["company_program_id"]) not in self.companies:
                raise ValueError(f"bank statement of unknown company {statement['company_program_id']}")
            self.bank_statements.append(copy.deepcopy(statement))
        return {"document_ids": created}

    def dump(self) -> dict:
        return {"companies": self.companies, "unlinked": list(self.unlinked.values()),
                "documents": list(self.documents.values()), "syncs": self.syncs, "registers": self.registers,
                "merges": self.merges, "company_writes": self.company_writes,
                "bank_statements": self.bank_statements}

    def merge(self, kind: str, company: str, item: Element) -> tuple[dict, list[tuple[str, str]]]:
        """One merged item: (its result fields, [(path, message)] of what was refused)."""
        _, tag, fields, required = MERGES[kind]
        program_id = (item.findtext(f"{tag}_PROGRAM_ID") or "").strip()
        hub_id = (item.findtext(f"{tag}_ID") or "").strip()
        values = {name: (item.findtext(name) or "").strip() for name in fields if item.find(name) is not None}
        errors = [(name, "Pole jest wymagane") for name in required if not values.get(name)]
        if kind == "contractor" and values.get("VAT_NUMBER") and not VAT_NUMBER.match(values["VAT_NUMBER"]):
            errors.append(("VAT_NUMBER", "Niepoprawny numer NIP"))
        for flag in ("SUPPLIER", "CUSTOMER"):
            if values.get(flag, "true") not in ("true", "false"):
                errors.append((flag, "Wartość musi być true albo false"))
        records = self.registers[kind].setdefault(company, {})
        if program_id:
            existing = records.get(program_id)
        else:
            existing = next((r for r in records.values() if hub_id and str(r["id"]) == hub_id), None)
        if hub_id and existing is None:
            errors.append((f"{tag}_ID", "Nie znaleziono obiektu o podanym identyfikatorze"))
        if "NAME" in required and any(r is not existing and r.get("NAME") == values.get("NAME")
                                      for r in records.values()):
            errors.append(("NAME", "Obiekt o podanej nazwie już istnieje"))
        result = {f"{tag}_PROGRAM_ID": program_id}
        if errors:
            return result, errors
        if existing is None:
            self._next_id += 1
            existing = records[program_id or f"#{self._next_id}"] = {"id": self._next_id, "program_id": program_id}
            result["STATUS"] = "CREATED"
        else:
            result["STATUS"] = "MERGED"
        existing.update(values)
        self.merges.append({"kind": kind, "company": company, "program_id": program_id, **values})
        return {**result, f"{tag}_ID": str(existing["id"])}, []

    def create_company(self, item: Element) -> tuple[dict, list[tuple[str, str]]]:
        """One ``company/create`` COMPANY: (its result fields, [(path, message)] of what was refused)."""
        values = {name: (item.findtext(name) or "").strip() for name in ("COMPANY_PROGRAM_ID", *COMPANY_FIELDS)}
        program_id = values.pop("COMPANY_PROGRAM_ID")
        errors = [(name, "Pole jest wymagane") for name in COMPANY_REQUIRED
                  if not (program_id if name == "COMPANY_PROGRAM_ID" else values[name])]
        if len(values["SHORT_NAME"]) > SHORT_NAME_MAX:
            errors.append(("SHORT_NAME", f"Nazwa skrócona może mieć najwyżej {SHORT_NAME_MAX} znaków"))
        if values["VAT_NUMBER"] and not VAT_NUMBER.match(values["VAT_NUMBER"]):
            errors.append(("VAT_NUMBER", "Niepoprawny numer NIP"))
        existing = self.companies.get(program_id)
        if any(c.get("username") == values["USERNAME"] for c in self.all_companies() if c is not existing):
            errors.append(("USERNAME", "Użytkownik o podanym loginie już istnieje"))
        result = {"COMPANY_PROGRAM_ID": program_id}
        if errors:
            return result, errors
        fields = {"username": values["USERNAME"], "email": values["EMAIL"], "short_name": values["SHORT_NAME"],
                  "name": values["FULL_NAME"], "vat_number": values["VAT_NUMBER"], "city": values["CITY"],
                  "postcode": values["POSTCODE"], "street": values["STREET"]}
        if existing is None:
            self._next_id += 1
            existing = self.companies[program_id] = {"program_id": program_id, "company_id": self._next_id}
            result["STATUS"] = "CREATED"
        else:
            result["STATUS"] = "MERGED"
        existing.update(fields)
        self.company_writes.append({"operation": "create", "program_id": program_id, **fields})
        result["COMPANY_ID"] = str(existing["company_id"])
        if values["SEND_EMAIL"] != "true":
            result["PASSWORD"] = secrets.token_urlsafe(9)
        return result, []

    def synchronize_company(self, item: Element) -> tuple[dict, list[tuple[str, str]], str]:
        """One ``company/synchronize`` COMPANY: (its result fields, [(path, message)] refused, status)."""
        company_id = (item.findtext("COMPANY_ID") or "").strip()
        program_id = (item.findtext("COMPANY_PROGRAM_ID") or "").strip()
        result = {"COMPANY_ID": company_id, "COMPANY_PROGRAM_ID": program_id}
        errors = [(name, "Pole jest wymagane") for name, value in (("COMPANY_ID", company_id),
                                                                  ("COMPANY_PROGRAM_ID", program_id)) if not value]
        company = next((c for c in self.all_companies() if str(c["company_id"]) == company_id), None)
        if company_id and company is None:
            errors.append(("COMPANY_ID", "Nie znaleziono firmy o podanym identyfikatorze"))
        if errors:
            return result, errors, "NOT_VALID"
        holder = self.companies.get(program_id)
        if holder is not None and holder is not company:
            return result, [("COMPANY_PROGRAM_ID", "Identyfikator jest już przypisany do innej firmy")], "CONFLICT"
        self.unlinked.pop(company["company_id"], None)
        self.companies = {k: v for k, v in self.companies.items() if v is not company}
        company["program_id"] = program_id
        self.companies[program_id] = company
        self.company_writes.append({"operation": "synchronize", "program_id": program_id,
                                    "company_id": company["company_id"]})
        return result, [], "MERGED"

    def all_companies(self) -> list[dict]:
        return [*self.companies.values(), *self.unlinked.values()]

    def company(self, program_id: str | None) -> str:
        if not program_id or program_id not in self.companies:
            raise SaldeoError(404, "UNKNOWN_COMPANY", f"no company with program id {program_id!r}")
        return program_id

    def listed(self, company: str, policy: str) -> list[dict]:
        if policy not in POLICIES:
            raise SaldeoError(400, "INVALID_POLICY", f"policy must be one of {', '.join(POLICIES)}")
        since = datetime.now(timezone.utc) - timedelta(days=10)
        rows = [d for d in self.documents.values() if str(d["company_program_id"]) == company]
        if policy == "SALDEO":
            rows = [d for d in rows if d["ready"]]
        else:
            rows = [d for d in rows if datetime.fromisoformat(d["added_at"]) >= since
                    and (policy != "LAST_10_DAYS_OCRED" or d.get("ocred", True))]
        return sorted(rows, key=lambda d: d["document_id"])

    def sync(self, company: str, item: Element) -> tuple[str, list[tuple[str, str]]]:
        """One DOCUMENT_SYNC: (saldeo id, [(path, message)] of what was refused)."""
        saldeo_id = (item.findtext("SALDEO_ID") or "").strip()
        status = (item.findtext("DOCUMENT_STATUS") or "").strip()
        errors = []
        document = self.documents.get(int(saldeo_id)) if saldeo_id.isdigit() else None
        if document is None or str(document["company_program_id"]) != company:
            errors.append(("SALDEO_ID", "document not found"))
        if status and status not in SYNC_STATUSES:
            errors.append(("DOCUMENT_STATUS", f"must be one of {', '.join(SYNC_STATUSES)}"))
        if not errors:
            document["account_number"] = item.findtext("ACCOUNT_DOCUMENT_NUMBER") or document["account_number"]
            document["status"] = status or document["status"]
            if status in EXPORTED_STATUSES:
                document["ready"] = False
            self.syncs.append({"saldeo_id": saldeo_id, "account_number": document["account_number"],
                               "status": document["status"]})
        return saldeo_id, errors


def document_xml(parent: Element, d: dict) -> None:
    item = SubElement(parent, "DOCUMENT")
    add(item, "DOCUMENT_ID", d["document_id"])
    add(item, "GUID", d["guid"])
    add(item, "NUMBER", d.get("number"))
    kind = SubElement(item, "DOCUMENT_TYPE")
    add(kind, "SHORT_NAME", d.get("short_name", "FZ" if d.get("model_type") == "INVOICE_COST" else "FS"))
    add(kind, "MODEL_TYPE", d.get("model_type", "INVOICE_COST"))
    for tag, key in (("ISSUE_DATE", "issue_date"), ("SALE_DATE", "sale_date"), ("RECEIVE_DATE", "receive_date"),
                     ("PAYMENT_DATE", "payment_date"), ("PAYMENT_TYPE", "payment_type"), ("CATEGORY", "category"),
                     ("REGISTRY", "registry"), ("DESCRIPTION", "description"), ("KSEF_NUMBER", "ksef_number")):
        add(item, tag, d.get(key))
    add(item, "IS_CORRECTIVE", "true" if d.get("corrected_number") else "false")
    add(item, "CORR_INV_NUM", d.get("corrected_number"))
    add(item, "CORR_INV_DATE", d.get("corrected_date"))
    add(item, "CURRENCY_ISO4217", d.get("currency", "PLN"))
    contractor = d.get("contractor") or {}
    block = SubElement(item, "CONTRACTOR")
    for tag in ("CONTRACTOR_ID", "CONTRACTOR_PROGRAM_ID", "SHORT_NAME", "FULL_NAME", "VAT_NUMBER", "STREET",
                "CITY", "POSTCODE", "COUNTRY_ISO3166A2"):
        add(block, tag, contractor.get(tag.lower()))
    registries = SubElement(item, "VAT_REGISTRIES")
    total = 0
    for row in d.get("vat_rows", []):
        registry = SubElement(registries, "VAT_REGISTRY")
        add(registry, "RATE", row["rate"])
        add(registry, "NETTO", row["net"])
        add(registry, "VAT", row["vat"])
        total += round(float(row["net"]) * 100) + round(float(row["vat"]) * 100)
    add(item, "SUM", d.get("sum", f"{total / 100:.2f}"))
    add(item, "ACCOUNT_DOCUMENT_NUMBER", d.get("account_number"))
    add(item, "DOCUMENT_STATUS", d.get("status"))


STATEMENT_FIELDS = ("BANK_STATEMENT_ACCOUNT_NUMBER", "CURRENCY_ISO4217", "BANK_STATEMENT_PERIOD_FROM",
                    "BANK_STATEMENT_PERIOD_TO", "STATUS", "STATUS_DATE", "BANK_STATEMENT_FILENAME", "SOURCE")
OPERATION_FIELDS = ("BANK_OPERATION_ACCOUNT_NUMBER", "BANK_OPERATION_TYPE", "OPERATION_DATE", "ACCOUNTING_DATE",
                    "OPERATION_DESCRIPTION", "VALUE", "DEBIT_CREDIT", "CURRENCY_ISO4217", "IS_APPROVED", "IS_REFUND")


def bank_statement_xml(parent: Element, s: dict) -> None:
    item = SubElement(parent, "BANK_STATEMENT")
    folder = SubElement(item, "FOLDER")
    period = str(s.get("bank_statement_period_from") or "")
    add(folder, "YEAR", s.get("year", period[:4] or None))
    add(folder, "MONTH", s.get("month", int(period[5:7]) if period[5:7].isdigit() else None))
    for tag in STATEMENT_FIELDS:
        add(item, tag, s.get(tag.lower()))
    operations = SubElement(item, "BANK_OPERATIONS")
    for o in s.get("operations", []):
        operation = SubElement(operations, "BANK_OPERATION")
        for tag in OPERATION_FIELDS:
            add(operation, tag, o.get(tag.lower()))


def create_app(config: dict | None = None) -> FastAPI:
    """Build the SaldeoSMART simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("saldeo", error_response)
    sim.config.update(copy.deepcopy(DEFAULT_CONFIG) | (config or {}))
    hub = Hub()
    sim.on_reset(hub.reset)
    sim.on_seed(hub.seed)
    sim.on_state(hub.dump)
    busy: dict[str, threading.Lock] = {}
    app = sim.app

    def authenticate(params: dict[str, str]) -> str:
        """The signed request's user; refused unless the signature and a fresh ``req_id`` check out."""
        username, req_id, given = params.get("username"), params.get("req_id"), params.get("req_sig", "")
        token = sim.config["users"].get(username or "")
        if token is None:
            raise SaldeoError(401, "UNKNOWN_USER", f"unknown user {username!r}")
        signed = {k: v for k, v in params.items() if k != "req_sig"}
        if not req_id or not hmac.compare_digest(signature(signed, token), given.lower()):
            raise SaldeoError(401, "INVALID_SIGNATURE", "req_sig does not match the request")
        used = hub.req_ids.setdefault(username, set())
        if req_id in used:
            raise SaldeoError(409, "REQ_ID_USED", f"req_id {req_id} was already used")
        used.add(req_id)
        return username

    async def serve(request: Request, operation: str, action) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)) \
            if request.method == "POST" else {}
        params = {**dict(request.query_params), **form}
        try:
            with sim.lock:
                username = authenticate(params)
            lock = busy.setdefault(username, threading.Lock())
            if not lock.acquire(blocking=False):
                raise SaldeoError(429, "CONCURRENT_REQUEST", f"user {username} already has a request in progress")
            try:
                await asyncio.sleep(float(sim.config.get("hold_seconds") or 0))
                with sim.lock:
                    root = envelope("OK", operation)
                    action(params, root)
            finally:
                lock.release()
        except SaldeoError as error:
            return error_response(error.status, error.code, error.message)
        return xml_response(root)

    @app.get("/api/xml/1.0/company/list")
    async def company_list(request: Request) -> Response:
        def action(params, root):
            companies = SubElement(root, "COMPANIES")
            for company in sorted(hub.all_companies(), key=lambda c: c["company_id"]):
                item = SubElement(companies, "COMPANY")
                add(item, "COMPANY_ID", company["company_id"])
                add(item, "COMPANY_PROGRAM_ID", company.get("program_id") or None)
                add(item, "SHORT_NAME", company.get("short_name"))
                add(item, "FULL_NAME", company.get("name"))
                add(item, "VAT_NUMBER", company.get("vat_number"))
                add(item, "CITY", company.get("city"))
                add(item, "POSTCODE", company.get("postcode"))
                add(item, "STREET", company.get("street"))
        return await serve(request, "company.list", action)

    @app.get("/api/xml/2.12/document/list")
    async def document_list(request: Request) -> Response:
        def action(params, root):
            company = hub.company(params.get("company_program_id"))
            documents = SubElement(root, "DOCUMENTS")
            for document in hub.listed(company, params.get("policy", "LAST_10_DAYS")):
                document_xml(documents, document)
        return await serve(request, "document.list", action)

    @app.post("/api/xml/1.13/document/sync")
    async def document_sync(request: Request) -> Response:
        def action(params, root):
            company = hub.company(params.get("company_program_id"))
            command = decode_command(params.get("command", ""))
            items = command.findall("DOCUMENT_SYNCS/DOCUMENT_SYNC")
            if not items:
                raise SaldeoError(400, "INVALID_COMMAND", "no DOCUMENT_SYNCS/DOCUMENT_SYNC in command")
            results = SubElement(root, "DOCUMENT_SYNCS")
            for item in items:
                saldeo_id, errors = hub.sync(company, item)
                result = SubElement(results, "DOCUMENT_SYNC")
                add(result, "SALDEO_ID", saldeo_id)
                add(result, "STATUS", "NOT_VALID" if errors else "OK")
                add_errors(result, errors)
        return await serve(request, "document.sync", action)

    @app.get("/api/xml/2.18/bank_statement/list")
    async def bank_statement_list(request: Request) -> Response:
        def action(params, root):
            company = hub.company(params.get("company_program_id"))
            if hub.companies[company].get("bank_module") is False:
                raise SaldeoError(403, "6001", "User does not have access")
            statements = SubElement(root, "BANK_STATEMENTS")
            for statement in hub.bank_statements:
                if str(statement["company_program_id"]) == company:
                    bank_statement_xml(statements, statement)
        return await serve(request, "bank_statement.list", action)

    def merge_route(kind: str):
        container, tag, _, _ = MERGES[kind]

        async def merge(request: Request) -> Response:
            def action(params, root):
                company = hub.company(params.get("company_program_id"))
                items = decode_command(params.get("command", "")).findall(f"{container}/{tag}")
                if not items:
                    raise SaldeoError(400, "INVALID_COMMAND", f"no {container}/{tag} in command")
                results = SubElement(root, container)
                for item in items:
                    fields, errors = hub.merge(kind, company, item)
                    result = SubElement(results, tag)
                    for name, value in fields.items():
                        add(result, name, value)
                    if errors:
                        add(result, "STATUS", "NOT_VALID")
                    add_errors(result, errors)
            return await serve(request, f"{kind}.merge", action)
        return merge

    for kind, path in MERGE_PATHS.items():
        app.post(path)(merge_route(kind))

    def item_results(root: Element, items: list[Element], answer) -> None:
        """``COMPANIES/COMPANY`` results: ``answer(item)`` gives (fields, errors, status)."""
        if not items:
            raise SaldeoError(400, "INVALID_COMMAND", "no COMPANIES/COMPANY in command")
        results = SubElement(root, "COMPANIES")
        for item in items:
            fields, errors, status = answer(item)
            result = SubElement(results, "COMPANY")
            for name, value in fields.items():
                add(result, name, value)
            add(result, "STATUS", status)
            add_errors(result, errors)

    @app.post("/api/xml/2.19/company/create")
    async def company_create(request: Request) -> Response:
        def answer(item):
            fields, errors = hub.create_company(item)
            return fields, errors, "NOT_VALID" if errors else fields.pop("STATUS")

        def action(params, root):
            item_results(root, decode_command(params.get("command", "")).findall("COMPANIES/COMPANY"), answer)
        return await serve(request, "company.create", action)

    @app.post("/api/xml/1.0/company/synchronize")
    async def company_synchronize(request: Request) -> Response:
        def action(params, root):
            item_results(root, decode_command(params.get("command", "")).findall("COMPANIES/COMPANY"),
                         hub.synchronize_company)
        return await serve(request, "company.synchronize", action)

    return app


def _demo_documents() -> list[dict]:
    seller = {"contractor_program_id": "K-001", "short_name": "Papiernik", "full_name": "Papiernik Sp. z o.o.",
              "vat_number": "5252344078", "street": "ul. Żółkiewskiego 7", "city": "Łódź", "postcode": "90-001"}
    today = date.today().isoformat()
    return [
        {"company_program_id": "BIURO-1", "number": "FV 12/2026", "model_type": "INVOICE_COST", "short_name": "FZ",
         "issue_date": today, "sale_date": today, "category": "Materiały biurowe", "contractor": seller,
         "ksef_number": "5252344078-20260105-0A1B2C3D4E5F-6A",
         "vat_rows": [{"rate": "23", "net": "100.00", "vat": "23.00"}, {"rate": "8", "net": "50.00", "vat": "4.00"}]},
    ]


DEMO_SEED: dict = {"companies": [{"program_id": "BIURO-1", "name": "Biuro Rachunkowe Demo", "vat_number": "7010020030"}]}
DEMO_DOCUMENTS: dict = {"documents": _demo_documents()}
