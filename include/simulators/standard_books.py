"""Standard Books / Standard ERP (HansaWorld / Excellent) REST API v2 simulator.

Written from the vendor contract only (HansaWorld's "REST API - Retrieving Data" and "Writing Data -
POST and PATCH Requests" pages, "Rest API POST doc from HansaWorld"; our summary in
``shared/reference/external-apis.md``): registers under ``/api/<company>/<Register>[/<key>]``, HTTP
Basic auth, XML answers ``<data register=".." sequence=".." systemversion="..">``, ``set_field.`` /
``set_row_field.`` form writes, a global change ``sequence`` for ``updates_after``, and the vendor's
``<error code description row field/>`` / ``<message description/>`` elements. Documented: a POST or
PATCH answer carries the record's ``url`` on ``<data>`` and lists only the fields with non-default
(non-blank) data; ``sort=F&range=X`` with one value is an exact match of ``F``.

Registers: ``CUVc`` contacts, ``AccVc`` accounts, ``OTVc`` object types, ``ObjVc`` objects,
``VIVc`` purchase invoices and ``EInvoiceInVc`` incoming e-invoices.

Choices and assumptions where the public contract is silent (all kept in this module):

* ``EInvoiceInVc`` is an assumed name: the real register of "Incoming e-invoices" was not
  confirmed from a public source; its fields are assumed too (see ``REGISTERS``).
* Attachments are assumed as ``POST /api/<c>/Attach/<Register>/<key>?filename=x.pdf`` with the raw
  bytes as body, ``GET /api/<c>/Attach/<Register>/<key>`` (list as ``<Attach nr filename size
  contenttype url/>``) and ``GET .../Attach/<Register>/<key>/<nr>`` (the bytes). Attaching counts
  as a change of the record (it bumps both sequences). Records show them as
  ``<Attachments><Attachment nr filename size url/></Attachments>``.
* Errors answer HTTP 400 (validation, bad parameters), 401 (auth, with ``WWW-Authenticate``),
  404 (unknown company, register or record), 405 (DELETE/PUT); warnings come with HTTP 200 and
  the record is saved. Error codes other than 20060 are not public and are assumed (``E_*``).
* Only XML is served (the vendor's optional JSON is not simulated).
* Every record element of a GET answer carries ``sequence`` (its own last change) and ``url``
  attributes; a write's answer has them on ``<data>`` (the record element has none); its messages
  come first inside ``<data>`` (the vendor says "at the beginning of the response, before the
  <data> tag").
* ``fields=A,B`` lists top-level fields; row fields may be listed too (only those row fields are
  shown) and ``rows`` shows all row fields; the ``url``/``sequence`` attributes are always there.
* ``range`` without ``sort`` applies to the register's key; ``From:To`` values that are numbers
  compare as numbers. ``filter.Field`` is an exact match of the stored text. Default order: the key.
* Auto-numbering of an empty key: ``CUVc`` (max numeric Code + 1, from 10001), ``VIVc`` and
  ``EInvoiceInVc`` (SerNr from 10000001). ``AccVc``, ``OTVc`` and ``ObjVc`` need their key.
* A key cannot be changed by PATCH. ``set_row_field.N`` changes row N or appends it when N equals
  the row count; a gap is an error. An OK'd ``VIVc`` (``OKFlag`` 1) can no longer be changed.
* Validation of ``VIVc`` / ``EInvoiceInVc``: the supplier must exist, be a supplier
  (``VEType`` 1) and not be blocked; each row needs an existing, non-blocked ``AccNumber``;
  every code in ``Objects`` (comma-separated) must exist and not be closed; when there are rows,
  their ``Sum`` must add up to ``PayVal - VATVal`` (``TotSum - VATSum``) within 0.01. ``VATCode``
  is not checked (no VAT code register is simulated). Warnings: a supplier invoice number
  already booked for the same supplier (``VIVc``), an ``ExternalId`` already present
  (``EInvoiceInVc``), a due date before the invoice date.
* ``VIVc.EInvoiceSerNr`` (assumed) links a purchase invoice to the incoming e-invoice it was made
  from; when given it must exist.

Admin seed (``POST /_sim/seed``): ``{"<Register>": [{"<Field>": value, ..., "rows": [{...}],
"attachments": [{"filename", "content_base64", "content_type"?}]}]}``, loaded in dependency order
through the same validation; returns ``{"<Register>": [keys]}``. ``GET /_sim/state`` returns
``{"sequence": n, "<Register>": [{fields..., "sequence", "rows", "attachments": [{nr, filename,
content_type, size, sha256}]}]}``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import mimetypes
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI, Request
from starlette.responses import Response

from include.simulators._common import Simulator

DEFAULT_CONFIG = {
    "username": "erpbridge",
    "password": "demo-sb-password",
    "company": "1",
    "systemversion": "8.5.15.5",
}

# Vendor error codes. 20060 ("... does not exist") is public; the others are assumed.
E_AUTH = "20001"
E_COMPANY = "20002"
E_REGISTER = "20003"
E_NOT_FOUND = "20004"
E_METHOD = "20005"
E_PARAM = "20010"
E_UNKNOWN_FIELD = "20020"
E_REQUIRED = "20030"
E_DUPLICATE = "20031"
E_FORMAT = "20040"
E_REFERENCE = "20060"
E_BLOCKED = "20061"
E_CLOSED = "20062"
E_NOT_SUPPLIER = "20063"
E_TOTALS = "20070"
E_LOCKED = "20080"
E_ROW = "20090"

TOLERANCE = Decimal("0.01")
SERIAL_START = 10000001
ROW_FIELD = re.compile(r"set_row_field\.([0-9]+)\.(.+)")
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class SBError(ValueError):
    """A refusal, rendered as ``<data><error code description row field/></data>``."""

    def __init__(self, code: str, description: str, field: str = "", row: int | str = "", status: int = 400):
        super().__init__(description)
        self.code, self.description, self.field, self.row, self.status = code, description, field, str(row), status


# -- registers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    """One register: its fields with their kind (text, decimal, date, flag or "a|b" choices)."""

    name: str
    key: str
    fields: dict[str, str]
    rows: dict[str, str] = field(default_factory=dict)
    auto: str | None = None  # "serial" (SerNr from SERIAL_START) or "code" (max numeric + 1)
    required: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)


PURCHASE_ROWS = {"AccNumber": "text", "Objects": "text", "Sum": "decimal", "VATCode": "text", "Comment": "text"}

REGISTERS: dict[str, Register] = {r.name: r for r in (  # in dependency order (seed order)
    Register("OTVc", "Code", {"Code": "text", "Comment": "text"}),
    Register("ObjVc", "Code", {"Code": "text", "Comment": "text", "OTCode": "text", "Closed": "flag"}),
    Register("AccVc", "AccNumber", {"AccNumber": "text", "Comment": "text", "AccType": "text",
                                    "blockedFlag": "flag"}, required=("Comment",)),
    Register("CUVc", "Code", {
        "Code": "text", "Name": "text", "InvAddr0": "text", "InvAddr1": "text", "InvAddr2": "text",
        "InvAddr3": "text", "InvAddr4": "text", "Phone": "text", "eMail": "text", "VATNr": "text",
        "CustCat": "text", "CUType": "flag", "VEType": "flag", "blockedFlag": "flag",
    }, auto="code", required=("Name",)),
    Register("EInvoiceInVc", "SerNr", {
        "SerNr": "text", "SupplierCode": "text", "SupplierName": "text", "InvoiceNr": "text",
        "InvDate": "date", "DueDate": "date", "CurncyCode": "text", "TotSum": "decimal",
        "VATSum": "decimal", "DocType": "invoice|receipt", "ExternalId": "text", "Comment": "text",
    }, rows=PURCHASE_ROWS | {"VATSum": "decimal"}, auto="serial",
        required=("SupplierCode", "InvDate"), defaults={"DocType": "invoice", "CurncyCode": "EUR"}),
    Register("VIVc", "SerNr", {
        "SerNr": "text", "InvDate": "date", "PayVal": "decimal", "InvoiceNr": "text", "OKFlag": "flag",
        "VECode": "text", "VEName": "text", "PayDeal": "text", "DueDate": "date", "VATVal": "decimal",
        "CurncyCode": "text", "EInvoiceSerNr": "text",
    }, rows=PURCHASE_ROWS, auto="serial", required=("VECode", "InvDate"), defaults={"CurncyCode": "EUR"}),
)}
# purchase-document registers: supplier field, name field, total field, VAT field
PURCHASE = {
    "VIVc": ("VECode", "VEName", "PayVal", "VATVal"),
    "EInvoiceInVc": ("SupplierCode", "SupplierName", "TotSum", "VATSum"),
}


def normalize(kind: str, value: object, name: str, row: int | str = "") -> str:
    """Validate a value against its field kind and return the stored text."""
    if isinstance(value, bool):
        value = "1" if value else "0"
    text = "" if value is None else str(value).strip()
    if not text:
        return "0" if kind == "flag" else ""
    if kind == "decimal":
        if not DECIMAL_TEXT.fullmatch(text):
            raise SBError(E_FORMAT, f"Invalid number {text} (use a decimal point)", name, row)
        number = Decimal(text)
        return f"{number:.2f}" if number == round(number, 2) else str(number)
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date(text, name, row)
        except ValueError:
            return _bad_date(text, name, row)
    if kind == "flag":
        if text not in ("0", "1"):
            raise SBError(E_FORMAT, f"{name} must be 0 or 1", name, row)
        return text
    if "|" in kind and text not in kind.split("|"):
        raise SBError(E_FORMAT, f"{name} must be one of {kind.replace('|', ', ')}", name, row)
    return text


def _bad_date(text: str, name: str, row: int | str) -> str:
    raise SBError(E_FORMAT, f"Invalid date {text} (use YYYY-MM-DD)", name, row)


def natural(value: str) -> tuple:
    """Sort/range key: numbers compare as numbers, then text."""
    if DECIMAL_TEXT.fullmatch(value or ""):
        return (0, Decimal(value), value)
    return (1, value or "", value or "")


def money(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)


# -- state -------------------------------------------------------------------------------------
class StandardBooksState:
    """All registers of the one company; callers hold the simulator lock."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.sequence = 0
        self.records: dict[str, dict[str, dict]] = {name: {} for name in REGISTERS}

    # reading
    def get(self, register: str, key: str) -> dict:
        record = self.records[register].get(key)
        if record is None:
            raise SBError(E_NOT_FOUND, f"Record {key} does not exist in {register}", status=404)
        return record

    def select(self, reg: Register, params) -> list[dict]:
        """The records a GET asks for: updates_after, filter., sort + range, offset, limit."""
        rows = list(self.records[reg.name].values())
        if params.get("updates_after", "") != "":
            after = _int(params, "updates_after")
            rows = [r for r in rows if r["sequence"] > after]
        for name, value in params.multi_items():
            if name.startswith("filter."):
                field_name = name[len("filter."):]
                if field_name not in reg.fields:
                    raise SBError(E_PARAM, f"Unknown field {field_name} in filter", field_name)
                rows = [r for r in rows if r[field_name] == value]
        sort = params.get("sort") or reg.key
        if sort not in reg.fields:
            raise SBError(E_PARAM, f"Unknown sort field {sort}", sort)
        rows.sort(key=lambda r: (natural(r[sort]), natural(r[reg.key])))
        if params.get("range"):
            low, sep, high = params["range"].partition(":")
            if not sep:  # one value: an exact match (documented)
                rows = [r for r in rows if r[sort] == low]
            else:
                rows = [r for r in rows if (not low or natural(r[sort]) >= natural(low))
                        and (not high or natural(r[sort]) <= natural(high))]
        offset = _int(params, "offset") if params.get("offset") else 0
        rows = rows[offset:]
        if params.get("limit"):
            rows = rows[:_int(params, "limit")]
        return rows

    # writing
    def write(self, reg: Register, key: str | None, fields: dict, rows: dict[int, dict]) -> tuple[dict, list[str]]:
        """Apply set_ commands to a new (key None) or existing record; returns it and warnings."""
        existing = self.get(reg.name, key) if key is not None else None
        if existing is not None and existing.get("OKFlag") == "1":
            raise SBError(E_LOCKED, f"Record {key} is OK'd and cannot be changed", "OKFlag")
        if existing is not None:
            record = copy.deepcopy(existing)
        else:
            record = {name: ("0" if kind == "flag" else "") for name, kind in reg.fields.items()}
            record.update(reg.defaults)
            record.update(rows=[], attachments=[], sequence=0)
        for name, value in fields.items():
            if name not in reg.fields:
                raise SBError(E_UNKNOWN_FIELD, f"Unknown field {name} in {reg.name}", name)
            record[name] = normalize(reg.fields[name], value, name)
        if existing is not None and record[reg.key] != key:
            raise SBError(E_PARAM, f"{reg.key} cannot be changed", reg.key)
        for number in sorted(rows):
            if not reg.rows:
                raise SBError(E_UNKNOWN_FIELD, f"{reg.name} has no rows", row=number)
            if number > len(record["rows"]):
                raise SBError(E_ROW, f"Row {number} does not follow row {len(record['rows']) - 1}", row=number)
            if number == len(record["rows"]):
                record["rows"].append({name: "" for name in reg.rows})
            for name, value in rows[number].items():
                if name not in reg.rows:
                    raise SBError(E_UNKNOWN_FIELD, f"Unknown row field {name} in {reg.name}", name, number)
                record["rows"][number][name] = normalize(reg.rows[name], value, name, number)
        if existing is None:
            self._assign_key(reg, record)
        for name in (reg.key, *reg.required):
            if not record[name]:
                raise SBError(E_REQUIRED, f"{name} must be given", name)
        warnings = CHECKS.get(reg.name, lambda *_: [])(self, reg, record)
        self.sequence += 1
        record["sequence"] = self.sequence
        self.records[reg.name][record[reg.key]] = record
        return record, warnings

    def _assign_key(self, reg: Register, record: dict) -> None:
        key = record[reg.key]
        if not key and reg.auto:
            numbers = [int(k) for k in self.records[reg.name] if k.isdigit()]
            first = SERIAL_START if reg.auto == "serial" else 10001
            record[reg.key] = key = str(max(numbers, default=first - 1) + 1)
        if key in self.records[reg.name]:
            raise SBError(E_DUPLICATE, f"{reg.key} {key} already exists in {reg.name}", reg.key)

    def attach(self, register: str, key: str, filename: str, content_type: str, data: bytes) -> dict:
        record = self.get(register, key)
        if not filename:
            raise SBError(E_REQUIRED, "filename must be given", "filename")
        if not data:
            raise SBError(E_REQUIRED, "The attachment is empty", "body")
        if not content_type or content_type in ("application/octet-stream", "application/x-www-form-urlencoded"):
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        attachment = {"nr": len(record["attachments"]), "filename": filename,
                      "content_type": content_type, "data": data}
        record["attachments"].append(attachment)
        self.sequence += 1
        record["sequence"] = self.sequence
        return attachment

    # admin
    def seed(self, payload: dict) -> dict:
        unknown = set(payload) - set(REGISTERS)
        if unknown:
            raise ValueError(f"unknown registers: {sorted(unknown)}")
        created: dict[str, list[str]] = {}
        for name, reg in REGISTERS.items():
            for item in payload.get(name, []):
                fields = {k: v for k, v in item.items() if k not in ("rows", "attachments")}
                rows = dict(enumerate(item.get("rows", [])))
                record, _ = self.write(reg, None, fields, rows)
                for attachment in item.get("attachments", []):
                    try:
                        data = base64.b64decode(attachment.get("content_base64", ""), validate=True)
                    except binascii.Error as exc:
                        raise ValueError(f"bad content_base64: {exc}") from None
                    self.attach(name, record[reg.key], attachment.get("filename", ""),
                                attachment.get("content_type", ""), data)
                created.setdefault(name, []).append(record[reg.key])
        return created

    def dump(self) -> dict:
        state: dict = {"sequence": self.sequence}
        for name, reg in REGISTERS.items():
            state[name] = [
                {**{k: v for k, v in r.items() if k != "attachments"},
                 "attachments": [{"nr": a["nr"], "filename": a["filename"], "content_type": a["content_type"],
                                  "size": len(a["data"]), "sha256": hashlib.sha256(a["data"]).hexdigest()}
                                 for a in r["attachments"]]}
                for r in sorted(self.records[name].values(), key=lambda r: natural(r[reg.key]))
            ]
        return state


