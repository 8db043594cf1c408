"""Netvisor simulator (XML over HTTP), written from the vendor's public contract: Netvisor's support
articles and the answers ``netvisor-api-client`` recorded from Netvisor (its tests' data, in
../shared/reference/vendor/netvisor/heltti-tests-data). Every answer has the elements and nesting
of those recordings, including the empty answers (``getproduct`` / ``getsalesinvoice`` /
``getpurchaseinvoice`` of an unknown key answer OK with an empty element; ``getcustomer`` refuses).

Covers authentication (HMACSHA256 MAC, unique TransactionId), the response envelope, customers,
products, dimensions, sales invoices, workday records, travel expenses, purchase invoices and payroll
ratios (``payrollratiolist.nv``, from the second public client's interface and method:
../shared/reference/vendor/netvisor/rantalainen/src/interfaces/payroll.ts).
Choices where the contract is silent (each one in the README's "assumed, verify first" table):

* a TransactionId is remembered once its request was carried out (a refused or failed request may be
  sent again with the same id); a repeat is ``REQUEST_NOT_UNIQUE``;
* a duplicate customer or product code is ``DUPLICATE_DATA``; customer codes may be alphanumeric
  (a numeric rule is an integration's own setting); ``<InternalIdentifier type="automatic"/>`` takes
  max numeric code + 1;
* ``changedsince`` and the stored modification times are local times of ``config["timezone"]``;
* decimals are written with a comma and read with a comma or a dot;
* adds reply with ``InsertedDataIdentifier``; edits and dimension items reply with the status only;
* ``getpurchaseinvoice`` without ``version=2`` puts every line's dimensions in one
  ``PurchaseInvoiceLineDimensions`` after the lines, as the recording shows;
* injected faults (``/_sim/faults``) answer with their own HTTP status, whatever
  ``UseHTTPResponseStatusCodes`` says.

Admin seed (``POST /_sim/seed``)::

    {"customers": [{"code", "name", "business_id", "name_extension", "street_address", "city",
                    "post_number", "country", "email", "is_active", "modified" (optional ISO)}],
     "products": [{"code", "name", "unit_price", "unit", "vat_percent", "product_group", "is_active"}],
     "dimensions": [{"name": "Projects", "items": ["P1", ...]}],
     "employees": [{"number", "name"}], "wage_types": [names a travel expense line's ratio may carry],
     "purchase_invoices": [{"number", "date", "vendor", "vendor_code", "vendor_business_id", "status",
                            "lines": [{"quantity", "unit_price", "vat_percent", "description",
                                       "product_code", "dimensions": [{"name", "item"}]}]}],
     "payroll_ratios": [{"source" (default collectorratiolines), "number" (optional, as in the interface),
                         "names": {"fi", "en", "se"}}]}

returns the Netvisor keys: ``{"customers": [k...], "products": [k...],
"dimensions": [{"key": k, "items": [k...]}], "employees": [...], "purchase_invoices": [k...]}``. ``GET /_sim/state`` dumps the same shape with
``key`` and ``modified`` added (dimension items as dicts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from fastapi import FastAPI, Request
from starlette.responses import Response

from include.simulators._common import Simulator

DEFAULT_CONFIG = {
    "customer_id": "ERPB-DEMO",
    "customer_key": "demo-customer-key",
    "partner_id": "ERPB",
    "partner_key": "demo-partner-key",
    "organisation_id": "1234567-8",
    "timezone": "Europe/Helsinki",
}


def _days_ago(days: int) -> str:
    """A demo date relative to when the simulator starts."""
    return datetime.fromordinal(datetime.now().toordinal() - days).date().isoformat()


DEMO_SEED = {
    "customers": [
        {"code": "1001", "name": "Oy Demo Ab", "business_id": "1234567-8",
         "street_address": "Mannerheimintie 1", "city": "Helsinki", "post_number": "00100",
         "country": "FI", "email": "billing@demo.fi"},
        {"code": "1002", "name": "Esimerkki Tmi", "business_id": "7654321-0",
         "street_address": "Hämeenkatu 5", "city": "Tampere", "post_number": "33100",
         "country": "FI", "email": "info@esimerkki.fi"},
        {"code": "1003", "name": "Nordic Test AB", "business_id": "SE556677889901",
         "city": "Stockholm", "country": "SE", "is_active": False},
    ],
    "products": [
        {"code": "CONSULT", "name": "Consulting hour", "unit_price": "120.00", "unit": "h",
         "vat_percent": "25.5", "product_group": "Services"},
        {"code": "LICENSE", "name": "Software licence", "unit_price": "49.90", "unit": "pcs",
         "vat_percent": "25.5", "product_group": "Licences"},
        {"code": "CONS-H", "name": "Consulting hour", "unit_price": "120.00", "unit": "h",
         "vat_percent": "25.5", "product_group": "Severa"},
        {"code": "LIC-Y", "name": "Annual licence", "unit_price": "1200.00", "unit": "pcs",
         "vat_percent": "25.5", "product_group": "Severa"},
    ],
    "dimensions": [
        {"name": "Projects", "items": ["P1000", "P1001"]},
        {"name": "Cost centres", "items": ["Sales", "Development"]},
    ],
    # what the Severa demo's documents need here: its people, wage types and product codes, and
    # approved purchase invoices for the open Severa project 2001 (dated within the flow's default range)
    "employees": [{"number": "101", "name": "Maija Virtanen"}, {"number": "102", "name": "Matti Meikäläinen"}],
    "wage_types": ["1300", "1502"],
    # the workday record types (collector ratios) a company's payroll offers: ordinary hours, the Severa
    # demo's overtime class 2, and the absences the demo's vacation may be mapped to
    "payroll_ratios": [
        {"number": "1", "names": {"fi": "Tuntityö", "en": "Hourly work"}},
        {"number": "2", "names": {"fi": "Ylityö 50 %", "en": "Overtime 50 %"}},
        {"number": "20", "names": {"fi": "Vuosiloma", "en": "Annual holiday"}},
        {"number": "21", "names": {"fi": "Sairausloma", "en": "Sick leave"}},
    ],
    "purchase_invoices": [
        {"number": "PI-501", "date": _days_ago(6), "vendor": "Hotelli Helsinki Oy", "lines": [
            {"quantity": "2", "unit_price": "89.90", "description": "Hotel nights, go-live", "product_code": "",
             "dimensions": [{"name": "Projekti", "item": "2001 ERP rollout"}]}]},
        {"number": "PI-502", "date": _days_ago(3), "vendor": "Ohjelmistotalo Oy", "lines": [
            {"quantity": "1", "unit_price": "400.00", "description": "Licence for re-billing", "product_code": "LIC-Y",
             "dimensions": [{"name": "Projekti", "item": "2001 ERP rollout"}]},
            {"quantity": "3", "unit_price": "60.00", "description": "Subcontracted hours", "product_code": "CONS-H",
             "dimensions": [{"name": "Projekti", "item": "2001 ERP rollout"}]}]},
    ],
}

AUTH = "X-Netvisor-Authentication-"
MAC_HEADERS = [  # in the order they enter the MAC message, after the URL
    AUTH + "Sender", AUTH + "CustomerId", AUTH + "Timestamp", "X-Netvisor-Interface-Language",
    "X-Netvisor-Organisation-ID", AUTH + "TransactionId", AUTH + "TimestampUnix",
]
REQUIRED_HEADERS = MAC_HEADERS + [AUTH + "PartnerId", AUTH + "MAC", AUTH + "MACHashCalculationAlgorithm"]
LANGUAGES = {"FI", "EN", "SE"}
HTTP_STATUS = {
    "AUTHENTICATION_FAILED": 403, "SERVICE_ACCESS_ERROR": 403,
    "TECHNICAL_ERROR": 500, "SYSTEM_MAINTANANCE": 503,
}
# payrollratiolist.nv's documented values of ``source``, in the interface's order
RATIO_SOURCES = ("tripexpensecustomlines", "taxingrules", "collectorratiolines", "userparameters",
                 "companyparameters", "userformula", "tabledata", "foreclosure", "lowsalarysupport")
MAX_CODES, MAX_IDS, MAX_CUSTOMER_NAME, MAX_PRODUCT_NAME = 100, 500, 250, 200
DECIMAL = re.compile(r"-?[0-9]+([.,][0-9]+)?")
CHANGED_SINCE = "%Y-%m-%dT%H:%M:%S"

# request element (lower case) -> record field
CUSTOMER_FIELDS = {
    "internalidentifier": "code", "externalidentifier": "business_id", "name": "name",
    "nameextension": "name_extension", "streetaddress": "street_address", "city": "city",
    "postnumber": "post_number", "country": "country", "email": "email", "isactive": "is_active",
}
CUSTOMER_DEFAULTS = {field: "" for field in CUSTOMER_FIELDS.values()} | {"is_active": True, "group": ""}
# what getcustomer answers beside the fields above, in Netvisor's order; kept as sent (lower-case tags)
CUSTOMER_MORE_BASE = ["PhoneNumber", "FaxNumber", "EmailInvoicingAddress", "HomePageUri"]
CUSTOMER_BLOCKS = {
    "CustomerFinvoiceDetails": ["FinvoiceAddress", "FinvoiceRouterCode"],
    "CustomerDeliveryDetails": ["DeliveryName", "DeliveryStreetAddress", "DeliveryCity", "DeliveryPostNumber"],
    "CustomerContactDetails": ["ContactPerson", "ContactPersonEmail", "ContactPersonPhone"],
    "CustomerAdditionalInformation": ["Comment", "ReferenceNumber", "BalanceLimit", "YourDefaultReference",
                                      "DefaultTextBeforeInvoiceLines", "DefaultTextAfterInvoiceLines"],
}
REQUEST_ALIASES = {"customerreferencenumber": "referencenumber"}  # customer.nv name -> getcustomer name
PRODUCT_FIELDS = {
    "productcode": "code", "productgroup": "product_group", "name": "name",
    "unitprice": "unit_price", "unit": "unit", "isactive": "is_active",
}
PRODUCT_DEFAULTS = {"code": "", "product_group": "", "unit": "", "is_active": True}
# what getproduct answers beside the fields above (kept as sent), and Netvisor's defaults for them
PRODUCT_MORE_BASE = ["Description", "UnitWeight", "PurchasePrice", "TariffHeading", "ComissionPercentage"]
PRODUCT_ACCOUNTS = {"DefaultDomesticAccountNumber": "3000", "DefaultEuAccountNumber": "3360",
                    "DefaultOutsideEUAccountNumber": "3380"}
PRODUCT_INVENTORY = ["InventoryAmount", "InventoryMidPrice", "InventoryValue", "InventoryReservedAmount",
                     "InventoryOrderedAmount"]


class NetvisorError(ValueError):
    """A refusal, rendered as ``CATEGORY :: message`` in the FAILED envelope."""

    def __init__(self, category: str, message: str, http_status: int | None = None):
        super().__init__(f"{category} :: {message}")
        self.category, self.message = category, message
        self.http_status = http_status or HTTP_STATUS.get(category, 400)


def invalid(detail: str) -> NetvisorError:
    """Netvisor's usual refusal of a request's content."""
    return NetvisorError("INVALID_DATA", f"Data form incorrect:. {detail}")


# -- XML helpers ---------------------------------------------------------------------------
def sub(parent: ET.Element, tag: str, text: object = "", **attrib: str) -> ET.Element:
    """Append ``<tag attrib>text</tag>`` to parent and return it."""
    element = ET.SubElement(parent, tag, attrib)
    element.text = text if isinstance(text, str) else fmt(text)
    return element


def element(tag: str, fields: list[tuple[str, object]]) -> ET.Element:
    """Build ``<tag>`` with one child per (name, value); an Element value is nested as is."""
    node = ET.Element(tag)
    for name, value in fields:
        if isinstance(value, ET.Element):
            node.append(value)
        else:
            sub(node, name, value)
    return node


def fmt(value: object) -> str:
    """Netvisor text of a value: comma decimals, 1/0 booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",") if value == round(value, 2) else str(value).replace(".", ",")
    return str(value)


def envelope(children: list[ET.Element], error: NetvisorError | None, now: datetime) -> bytes:
    root = ET.Element("Root")
    status = sub(root, "ResponseStatus")
    sub(status, "Status", "FAILED" if error else "OK")
    if error:
        sub(status, "Status", f"{error.category} :: {error.message}")
    sub(status, "TimeStamp", f"{now.day}.{now.month}.{now.year} {now:%H:%M:%S}")
    root.extend(children)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>' + body


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def parse_body(body: bytes) -> ET.Element:
    """Parse a request body safely (no DTD, no entities) with tags lower-cased."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise invalid("DTDs and entities are not allowed")
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise invalid(f"{exc}")
    for node in root.iter():
        node.tag = node.tag.lower()
        node.attrib = {k.lower(): v for k, v in node.attrib.items()}
    if root.tag != "root":
        raise invalid("Root element must be <root>")
    return root


def child(parent: ET.Element, path: str) -> ET.Element:
    node = parent.find(path)
    if node is None:
        raise invalid(f"Element {path.split('/')[-1]} missing")
    return node


def text(node: ET.Element | None) -> str | None:
    """Stripped text of an element, None when the element is absent."""
    return None if node is None else (node.text or "").strip()


def parse_decimal(value: str, what: str) -> Decimal:
    if not DECIMAL.fullmatch(value):
        raise invalid(f"{what} is not a decimal: {value}")
    return Decimal(value.replace(",", "."))


def parse_bool(value: str, what: str) -> bool:
    lowered = value.lower()
    if lowered not in {"1", "0", "true", "false"}:
        raise invalid(f"{what} must be 1 or 0: {value}")
    return lowered in {"1", "true"}


def parse_int(value: str | None, what: str) -> int:
    if not value or not value.isdigit():
        raise invalid(f"{what} must be a number: {value}")
    return int(value)


# -- the simulator -------------------------------------------------------------------------
class NetvisorState:
    """In-memory Netvisor data: customers, products, product groups, dimensions."""

    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.customers: dict[int, dict] = {}
        self.customer_codes: dict[str, int] = {}  # code -> key: a code is unique, checked on every save
        self.customer_groups: dict[str, int] = {}
        self.products: dict[int, dict] = {}
        self.product_groups: dict[str, int] = {}
        self.dimensions: list[dict] = []
        self.transaction_ids: set[str] = set()
        self.keys = count(1)
        self.sales_invoices: dict[int, dict] = {}
        self.employees: dict[str, dict] = {}  # employee number -> {number, name}
        self.workdays: dict[tuple[str, str, str], list[dict]] = {}  # (employee, date, record type) -> hours
        self.wage_types: set[str] = set()  # names a travel expense line's <ratio type="name"> may carry
        self.trip_expenses: dict[int, dict] = {}
        self.purchase_invoices: dict[int, dict] = {}
        self.payroll_ratios: list[dict] = []  # {key, source, number, names: {language: name}}

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.config["timezone"])).replace(tzinfo=None)

    # customers
    def save_customer(self, changes: dict, key: int | None = None) -> int:
        """Validate and store a customer add (key None) or edit; return its key."""
        if key is not None and key not in self.customers:
            raise invalid(f"Customer not found with Netvisor identifier: {key}")
        record = dict(self.customers[key]) if key is not None else dict(CUSTOMER_DEFAULTS, details={})
        record.update(changes, details={**record["details"], **changes.get("details", {})})
        if record["code"] == "automatic":
            record["code"] = str(1 + max((int(c["code"]) for c in self.customers.values()
                                          if c["code"].isdigit()), default=0))
        self._check_customer(record, key)
        if record["group"] and record["group"] not in self.customer_groups:
            self.customer_groups[record["group"]] = len(self.customer_groups) + 1
        if key is not None:
            self.customer_codes.pop(self.customers[key]["code"], None)
        key = key if key is not None else next(self.keys)
        self.customers[key] = record | {"key": key, "modified": self.now()}
        if record["code"]:
            self.customer_codes[record["code"]] = key
        return key

    def _check_customer(self, record: dict, key: int | None) -> None:
        code, name = record["code"], record["name"]
        if not name:
            raise invalid("Customer name is required")
        if len(name) > MAX_CUSTOMER_NAME:
            raise NetvisorError("INVALID_DATA_SIZE", f"Customer name exceeds {MAX_CUSTOMER_NAME} characters")
        if code and self.customer_codes.get(code, key) != key:
            raise NetvisorError("DUPLICATE_DATA", f"Customer code {code} is already in use")
        if record["country"] and not re.fullmatch(r"[A-Z]{2}", record["country"]):
            raise invalid(f"Invalid ISO-3166 country: {record['country']}")

    # products
    def save_product(self, changes: dict, key: int | None = None) -> int:
        """Validate and store a product add (key None) or edit; return its key."""
        if key is not None and key not in self.products:
            raise invalid(f"Product not found with Netvisor identifier: {key}")
        record = dict(self.products[key]) if key is not None else dict(PRODUCT_DEFAULTS, details={})
        record.update(changes, details={**record["details"], **changes.get("details", {})})
        for field in ("name", "unit_price", "vat_percent"):
            if record.get(field) in (None, ""):
                raise invalid(f"Product {field} is required")
        if len(record["name"]) > MAX_PRODUCT_NAME:
            raise NetvisorError("INVALID_DATA_SIZE", f"Product name exceeds {MAX_PRODUCT_NAME} characters")
        code = record["code"]
        if code and any(p["code"] == code for k, p in self.products.items() if k != key):
            raise NetvisorError("DUPLICATE_DATA", f"Product code {code} is already in use")
        if record["product_group"] and record["product_group"] not in self.product_groups:
            self.product_groups[record["product_group"]] = len(self.product_groups) + 1
        key = key if key is not None else next(self.keys)
        self.products[key] = record | {"key": key, "modified": self.now()}
        return key

    # dimensions
    def heading(self, name: str) -> dict | None:
        return next((heading for heading in self.dimensions if heading["name"] == name), None)

    def add_heading(self, name: str) -> dict:
        heading = {"key": next(self.keys), "name": name, "is_hidden": False, "items": []}
        self.dimensions.append(heading)
        return heading

    def add_dimension_item(self, name: str, item: str, father_id: int | None = None,
                           is_hidden: bool = False) -> int:
        if not name or not item:
            raise invalid("Dimension name and item are required")
        heading = self.heading(name)
        items = heading["items"] if heading else []
        if any(i["name"] == item for i in items):
            raise NetvisorError("DUPLICATE_DATA", f"Dimension item {item} already exists in {name}")
        level = self._father(items, father_id)["level"] + 1 if father_id else 1
        heading = heading or self.add_heading(name)
        key = next(self.keys)
        heading["items"].append({"key": key, "name": item, "is_hidden": is_hidden,
                                 "level": level, "father_id": father_id})
        return key

    def edit_dimension_item(self, name: str, old_item: str, changes: dict) -> int:
        heading = self.heading(name)
        if heading is None:
            raise invalid(f"Dimension not found: {name}")
        found = [i for i in heading["items"] if i["name"] == old_item]
        if not found:
            raise invalid(f"Dimension item not found: {old_item}")
        item = found[0]
        new_name = changes.get("name") or item["name"]
        if any(i["name"] == new_name for i in heading["items"] if i is not item):
            raise NetvisorError("DUPLICATE_DATA", f"Dimension item {new_name} already exists in {name}")
        if changes.get("father_id"):
            changes["level"] = self._father(heading["items"], changes["father_id"])["level"] + 1
        item.update(changes, name=new_name)
        return item["key"]

    def dimension_keys(self, name: str, item: str) -> tuple[int, int]:
        """(heading key, item key) of a dimension item, created when missing (as Netvisor does)."""
        heading = self.heading(name)
        found = next((i for i in heading["items"] if i["name"] == item), None) if heading else None
        key = found["key"] if found else self.add_dimension_item(name, item)
        return self.heading(name)["key"], key

    @staticmethod
    def _father(items: list[dict], father_id: int) -> dict:
        for item in items:
            if item["key"] == father_id:
                return item
        raise invalid(f"Father item not found: {father_id}")

    # admin
    def seed(self, payload: dict) -> dict:
        customers = [self.save_customer(_customer_seed(c)) for c in payload.get("customers", [])]
        products = [self.save_product(_product_seed(p)) for p in payload.get("products", [])]
        dimensions = []
        for dimension in payload.get("dimensions", []):
            items = [self.add_dimension_item(dimension["name"], item) for item in dimension.get("items", [])]
            heading = self.heading(dimension["name"]) or self.add_heading(dimension["name"])
            dimensions.append({"key": heading["key"], "items": items})
        for seeded, record in zip(payload.get("customers", []), customers):
            if seeded.get("modified"):
                self.customers[record]["modified"] = datetime.fromisoformat(seeded["modified"])
        self.wage_types.update(str(code) for code in payload.get("wage_types", []))
        purchase_keys = []
        for invoice in payload.get("purchase_invoices", []):
            key = next(self.keys)
            lines = [{"quantity": Decimal(str(line.get("quantity", "1"))), "unit_price": Decimal(str(line["unit_price"])),
                      "vat_percent": Decimal(str(line.get("vat_percent", "25.5"))),
                      "description": line.get("description", ""), "product_code": line.get("product_code", ""),
                      "dimensions": line.get("dimensions", [])} for line in invoice.get("lines", [])]
            for line in lines:
                for dimension in line["dimensions"]:
                    self.dimension_keys(dimension["name"], dimension["item"])
            net = sum((l["quantity"] * l["unit_price"]).quantize(Decimal("0.01")) for l in lines)
            date = invoice.get("date", "2026-03-01")
            self.purchase_invoices[key] = {
                "key": key, "number": str(invoice["number"]), "date": date,
                "due_date": (datetime.fromisoformat(date) + timedelta(days=14)).date().isoformat(),
                "reference_number": reference_number(str(invoice["number"])),
                "vendor": invoice.get("vendor", ""), "vendor_code": invoice.get("vendor_code", ""),
                "vendor_business_id": invoice.get("vendor_business_id", ""),
                "status": invoice.get("status", "approved"), "lines": lines,
                "sum": sum((l["quantity"] * l["unit_price"] * (100 + l["vat_percent"]) / 100).quantize(Decimal("0.01"))
                           for l in lines), "net": net}
            purchase_keys.append(key)
        for employee in payload.get("employees", []):
            self.employees[str(employee["number"])] = {"number": str(employee["number"]),
                                                       "name": employee.get("name", "")}
        for ratio in payload.get("payroll_ratios", []):
            source = ratio.get("source", "collectorratiolines")
            if source not in RATIO_SOURCES:
                raise ValueError(f"payroll ratio source {source!r} is not one of {', '.join(RATIO_SOURCES)}")
            self.payroll_ratios.append({"key": next(self.keys), "source": source, "names": dict(ratio["names"]),
                                        "number": None if ratio.get("number") is None else str(ratio["number"])})
        return {"customers": customers, "products": products, "dimensions": dimensions,
                "employees": sorted(self.employees), "purchase_invoices": purchase_keys}

    def dump(self) -> dict:
        def plain(record: dict) -> dict:
            return {k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v)
                    for k, v in record.items()}
        return {
            "customers": [plain(c) for c in self.customers.values()],
            "products": [plain(p) for p in self.products.values()],
            "dimensions": self.dimensions,
            "transaction_ids": len(self.transaction_ids),
            "sales_invoices": [_plain_deep(i) for i in self.sales_invoices.values()],
            "employees": list(self.employees.values()),
            "trip_expenses": [_plain_deep(t) for t in self.trip_expenses.values()],
            "purchase_invoices": [_plain_deep(i) for i in self.purchase_invoices.values()],
            "payroll_ratios": self.payroll_ratios,
            "workdays": [{"employee": e, "date": d, "record_type": r, "hours": _plain_deep(h)}
                         for (e, d, r), h in sorted(self.workdays.items())],
        }


def _customer_seed(seed: dict) -> dict:
    fields = {field: str(seed.get(field, "")) for field in CUSTOMER_FIELDS.values() if field != "is_active"}
    return fields | {"is_active": bool(seed.get("is_active", True))}


def _product_seed(seed: dict) -> dict:
    return {
        "code": seed.get("code", ""), "name": seed.get("name", ""), "unit": seed.get("unit", ""),
        "product_group": seed.get("product_group", ""), "is_active": bool(seed.get("is_active", True)),
        "unit_price": Decimal(str(seed.get("unit_price", "0"))),
        "vat_percent": Decimal(str(seed.get("vat_percent", "25.5"))),
    }


# -- request handling ----------------------------------------------------------------------
class Call:
    """One vendor request: query parameters (lower-cased names), body and base URL."""

    def __init__(self, request: Request, body: bytes):
        self.params = {k.lower(): v for k, v in request.query_params.multi_items()}
        self.body = body
        self.base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    def xml(self) -> ET.Element:
        return parse_body(self.body)


def request_url(request: Request) -> str:
    """The URL as the client sent it: scheme://Host header + raw path + raw query."""
    scope = request.scope
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    url = f"{scope['scheme']}://{request.headers.get('host', '')}{path.decode('latin-1')}"
    return url + (f"?{query.decode('latin-1')}" if query else "")