def _int(params, name: str) -> int:
    raw = params.get(name, "")
    if not raw.isdigit():
        raise SBError(E_PARAM, f"{name} must be a non-negative integer", name)
    return int(raw)


# -- register rules ----------------------------------------------------------------------------
def check_object(state: StandardBooksState, reg: Register, record: dict) -> list[str]:
    if record["OTCode"] and record["OTCode"] not in state.records["OTVc"]:
        raise SBError(E_REFERENCE, f"Object type {record['OTCode']} does not exist", "OTCode")
    return []


def check_purchase(state: StandardBooksState, reg: Register, record: dict) -> list[str]:
    """Supplier, accounts, objects and totals of a VIVc / EInvoiceInVc record."""
    supplier_field, name_field, total_field, vat_field = PURCHASE[reg.name]
    code = record[supplier_field]
    supplier = state.records["CUVc"].get(code)
    if supplier is None:
        raise SBError(E_REFERENCE, f"Supplier {code} does not exist", supplier_field)
    if supplier["VEType"] != "1":
        raise SBError(E_NOT_SUPPLIER, f"Contact {code} is not a supplier", supplier_field)
    if supplier["blockedFlag"] == "1":
        raise SBError(E_BLOCKED, f"Supplier {code} is blocked", supplier_field)
    if not record[name_field]:
        record[name_field] = supplier["Name"]
    for number, row in enumerate(record["rows"]):
        account = state.records["AccVc"].get(row["AccNumber"])
        if not row["AccNumber"]:
            raise SBError(E_REQUIRED, "AccNumber must be given", "AccNumber", number)
        if account is None:
            raise SBError(E_REFERENCE, f"Account {row['AccNumber']} does not exist", "AccNumber", number)
        if account["blockedFlag"] == "1":
            raise SBError(E_BLOCKED, f"Account {row['AccNumber']} is blocked", "AccNumber", number)
        for object_code in filter(None, (c.strip() for c in row["Objects"].split(","))):
            found = state.records["ObjVc"].get(object_code)
            if found is None:
                raise SBError(E_REFERENCE, f"Object {object_code} does not exist", "Objects", number)
            if found["Closed"] == "1":
                raise SBError(E_CLOSED, f"Object {object_code} is closed", "Objects", number)
    if record["rows"] and record[total_field]:
        net = money(record[total_field]) - money(record[vat_field])
        rows_sum = sum((money(row["Sum"]) for row in record["rows"]), Decimal(0))
        if abs(rows_sum - net) > TOLERANCE:
            raise SBError(E_TOTALS, f"Rows add up to {rows_sum:.2f}, not {total_field} - {vat_field} = {net:.2f}",
                          total_field)
    warnings = []
    key = record[reg.key]
    if reg.name == "VIVc":
        if record["EInvoiceSerNr"] and record["EInvoiceSerNr"] not in state.records["EInvoiceInVc"]:
            raise SBError(E_REFERENCE, f"Incoming e-invoice {record['EInvoiceSerNr']} does not exist", "EInvoiceSerNr")
        if record["InvoiceNr"] and any(r["VECode"] == code and r["InvoiceNr"] == record["InvoiceNr"]
                                       for k, r in state.records["VIVc"].items() if k != key):
            warnings.append(f"Supplier {code} invoice {record['InvoiceNr']} is already entered")
    else:
        if record["ExternalId"] and any(r["ExternalId"] == record["ExternalId"]
                                        for k, r in state.records["EInvoiceInVc"].items() if k != key):
            warnings.append(f"ExternalId {record['ExternalId']} is already on another incoming e-invoice")
    if record["DueDate"] and record["DueDate"] < record["InvDate"]:
        warnings.append("Due date is before the invoice date")
    return warnings