def authenticate(request: Request, state: NetvisorState, config: dict) -> str:
    """Check the authentication headers and the MAC; returns the TransactionId, refused if already used."""
    headers = request.headers
    missing = [h for h in REQUIRED_HEADERS if not headers.get(h)]
    if missing:
        raise NetvisorError("AUTHENTICATION_FAILED", f"Missing header {missing[0]}")
    if headers[AUTH + "MACHashCalculationAlgorithm"].upper() != "HMACSHA256":
        raise NetvisorError("AUTHENTICATION_FAILED", "Unsupported MAC hash calculation algorithm")
    if headers[AUTH + "CustomerId"] != config["customer_id"]:
        raise NetvisorError("AUTHENTICATION_FAILED", "Unknown customer id")
    if headers[AUTH + "PartnerId"] != config["partner_id"]:
        raise NetvisorError("AUTHENTICATION_FAILED", "Unknown partner id")
    if headers["X-Netvisor-Organisation-ID"] != config["organisation_id"]:
        raise NetvisorError("AUTHENTICATION_FAILED", "Unknown organisation id")
    keys = [config["customer_key"], config["partner_key"]]
    message = "&".join([request_url(request)] + [headers[h] for h in MAC_HEADERS] + keys)
    expected = hmac.new("&".join(keys).encode("latin-1", "replace"),
                        message.encode("latin-1", "replace"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), headers[AUTH + "MAC"].lower().encode("latin-1", "replace")):
        raise NetvisorError("AUTHENTICATION_FAILED", "Invalid MAC")
    if headers["X-Netvisor-Interface-Language"].upper() not in LANGUAGES:
        raise NetvisorError("INVALID_DATA", "Unknown interface language")
    transaction_id = headers[AUTH + "TransactionId"]
    if transaction_id in state.transaction_ids:
        raise NetvisorError("REQUEST_NOT_UNIQUE", "Transaction id has already been used")
    return transaction_id


def inserted(key: int) -> list[ET.Element]:
    return [element("Replies", [("InsertedDataIdentifier", key)])]


def method_and_id(call: Call) -> int | None:
    """``method=add`` -> None, ``method=edit&id=N`` -> N."""
    method = call.params.get("method", "").lower()
    if method == "add":
        return None
    if method == "edit":
        return parse_int(call.params.get("id"), "id")
    raise invalid(f"Unknown method: {method}")


def saved(key: int, call: Call) -> list[ET.Element]:
    """An add answers the new key; an edit only its status (as recorded)."""
    return inserted(key) if call.params.get("method", "").lower() == "add" else []


def changed_since(call: Call) -> datetime | None:
    value = call.params.get("changedsince")
    if not value:
        return None
    try:
        return datetime.strptime(value, CHANGED_SINCE)
    except ValueError:
        raise invalid(f"Invalid changedsince: {value}")


def more(tags: list[str], values: dict, defaults: dict | None = None) -> list[tuple[str, object]]:
    """(tag, value) for elements kept as sent (lower-case keys), else their default or blank."""
    return [(tag, values.get(tag.lower(), (defaults or {}).get(tag, ""))) for tag in tags]


# customers
def customer_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    since, keyword = changed_since(call), call.params.get("keyword", "").lower()
    codes = [c.strip() for c in call.params.get("customercodelist", "").split(",") if c.strip()]
    if len(codes) > MAX_CODES:
        raise invalid(f"At most {MAX_CODES} customer codes allowed")
    listing = ET.Element("Customerlist")
    for key, c in sorted(state.customers.items()):
        if ((since and c["modified"] < since) or (codes and c["code"] not in codes)
                or (keyword and keyword not in c["name"].lower() and keyword not in c["code"].lower())):
            continue
        listing.append(element("Customer", [
            ("Netvisorkey", key), ("Name", c["name"]), ("Code", c["code"]),
            ("OrganisationIdentifier", c["business_id"]), ("Uri", f"{call.base}/getcustomer.nv?id={key}"),
        ]))
    return [listing]


def get_customer(state: NetvisorState, call: Call) -> list[ET.Element]:
    """``id=N``: one <Customer>; ``idlist=N,M``: the customers wrapped in <Customers>."""
    raw = call.params.get("idlist") or call.params.get("id")
    ids = [parse_int(i.strip(), "id") for i in (raw or "").split(",")]
    if len(ids) > MAX_IDS:
        raise invalid(f"At most {MAX_IDS} ids allowed")
    missing = [i for i in ids if i not in state.customers]
    if missing:
        raise invalid(f"Customer not found with Netvisor identifier: {missing[0]}")
    customers = [customer_element(state, state.customers[i]) for i in ids]
    if "idlist" in call.params:
        wrapper = ET.Element("Customers")
        wrapper.extend(customers)
        return [wrapper]
    return customers