CHECKS = {"ObjVc": check_object, "VIVc": check_purchase, "EInvoiceInVc": check_purchase}


# -- XML ---------------------------------------------------------------------------------------
def sub(parent: ET.Element, tag: str, text: str = "", **attrib: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrib)
    node.text = text
    return node


def xml_response(root: ET.Element, status: int = 200, headers: dict | None = None) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(body, status_code=status, media_type="application/xml; charset=utf-8", headers=headers)


def error_response(status: int, code: str, description: str, field_name: str = "", row: str = "",
                   headers: dict | None = None) -> Response:
    root = ET.Element("data")
    ET.SubElement(root, "error", {"code": code, "description": description, "row": row, "field": field_name})
    return xml_response(root, status, headers)


def record_url(company: str, register: str, key: str) -> str:
    return f"/api/{company}/{register}/{quote(key, safe='')}"


def record_element(reg: Register, record: dict, company: str, wanted: set[str] | None) -> ET.Element:
    url = record_url(company, reg.name, record[reg.key])
    node = ET.Element(reg.name, {"sequence": str(record["sequence"]), "url": url})
    for name in reg.fields:
        if wanted is None or name in wanted:
            sub(node, name, record[name])
    if reg.rows:
        row_fields = [f for f in reg.rows if wanted is None or "rows" in wanted or f in wanted]
        if row_fields:
            rows = sub(node, "rows")
            for number, row in enumerate(record["rows"]):
                row_node = sub(rows, "row", rownumber=str(number))
                for name in row_fields:
                    sub(row_node, name, row[name])
    if record["attachments"] and (wanted is None or "Attachments" in wanted):
        attachments = sub(node, "Attachments")
        for a in record["attachments"]:
            ET.SubElement(attachments, "Attachment", attachment_attrib(a, company, reg.name, record[reg.key]))
    return node


def written_element(reg: Register, record: dict) -> ET.Element:
    """A write's answer: only the fields (and row fields) with non-default data, no attributes."""
    def default(name: str, kind: str) -> str:
        return reg.defaults.get(name, "0" if kind == "flag" else "")

    node = ET.Element(reg.name)
    for name, kind in reg.fields.items():
        if record[name] != default(name, kind):
            sub(node, name, record[name])
    if reg.rows and record["rows"]:
        rows = sub(node, "rows")
        for number, row in enumerate(record["rows"]):
            row_node = sub(rows, "row", rownumber=str(number))
            for name, kind in reg.rows.items():
                if row[name] not in ("", "0" if kind == "flag" else ""):
                    sub(row_node, name, row[name])
    return node


def attachment_attrib(a: dict, company: str, register: str, key: str) -> dict:
    url = f"/api/{company}/Attach/{register}/{quote(key, safe='')}/{a['nr']}"
    return {"nr": str(a["nr"]), "filename": a["filename"], "size": str(len(a["data"])),
            "contenttype": a["content_type"], "url": url}


def parse_commands(raw: bytes, query) -> tuple[dict, dict[int, dict]]:
    """``set_field.F=v`` and ``set_row_field.N.F=v`` from the query string and the form body."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SBError(E_FORMAT, "The request body is not UTF-8") from None
    fields: dict[str, str] = {}
    rows: dict[int, dict] = {}
    for name, value in [*query.multi_items(), *parse_qsl(text, keep_blank_values=True)]:
        if name.startswith("set_field."):
            fields[name[len("set_field."):]] = value
        elif name.startswith("set_row_field."):
            match = ROW_FIELD.fullmatch(name)
            if not match:
                raise SBError(E_PARAM, f"Malformed command {name}")
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif name.startswith("set_"):
            raise SBError(E_PARAM, f"Unknown command {name}")
    return fields, rows


# -- app ---------------------------------------------------------------------------------------
def create_app(config: dict | None = None) -> FastAPI:
    """Build the Standard Books simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("standard_books", lambda status, category, message: error_response(status, category, message))
    sim.config.update(DEFAULT_CONFIG | (config or {}))
    state = StandardBooksState()
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)
    app = sim.app

    def authenticate(request: Request, company: str) -> None:
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        good = (kind.lower() == "basic"
                and secrets.compare_digest(user.encode(), str(sim.config["username"]).encode())
                and secrets.compare_digest(password.encode(), str(sim.config["password"]).encode()))
        if not good:
            raise SBError(E_AUTH, "Invalid username or password", status=401)
        if company != str(sim.config["company"]):
            raise SBError(E_COMPANY, f"Company {company} does not exist", status=404)

    def register_of(name: str) -> Register:
        if name not in REGISTERS:
            raise SBError(E_REGISTER, f"Register {name} does not exist", status=404)
        return REGISTERS[name]

    def data(register: str) -> ET.Element:
        return ET.Element("data", {"register": register, "sequence": str(state.sequence),
                                   "systemversion": str(sim.config["systemversion"])})

    def refuse(error: SBError) -> Response:
        headers = {"WWW-Authenticate": 'Basic realm="Standard Books"'} if error.status == 401 else None
        if error.status == 405:
            headers = {"Allow": "GET, POST, PATCH"}
        return error_response(error.status, error.code, error.description, error.field, error.row, headers)

    def not_allowed(method: str) -> SBError:
        return SBError(E_METHOD, f"Method {method} is not supported", status=405)

    async def handle(request: Request, company: str, register: str, key: str | None) -> Response:
        raw = await request.body()
        with sim.lock:
            try:
                authenticate(request, company)
                reg = register_of(register)
                if request.method == "GET":
                    root = data(reg.name)
                    fields = request.query_params.get("fields")
                    wanted = {f.strip() for f in fields.split(",") if f.strip()} if fields else None
                    records = [state.get(reg.name, key)] if key is not None else state.select(reg, request.query_params)
                    root.extend(record_element(reg, r, company, wanted) for r in records)
                    return xml_response(root)
                if (request.method, key is None) not in (("POST", True), ("PATCH", False)):
                    raise not_allowed(request.method)
                fields, rows = parse_commands(raw, request.query_params)
                record, warnings = state.write(reg, key, fields, rows)
                root = data(reg.name)
                root.set("url", record_url(company, reg.name, record[reg.key]))
                for warning in warnings:
                    ET.SubElement(root, "message", {"description": warning})
                root.append(written_element(reg, record))
                return xml_response(root)
            except SBError as error:
                return refuse(error)

    async def handle_attach(request: Request, company: str, register: str, key: str, nr: str | None) -> Response:
        raw = await request.body()
        with sim.lock:
            try:
                authenticate(request, company)
                reg = register_of(register)
                record = state.get(reg.name, key)
                if request.method == "GET" and nr is not None:
                    if not nr.isdigit() or int(nr) >= len(record["attachments"]):
                        raise SBError(E_NOT_FOUND, f"Attachment {nr} does not exist", status=404)
                    a = record["attachments"][int(nr)]
                    disposition = f"attachment; filename*=UTF-8''{quote(a['filename'])}"
                    return Response(a["data"], media_type=a["content_type"],
                                    headers={"Content-Disposition": disposition})
                root = data("Attach")
                if request.method == "GET":
                    for a in record["attachments"]:
                        ET.SubElement(root, "Attach", attachment_attrib(a, company, reg.name, key))
                    return xml_response(root)
                if request.method != "POST" or nr is not None:
                    raise not_allowed(request.method)
                content_type = request.headers.get("content-type", "").split(";")[0].strip()
                a = state.attach(reg.name, key, request.query_params.get("filename", ""), content_type, raw)
                root.set("sequence", str(state.sequence))
                ET.SubElement(root, "Attach", attachment_attrib(a, company, reg.name, key))
                return xml_response(root)
            except SBError as error:
                return refuse(error)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    @app.api_route("/api/{company}/Attach/{register}/{key}", methods=methods)
    async def attachments(company: str, register: str, key: str, request: Request) -> Response:
        return await handle_attach(request, company, register, key, None)

    @app.api_route("/api/{company}/Attach/{register}/{key}/{nr}", methods=methods)
    async def attachment(company: str, register: str, key: str, nr: str, request: Request) -> Response:
        return await handle_attach(request, company, register, key, nr)

    @app.api_route("/api/{company}/{register}", methods=methods)
    async def register_list(company: str, register: str, request: Request) -> Response:
        return await handle(request, company, register, None)

    @app.api_route("/api/{company}/{register}/{key}", methods=methods)
    async def register_record(company: str, register: str, key: str, request: Request) -> Response:
        return await handle(request, company, register, key)

    return app