def customer_element(state: NetvisorState, c: dict) -> ET.Element:
    base = element("CustomerBaseInformation", [
        ("NetvisorKey", c["key"]), ("InternalIdentifier", c["code"]), ("ExternalIdentifier", c["business_id"]),
        ("CustomerGroupNetvisorKey", state.customer_groups.get(c["group"], "")), ("CustomerGroupName", c["group"]),
        ("Name", c["name"]), ("NameExtension", c["name_extension"]), ("StreetAddress", c["street_address"]),
        ("City", c["city"]), ("PostNumber", c["post_number"]),
    ])
    sub(base, "Country", c["country"], type="ISO-3166")
    for tag, value in (more(CUSTOMER_MORE_BASE[:2], c["details"]) + [("Email", c["email"])]
                       + more(CUSTOMER_MORE_BASE[2:], c["details"]) + [("IsActive", c["is_active"])]):
        sub(base, tag, value)
    return element("Customer", [("", base)] + [("", element(block, more(tags, c["details"])))
                                               for block, tags in CUSTOMER_BLOCKS.items()])


def save_customer(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = method_and_id(call)
    customer = child(call.xml(), "customer")
    base = child(customer, "customerbaseinformation")
    changes: dict = {"details": {}}
    for node in base:
        value = text(node)
        field = CUSTOMER_FIELDS.get(node.tag)
        if field == "code" and node.get("type", "").lower() == "automatic":
            value = "automatic"
        if field == "is_active":
            if not value:
                continue  # a blank flag leaves it unchanged
            value = parse_bool(value, node.tag)
        if field:
            changes[field] = value
        elif node.tag == "customergroupname":
            changes["group"] = value
        else:
            changes["details"][node.tag] = value
    for block in customer:
        if block is not base:
            changes["details"].update({REQUEST_ALIASES.get(n.tag, n.tag): text(n) for n in block})
    return saved(state.save_customer(changes, key), call)


# products
def product_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    since, keyword = changed_since(call), call.params.get("keyword", "").lower()
    published = call.params.get("published", "1") != "0"
    unpublished = call.params.get("unpublished") == "1"
    listing = ET.Element("ProductList")
    for key, p in sorted(state.products.items()):
        if ((since and p["modified"] < since) or not (published if p["is_active"] else unpublished)
                or (keyword and keyword not in p["name"].lower() and keyword not in p["code"].lower())):
            continue
        listing.append(element("Product", [
            ("NetvisorKey", key), ("ProductCode", p["code"]), ("Name", p["name"]),
            ("UnitPrice", p["unit_price"]), ("Uri", f"{call.base}/getproduct.nv?id={key}"),
        ]))
    return [listing]


def get_product(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = parse_int(call.params.get("id"), "id")
    p = state.products.get(key)
    if p is None:
        return [ET.Element("Product")]  # as recorded: OK and an empty element
    base = element("ProductBaseInformation", [
        ("NetvisorKey", key), ("ProductCode", p["code"]), ("ProductGroup", p["product_group"]),
        ("Name", p["name"]), ("Description", p["details"].get("description", "")),
    ])
    sub(base, "UnitPrice", p["unit_price"], type="net")
    for tag, value in ([("Unit", p["unit"])] + more(PRODUCT_MORE_BASE[1:], p["details"])
                       + [("IsActive", p["is_active"]), ("IsSalesProduct", p["details"].get("issalesproduct", "1"))]):
        sub(base, tag, value)
    bookkeeping = element("ProductBookkeepingDetails", [("DefaultVatPercent", p["vat_percent"])]
                          + list(PRODUCT_ACCOUNTS.items()))
    inventory = element("ProductInventoryDetails", [(tag, Decimal("0.00")) for tag in PRODUCT_INVENTORY])
    return [element("Product", [("", base), ("", bookkeeping), ("", inventory)])]


def save_product(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = method_and_id(call)
    product = child(call.xml(), "product")
    base = child(product, "productbaseinformation")
    changes: dict = {"details": {}}
    for node in base:
        value, field = text(node), PRODUCT_FIELDS.get(node.tag)
        if field is None:
            changes["details"][node.tag] = value
        elif field == "unit_price":
            changes[field] = parse_decimal(value, node.tag) if value else value
        elif field == "is_active":
            if value:
                changes[field] = parse_bool(value, node.tag)
        else:
            changes[field] = value
    vat = text(product.find("productbookkeepingdetails/defaultvatpercentage"))
    if vat:
        changes["vat_percent"] = parse_decimal(vat, "defaultvatpercentage")
    price = base.find("unitprice")
    if price is not None and price.get("type", "net").lower() == "gross" and changes.get("unit_price"):
        vat_percent = changes.get("vat_percent") or state.products.get(key, {}).get("vat_percent", Decimal(0))
        net = changes["unit_price"] * 100 / (100 + vat_percent)
        changes["unit_price"] = net.quantize(Decimal("0.0001"))
    return saved(state.save_product(changes, key), call)


# dimensions
def dimension_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    show_hidden = call.params.get("showhidden") == "1"
    listing = ET.Element("DimensionNameList")
    for heading in state.dimensions:
        if heading["is_hidden"] and not show_hidden:
            continue
        details = ET.Element("DimensionDetails")
        for sort, item in enumerate(heading["items"]):
            if show_hidden or not item["is_hidden"]:
                details.append(element("DimensionDetail", [
                    ("Netvisorkey", item["key"]), ("Name", item["name"]),
                    ("IsHidden", str(item["is_hidden"])), ("Level", item["level"]),
                    ("Sort", sort), ("EndSort", sort), ("FatherID", item["father_id"] or 0),
                ]))
        listing.append(element("DimensionName", [
            ("Netvisorkey", heading["key"]), ("Name", heading["name"]),
            ("IsHidden", str(heading["is_hidden"])), ("LinkType", 0), ("", details),
        ]))
    return [listing]


def save_dimension_item(state: NetvisorState, call: Call) -> list[ET.Element]:
    method = call.params.get("method", "").lower()
    node = child(call.xml(), "dimensionitem")
    name, item = text(node.find("name")) or "", text(node.find("item")) or ""
    father = text(node.find("fatherid"))
    hidden = text(node.find("ishidden"))
    father_id = parse_int(father, "fatherid") if father else None
    if method == "add":
        is_hidden = bool(hidden) and parse_bool(hidden, "ishidden")
        state.add_dimension_item(name, item, father_id or None, is_hidden)
        return []
    if method == "edit":
        changes = {"name": item}
        if father_id:
            changes["father_id"] = father_id
        if hidden:
            changes["is_hidden"] = parse_bool(hidden, "ishidden")
        state.edit_dimension_item(name, text(node.find("olditem")) or "", changes)
        return []
    raise invalid(f"Unknown method: {method}")


# sales invoices. Choices where the contract is silent: the customer and each product must exist
# (INVALID_DATA, as Netvisor answers); a given <salesinvoicenumber> must be unique (DUPLICATE_DATA);
# a dimension item not yet in Netvisor is created on the fly; an invoice whose amount is negative is
# a credit note. Documented: a due date or the payment term's net days is required.
def _plain_deep(value):
    if isinstance(value, dict):
        return {k: _plain_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_deep(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def parse_date(value: str | None, what: str) -> str:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise invalid(f"{what} is not an ANSI date (YYYY-MM-DD): {value}") from None


def _find_customer(state: NetvisorState, node: ET.Element) -> dict:
    kind, value = node.get("type", "customer").lower(), text(node) or ""
    if kind == "netvisor":
        found = state.customers.get(int(value)) if value.isdigit() else None
        if found is None:
            raise invalid(f"Customer not found with Netvisor identifier: {value}")
        return found
    found = next((c for c in state.customers.values() if c["code"] == value), None)
    if found is None:
        raise invalid(f"Customer not found with customer code: {value}")
    return found


def _find_product(state: NetvisorState, node: ET.Element) -> dict:
    kind, value = node.get("type", "customer").lower(), text(node) or ""
    if kind == "netvisor":
        found = state.products.get(int(value)) if value.isdigit() else None
    else:
        found = next((p for p in state.products.values() if p["code"] == value), None)
    if found is None:
        raise invalid(f"Product not found with {'Netvisor identifier' if kind == 'netvisor' else 'product code'}: "
                      f"{value}")
    return found


def _dimensions(state: NetvisorState, parent: ET.Element) -> list[dict]:
    found = []
    for node in parent.findall("dimension"):
        name, item = text(node.find("dimensionname")) or "", text(node.find("dimensionitem")) or ""
        if not name or not item:
            raise invalid("Dimension name and item are required")
        state.dimension_keys(name, item)
        found.append({"name": name, "item": item})
    return found


def reference_number(base: str) -> str:
    """A Finnish reference number (7-3-1 check digit) for the digits of ``base``."""
    digits = "".join(c for c in base if c.isdigit()) or "1"
    total = sum(int(d) * (7, 3, 1)[i % 3] for i, d in enumerate(reversed(digits)))
    return digits + str((10 - total % 10) % 10)


def save_sales_invoice(state: NetvisorState, call: Call) -> list[ET.Element]:
    if call.params.get("method", "add").lower() != "add":
        raise invalid("Only method=add is simulated for sales invoices")
    node = child(call.xml(), "salesinvoice")
    number = text(node.find("salesinvoicenumber")) or ""
    if number and any(i["number"] == number for i in state.sales_invoices.values()):
        raise NetvisorError("DUPLICATE_DATA", f"Invoice number {number} is already in use")
    date = parse_date(text(child(node, "salesinvoicedate")), "salesinvoicedate")
    due = text(node.find("salesinvoiceduedate"))
    net_days = text(node.find("paymenttermnetdays"))
    if not due and not net_days:
        raise invalid("SalesInvoiceDueDate or PaymentTermNetDays is required")
    net_days = parse_int(net_days, "paymenttermnetdays") if net_days else None
    due = parse_date(due, "salesinvoiceduedate") if due else (
        datetime.fromisoformat(date) + timedelta(days=net_days)).date().isoformat()
    amount_node = child(node, "salesinvoiceamount")
    customer = _find_customer(state, child(node, "invoicingcustomeridentifier"))
    lines = []
    for line in node.findall("invoicelines/invoiceline/salesinvoiceproductline"):
        product = _find_product(state, child(line, "productidentifier"))
        vat = child(line, "productvatpercentage")
        accrual = line.find("accrual")
        lines.append({
            "product_code": product["code"], "product_key": product["key"],
            "name": text(line.find("productname")) or product["name"],
            "unit_price": parse_decimal(text(child(line, "productunitprice")) or "", "productunitprice"),
            "vat_percent": parse_decimal(text(vat) or "", "productvatpercentage"), "vat_code": vat.get("vatcode", ""),
            "quantity": parse_decimal(text(child(line, "salesinvoiceproductlinequantity")) or "",
                                      "salesinvoiceproductlinequantity"),
            "free_text": text(line.find("salesinvoiceproductlinefreetext")) or "",
            "dimensions": _dimensions(state, line),
            "accrual": None if accrual is None else {
                "start": parse_date(text(accrual.find("startdate")), "accrual startdate"),
                "end": parse_date(text(accrual.find("enddate")), "accrual enddate")},
        })
    if not lines:
        raise invalid("An invoice needs at least one invoice line")
    amount = parse_decimal(text(amount_node) or "", "salesinvoiceamount")
    key = next(state.keys)
    if not number:
        number = str(1 + max((int(i["number"]) for i in state.sales_invoices.values() if i["number"].isdigit()),
                             default=0))
    state.sales_invoices[key] = {
        "key": key, "number": number, "date": date, "due_date": due, "payment_term_days": net_days,
        "cash_discount_days": text(node.find("paymenttermcashdiscountdays")) or "",
        "cash_discount": text(node.find("paymenttermcashdiscount")) or "",
        "amount": amount, "currency": amount_node.get("iso4217currencycode", "EUR"),
        "currency_rate": amount_node.get("currencyrate", ""), "type": "creditnote" if amount < 0 else "invoice",
        "status": text(node.find("salesinvoicestatus")) or "unsent", "reference_number": reference_number(number),
        "customer_code": customer["code"], "customer_key": customer["key"],
        "our_reference": text(node.find("salesinvoiceourreference")) or "",
        "your_reference": text(node.find("salesinvoiceyourreference")) or "",
        "lines": lines, "modified": state.now(),
    }
    return inserted(key)


def sales_invoice_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    begin = call.params.get("begininvoicedate")
    end = call.params.get("endinvoicedate")
    above = int(call.params.get("invoicesabovenetvisorkey") or 0)
    listing = ET.Element("SalesInvoiceList")
    for key, i in sorted(state.sales_invoices.items()):
        if key <= above or (begin and i["date"] < parse_date(begin, "begininvoicedate")) or (
                end and i["date"] > parse_date(end, "endinvoicedate")):
            continue
        row = element("SalesInvoice", [
            ("NetvisorKey", key), ("InvoiceNumber", i["number"])])
        sub(row, "Invoicedate", i["date"], format="ansi")
        for name, value in [("InvoiceStatus", i["status"]), ("CustomerCode", i["customer_code"]),
                            ("CustomerName", state.customers[i["customer_key"]]["name"]),
                            ("ReferenceNumber", i["reference_number"]), ("InvoiceSum", i["amount"]),
                            ("OpenSum", i["amount"]), ("Uri", f"{call.base}/getsalesinvoice.nv?netvisorkey={key}")]:
            sub(row, name, value)
        listing.append(row)
    return [listing]


def _ansi(parent: ET.Element, tag: str, value: str) -> None:
    sub(parent, tag, value, format="ansi")


def get_sales_invoice(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = parse_int(call.params.get("netvisorkey"), "netvisorkey")
    i = state.sales_invoices.get(key)
    if i is None:
        return [ET.Element("SalesInvoice")]  # as recorded: OK and an empty element
    customer = state.customers[i["customer_key"]]
    details = customer["details"]
    invoice = element("SalesInvoice", [("SalesInvoiceNumber", i["number"])])
    for tag in ("SalesInvoiceDate", "SalesInvoiceEventDate"):
        _ansi(invoice, tag, i["date"])
    _ansi(invoice, "SalesInvoiceDueDate", i["due_date"])
    for tag in ("SalesInvoiceValueDate", "SalesInvoiceDeliveryDate"):
        _ansi(invoice, tag, i["date"])
    sub(invoice, "SalesInvoiceReferencenumber", i["reference_number"])
    sub(invoice, "SalesInvoiceAmount", i["amount"], iso4217currencycode=i["currency"],
        currencyrate=i["currency_rate"] or "1")
    sub(invoice, "SellerIdentifier", "", type="name")
    sub(invoice, "InvoiceStatus", i["status"].capitalize(), status=i["status"])
    for tag, value in [("SalesInvoiceFreeTextBeforeLines", ""), ("SalesInvoiceFreeTextAfterLines", ""),
                       ("SalesInvoiceOurReference", i["our_reference"]),
                       ("SalesInvoiceYourReference", i["your_reference"]), ("SalesInvoicePrivateComment", ""),
                       ("InvoicingCustomerName", customer["name"]),
                       ("InvoicingCustomerAddressline", customer["street_address"]),
                       ("InvoicingCustomerPostnumber", customer["post_number"]),
                       ("InvoicingCustomerTown", customer["city"])]:
        sub(invoice, tag, value)
    sub(invoice, "InvoicingCustomerCountryCode", customer["country"], **{"ISO-3166": customer["country"]})
    for tag, value in [("MatchPartialPaymentsByDefault", "No"),
                       ("DeliveryAddressName", details.get("deliveryname", "")),
                       ("DeliveryAddressLine", details.get("deliverystreetaddress", "")),
                       ("DeliveryAddressPostnumber", details.get("deliverypostnumber", "")),
                       ("DeliveryAddressTown", details.get("deliverycity", "")),
                       ("DeliveryAddressCountryCode", details.get("deliverycountry", "")),
                       ("DeliveryMethod", ""), ("DeliveryTerm", ""),
                       ("PaymentTermNetDays", i["payment_term_days"]),
                       ("PaymentTermCashDiscountDays", i["cash_discount_days"])]:
        sub(invoice, tag, value)
    sub(invoice, "PaymentTermCashDiscount", i["cash_discount"] or "0", type="percentage")
    product_lines = ET.Element("InvoiceLine")  # as recorded: every product line in one <InvoiceLine>
    for line in i["lines"]:
        net = line["unit_price"] * line["quantity"]
        vat_sum = (net * line["vat_percent"] / 100).quantize(Decimal("0.0001"))
        product_line = ET.SubElement(product_lines, "SalesInvoiceProductLine")
        sub(product_line, "productidentifier", line["product_code"], type="customer")
        sub(product_line, "ProductName", line["name"])
        sub(product_line, "ProductUnitPrice", line["unit_price"])
        sub(product_line, "ProductVatPercentage", line["vat_percent"], vatcode=line["vat_code"])
        for tag, value in [("SalesInvoiceProductLineQuantity", line["quantity"]),
                           ("SalesInvoiceProductLineDiscountPercentage", Decimal(0)),
                           ("SalesInvoiceProductLineFreeText", line["free_text"]),
                           ("SalesInvoiceProductLineVatSum", vat_sum),
                           ("SalesInvoiceProductLineSum", net + vat_sum), ("AccountingAccountSuggestion", "")]:
            sub(product_line, tag, value)
        for dimension in line["dimensions"]:
            product_line.append(element("Dimension", [("DimensionName", dimension["name"]),
                                                      ("DimensionItem", dimension["item"])]))
    sub(invoice, "InvoiceLines", None).append(product_lines)
    return [invoice]


# workday records: method="replace" (the default when the attribute is left out) replaces the hours
# of the employee, date and record type given; "increment" adds to them. An unknown employee is
# INVALID_DATA.
def save_workday(state: NetvisorState, call: Call) -> list[ET.Element]:
    root = call.xml()
    days = root.findall("workday")
    if not days:
        raise invalid("Element workday missing")
    parsed = []
    for day in days:
        date_node = child(day, "date")
        date, method = parse_date(text(date_node), "date"), date_node.get("method", "replace").lower()
        if method not in ("replace", "increment"):
            raise invalid(f"Unknown method: {method}")
        number = _employee(state, child(day, "employeeidentifier"))
        hours = []
        for hour in day.findall("workdayhour"):
            status = (text(hour.find("acceptancestatus")) or "confirmed").lower()
            if status not in ("confirmed", "accepted"):
                raise invalid(f"Unknown acceptancestatus: {status}")
            record_type = text(child(hour, "collectorratio")) or ""
            parse_int(record_type, "collectorratio")
            hours.append({"record_type": record_type,
                          "hours": parse_decimal(text(child(hour, "hours")) or "", "hours"),
                          "acceptance": status, "description": text(hour.find("description")) or "",
                          "dimensions": _dimensions(state, hour)})
        parsed.append((number, date, method, hours))
    for number, date, method, hours in parsed:  # all or nothing
        if method == "replace":
            for record_type in {h["record_type"] for h in hours}:
                state.workdays.pop((number, date, record_type), None)
        for hour in hours:
            state.workdays.setdefault((number, date, hour["record_type"]), []).append(hour)
    return inserted(len(parsed))


def _employee(state: NetvisorState, node: ET.Element) -> str:
    if node.get("type", "number").lower() != "number":
        raise invalid("Only employee numbers are simulated as employeeidentifier")
    number = text(node) or ""
    if number not in state.employees:
        raise invalid(f"Employee not found with identifier: {number}")
    return number


# travel expenses, as documented (tripexpense.nv): a header and custom lines, each with the employee,
# the expense type (ratio) by name, amount and unit price, description, begin and end dates,
# dimensions and base64 attachments. A ratio name must be one of the seeded wage types. Netvisor
# documents no resource that lists travel expenses, and none is simulated.
def save_trip_expense(state: NetvisorState, call: Call) -> list[ET.Element]:
    node = child(call.xml(), "tripexpense")
    header = text(child(node, "header")) or ""
    if not header:
        raise invalid("header is required")
    lines = [_custom_line(state, line) for line in node.findall("customlines/customline")]
    if not lines:
        raise invalid("A trip expense needs at least one customline")
    key = next(state.keys)
    state.trip_expenses[key] = {"key": key, "header": header, "description": text(node.find("description")) or "",
                                "lines": lines}
    return inserted(key)


def _custom_line(state: NetvisorState, line: ET.Element) -> dict:
    ratio = child(line, "ratio")
    if ratio.get("type", "").lower() != "name":
        raise invalid("ratio type must be name")
    if (text(ratio) or "") not in state.wage_types:
        raise invalid(f"Ratio not found with name: {text(ratio)}")
    amount = parse_decimal(text(child(line, "amount")) or "", "amount")
    unit_price = parse_decimal(text(child(line, "customlineunitprice")) or "", "customlineunitprice")
    description = text(child(line, "linedescription")) or ""
    if not description:
        raise invalid("linedescription is required")
    attachments = []
    for attachment in line.findall("tripexpenseattachments/tripexpenseattachment"):
        try:
            data = base64.b64decode(text(child(attachment, "documentdata")) or "", validate=True)
        except binascii.Error:
            raise invalid("documentdata is not base64") from None
        attachments.append({"filename": text(child(attachment, "filename")),
                            "mimetype": text(child(attachment, "mimetype")),
                            "description": text(attachment.find("attachmentdescription")) or "",
                            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return {"employee": _employee(state, child(line, "employeeidentifier")), "ratio": text(ratio),
            "amount": amount, "unit_price": unit_price, "sum": amount * unit_price, "description": description,
            "begin": parse_date(text(child(line, "begindate")), "begindate"),
            "end": parse_date(text(child(line, "enddate")), "enddate"),
            "dimensions": _dimensions(state, line), "attachments": attachments}


# purchase invoices: seeded through the admin API (they arrive from vendors), read by the two list
# and get resources of the contract. ``invoicestatus`` filters open|approved|accepted.
def purchase_invoice_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    begin, end = call.params.get("begininvoicedate"), call.params.get("endinvoicedate")
    status = call.params.get("invoicestatus", "").lower()
    if status and status not in ("open", "approved", "accepted"):
        raise invalid(f"Unknown invoicestatus: {status}")
    listing = ET.Element("PurchaseInvoiceList")
    for key, i in sorted(state.purchase_invoices.items()):
        if (status and i["status"] != status) or (begin and i["date"] < parse_date(begin, "begininvoicedate")) or (
                end and i["date"] > parse_date(end, "endinvoicedate")):
            continue
        row = element("PurchaseInvoice", [("NetvisorKey", key), ("InvoiceNumber", i["number"])])
        sub(row, "InvoiceDate", i["date"], format="ansi")
        for name, value in [("Vendor", i["vendor"]), ("VendorOrganizationIdentifier", i["vendor_business_id"]),
                            ("Sum", i["sum"]), ("Payments", Decimal("0.00")), ("OpenSum", i["sum"]),
                            ("Uri", f"{call.base}/getpurchaseinvoice.nv?netvisorkey={key}")]:
            sub(row, name, value)
        listing.append(row)
    return [listing]


def get_purchase_invoice(state: NetvisorState, call: Call) -> list[ET.Element]:
    """``version=2`` puts each line's dimensions inside the line; without it they follow the lines."""
    key = parse_int(call.params.get("netvisorkey"), "netvisorkey")
    i = state.purchase_invoices.get(key)
    if i is None:
        return [ET.Element("PurchaseInvoice")]  # as recorded: OK and an empty element
    inside = call.params.get("version") == "2"
    invoice = element("PurchaseInvoice", [("PurchaseInvoiceNetvisorKey", key), ("PurchaseInvoiceNumber", i["number"])])
    for tag in ("PurchaseInvoiceDate", "PurchaseInvoiceDeliveryDate"):
        _ansi(invoice, tag, i["date"])
    _ansi(invoice, "PurchaseInvoiceDueDate", i["due_date"])
    _ansi(invoice, "PurchaseInvoiceValueDate", i["due_date"])
    approved = i["status"] in ("approved", "accepted")
    for tag, value in [
            ("PurchaseInvoiceReferencenumber", i["reference_number"]), ("PurchaseInvoiceVendorBankAccountNumber", ""),
            ("IsPurchaseInvoiceVendorBankAccountDeleted", "False"),
            ("IsPurchaseInvoiceVendorBankAccountFromSEPARegion", "True"), ("PurchaseInvoiceAmount", i["sum"]),
            ("PurchaseInvoicePaidAmount", Decimal("0.00")), ("ForeignCurrencyAmount", i["sum"]),
            ("ForeignCurrencyNameID", "EUR"), ("InvoiceStatus", "Hyväksytty" if approved else "Avoin"),
            ("ApprovalStatus", "approved" if approved else "open"), ("PurchaseInvoiceOurReference", ""),
            ("PurchaseInvoiceYourReference", ""), ("PurchaseInvoiceDescription", ""),
            ("VendorOrganizationIdentifier", i["vendor_business_id"]), ("VendorCode", i["vendor_code"]),
            ("VendorName", i["vendor"]), ("VendorAddressline", ""), ("VendorPostnumber", ""), ("VendorTown", ""),
            ("VendorCountry", "FI"), ("VendorBankAccountNumber", ""), ("Fingerprint", ""), ("VoucherID", ""),
            ("IsAccounted", "False"), ("PreviewImage", "")]:
        sub(invoice, tag, value)
    lines, outside = sub(invoice, "InvoiceLines", None), []
    for n, line in enumerate(i["lines"], 1):
        net = (line["quantity"] * line["unit_price"]).quantize(Decimal("0.0001"))
        node = element("PurchaseInvoiceLine", [
            ("NetvisorKey", f"{key}{n:03d}"), ("LineSum", (net * (100 + line["vat_percent"]) / 100).quantize(
                Decimal("0.01"))), ("LineNetSum", net), ("UnitPrice", line["unit_price"]),
            ("VatPercent", line["vat_percent"]), ("VatCode", "KOOS"), ("Description", line["description"]),
            ("Unit", ""), ("OrderedAmount", line["quantity"]), ("PurchasePrice", ""),
            ("DeliveredAmount", line["quantity"]), ("ProductCode", line["product_code"]),
            ("DiscountPercentage", Decimal(0)), ("ProductName", ""),
            ("AccountingSuggestionBookkeepingAccountNetvisorKey", ""), ("AccountingSuggestionBookkeepingAccount", "")])
        dimensions = [_purchase_dimension(state, d) for d in line["dimensions"]]
        if inside and dimensions:
            node.append(element("PurchaseInvoiceLineDimensions", [("", d) for d in dimensions]))
        outside += dimensions
        lines.append(node)
    if outside and not inside:
        lines.append(element("PurchaseInvoiceLineDimensions", [("", d) for d in outside]))
    sub(invoice, "LinkedPurchaseOrders", None)
    return [invoice]


def _purchase_dimension(state: NetvisorState, dimension: dict) -> ET.Element:
    heading, item = state.dimension_keys(dimension["name"], dimension["item"])
    return element("Dimension", [("DimensionName", dimension["name"]), ("DimensionNameNetvisorKey", heading),
                                 ("DimensionDetailName", dimension["item"]), ("DimensionDetailNetvisorKey", item)])


# payroll ratios (payrollratiolist.nv): the ratios of one source, each with its names per language,
# Netvisor key, source and ratio number, as the client's PayrollRatioListItem reads them. Choices where
# the contract is silent (our hook relies on none of them): elements in Netvisor's usual PascalCase (the
# client reads them lower-cased); <Source> carries the source asked for and, as NetvisorKey, its
# position in RATIO_SOURCES; a missing or unknown source is INVALID_DATA.
def payroll_ratio_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    source = (call.params.get("source") or "").lower()
    if source not in RATIO_SOURCES:
        raise invalid(f"source must be one of {', '.join(RATIO_SOURCES)}: {source}")
    listing = ET.Element("PayrollRatios")
    for ratio in state.payroll_ratios:
        if ratio["source"] != source:
            continue
        node = ET.SubElement(listing, "PayrollRatio")
        names = sub(node, "Names", None)
        for language, name in ratio["names"].items():
            sub(names, "Name", name, **{"ISO639-1Code": language})
        sub(node, "Identifier", ratio["key"], type="Netvisor")
        sub(node, "Source", source, NetvisorKey=str(RATIO_SOURCES.index(source) + 1))
        if ratio["number"] is not None:
            sub(node, "RatioNumber", ratio["number"])
    return [listing]


RESOURCES = {  # resource (lower case) -> (HTTP method, handler)
    "customerlist.nv": ("GET", customer_list),
    "getcustomer.nv": ("GET", get_customer),
    "customer.nv": ("POST", save_customer),
    "productlist.nv": ("GET", product_list),
    "getproduct.nv": ("GET", get_product),
    "product.nv": ("POST", save_product),
    "dimensionlist.nv": ("GET", dimension_list),
    "dimensionitem.nv": ("POST", save_dimension_item),
    "salesinvoice.nv": ("POST", save_sales_invoice),
    "salesinvoicelist.nv": ("GET", sales_invoice_list),
    "getsalesinvoice.nv": ("GET", get_sales_invoice),
    "workday.nv": ("POST", save_workday),
    "tripexpense.nv": ("POST", save_trip_expense),
    "purchaseinvoicelist.nv": ("GET", purchase_invoice_list),
    "getpurchaseinvoice.nv": ("GET", get_purchase_invoice),
    "payrollratiolist.nv": ("GET", payroll_ratio_list),
}


def create_app(config: dict | None = None) -> FastAPI:
    """Build the Netvisor simulator app; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("netvisor", lambda status, category, message: xml_response(
        envelope([], NetvisorError(category, message), state.now()), status))
    sim.config.update(DEFAULT_CONFIG | (config or {}))
    state = NetvisorState(sim.config)
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)

    @sim.app.api_route("/{resource}", methods=["GET", "POST"])
    async def vendor(resource: str, request: Request) -> Response:
        body = await request.body()
        use_status = request.headers.get(AUTH + "UseHTTPResponseStatusCodes") == "1"
        with sim.lock:
            try:
                transaction_id = authenticate(request, state, sim.config)
                method, handler = RESOURCES.get(resource.lower(), (None, None))
                if handler is None:
                    raise NetvisorError("INVALID_DATA", f"Unknown resource: {resource}", 404)
                if method != request.method:
                    raise NetvisorError("INVALID_DATA", f"Use HTTP {method} for {resource}", 405)
                answer = handler(state, Call(request, body))
                state.transaction_ids.add(transaction_id)  # carried out: a repeat is not unique
                return xml_response(envelope(answer, None, state.now()))
            except NetvisorError as error:
                status = error.http_status if use_status else 200
                return xml_response(envelope([], error, state.now()), status)

    return sim.app