DEMO_SEED: dict = {
    "OTVc": [
        {"Code": "DEP", "Comment": "Departments"},
        {"Code": "PRJ", "Comment": "Projects"},
    ],
    "ObjVc": [
        {"Code": "ADM", "Comment": "Administration", "OTCode": "DEP"},
        {"Code": "SALES", "Comment": "Sales department", "OTCode": "DEP"},
        {"Code": "P100", "Comment": "Office renovation", "OTCode": "PRJ"},
        {"Code": "P099", "Comment": "Old warehouse project", "OTCode": "PRJ", "Closed": "1"},
    ],
    "AccVc": [
        {"AccNumber": "2310", "Comment": "Accounts payable", "AccType": "1"},
        {"AccNumber": "4000", "Comment": "Materials", "AccType": "4"},
        {"AccNumber": "4100", "Comment": "Services purchased", "AccType": "4"},
        {"AccNumber": "4200", "Comment": "Rent", "AccType": "4"},
        {"AccNumber": "4300", "Comment": "Office supplies", "AccType": "4"},
        {"AccNumber": "4999", "Comment": "Old costs (do not use)", "AccType": "4", "blockedFlag": "1"},
    ],
    "CUVc": [
        {"Code": "1001", "Name": "Klient AS", "InvAddr0": "Narva mnt 5", "InvAddr1": "10117 Tallinn",
         "InvAddr2": "Estonia", "eMail": "arved@klient.ee", "VATNr": "EE100000001", "CustCat": "DOM",
         "CUType": "1", "VEType": "0"},
        {"Code": "2001", "Name": "Ehitus & Remont OÜ", "InvAddr0": "Pärnu mnt 10", "InvAddr1": "10148 Tallinn",
         "InvAddr2": "Estonia", "Phone": "+372 600 1001", "eMail": "arved@ehitusremont.ee",
         "VATNr": "EE100000002", "CUType": "0", "VEType": "1"},
        {"Code": "2002", "Name": "Šveitsi Õlitööstus Jäätmekäitlus Žürii AS", "InvAddr0": "Tähe 4",
         "InvAddr1": "50103 Tartu", "InvAddr2": "Estonia", "eMail": "raamatupidamine@olitoostus.ee",
         "VATNr": "EE100000003", "CUType": "0", "VEType": "1"},
        {"Code": "2003", "Name": "Kontoritarbed OÜ", "InvAddr0": "Ringtee 2", "InvAddr1": "50105 Tartu",
         "eMail": "info@kontoritarbed.ee", "VATNr": "EE100000004", "CUType": "0", "VEType": "1"},
    ],
}
