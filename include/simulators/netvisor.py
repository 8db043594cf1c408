"""Netvisor simulator (XML over HTTP), written from the vendor's public contract.

Covers authentication (HMACSHA256 MAC, unique TransactionId), the response envelope, and the
customer, product and dimension resources. Choices where the contract is silent:

* a duplicate customer or product code is ``DUPLICATE_DATA``;
* a customer code must be digits not starting with 0 (else ``INVALID_DATA``); a blank code is
  allowed, as in Netvisor; ``<InternalIdentifier type="automatic"/>`` takes max numeric code + 1;
* ``changedsince`` and the stored modification times are local times of ``config["timezone"]``;
* decimals are written with a comma and read with a comma or a dot;
* edits reply with ``InsertedDataIdentifier`` like adds do;
* injected faults (``/_sim/faults``) answer with their own HTTP status, whatever
  ``UseHTTPResponseStatusCodes`` says.

Admin seed (``POST /_sim/seed``)::

    {"customers": [{"code", "name", "business_id", "name_extension", "street_address", "city",
                    "post_number", "country", "email", "is_active", "modified" (optional ISO)}],
     "products": [{"code", "name", "unit_price", "unit", "vat_percent", "product_group", "is_active"}],
     "dimensions": [{"name": "Projects", "items": ["P1", ...]}]}

returns the Netvisor keys: ``{"customers": [k...], "products": [k...],
"dimensions": [{"key": k, "items": [k...]}]}``. ``GET /_sim/state`` dumps the same shape with
``key`` and ``modified`` added (dimension items as dicts).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime
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
MAX_CODES, MAX_IDS, MAX_CUSTOMER_NAME, MAX_PRODUCT_NAME = 100, 500, 250, 200
CUSTOMER_CODE = re.compile(r"[1-9][0-9]*")
DECIMAL = re.compile(r"-?[0-9]+([.,][0-9]+)?")
CHANGED_SINCE = "%Y-%m-%dT%H:%M:%S"

# request element (lower case) -> record field
CUSTOMER_FIELDS = {
    "internalidentifier": "code", "externalidentifier": "business_id", "name": "name",
    "nameextension": "name_extension", "streetaddress": "street_address", "city": "city",
    "postnumber": "post_number", "country": "country", "email": "email", "isactive": "is_active",
}
CUSTOMER_DEFAULTS = {field: "" for field in CUSTOMER_FIELDS.values()} | {"is_active": True}
PRODUCT_FIELDS = {
    "productcode": "code", "productgroup": "product_group", "name": "name",
    "unitprice": "unit_price", "unit": "unit", "isactive": "is_active",
}
PRODUCT_DEFAULTS = {"code": "", "product_group": "", "unit": "", "is_active": True}


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
        self.products: dict[int, dict] = {}
        self.product_groups: dict[str, int] = {}
        self.dimensions: list[dict] = []
        self.transaction_ids: set[str] = set()
        self.keys = count(1)
        self.sales_invoices: dict[int, dict] = {}
        self.employees: dict[str, dict] = {}  # employee number -> {number, name}
        self.workdays: dict[tuple[str, str, str], list[dict]] = {}  # (employee, date, record type) -> hours
        self.wage_types: set[str] = set()  # travel-expense wage type codes
        self.trip_expenses: dict[int, dict] = {}
        self.purchase_invoices: dict[int, dict] = {}

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.config["timezone"])).replace(tzinfo=None)

    # customers
    def save_customer(self, changes: dict, key: int | None = None, any_code: bool = False) -> int:
        """Validate and store a customer add (key None) or edit; return its key.

        ``any_code``: a seeded customer may carry a code the API refuses (e.g. TEMP, made in the UI)."""
        if key is not None and key not in self.customers:
            raise invalid(f"Customer not found with Netvisor identifier: {key}")
        record = dict(self.customers[key]) if key is not None else dict(CUSTOMER_DEFAULTS)
        record.update(changes)
        if record["code"] == "automatic":
            record["code"] = str(1 + max((int(c["code"]) for c in self.customers.values()
                                          if c["code"].isdigit()), default=0))
        self._check_customer(record, key, any_code)
        key = key if key is not None else next(self.keys)
        self.customers[key] = record | {"key": key, "modified": self.now()}
        return key

    def _check_customer(self, record: dict, key: int | None, any_code: bool = False) -> None:
        code, name = record["code"], record["name"]
        if not name:
            raise invalid("Customer name is required")
        if len(name) > MAX_CUSTOMER_NAME:
            raise NetvisorError("INVALID_DATA_SIZE", f"Customer name exceeds {MAX_CUSTOMER_NAME} characters")
        if code and not any_code and not CUSTOMER_CODE.fullmatch(code):
            raise NetvisorError("INVALID_DATA", f"Customer code {code} is not valid")
        if code and any(c["code"] == code for k, c in self.customers.items() if k != key):
            raise NetvisorError("DUPLICATE_DATA", f"Customer code {code} is already in use")
        if record["country"] and not re.fullmatch(r"[A-Z]{2}", record["country"]):
            raise invalid(f"Invalid ISO-3166 country: {record['country']}")

    # products
    def save_product(self, changes: dict, key: int | None = None) -> int:
        """Validate and store a product add (key None) or edit; return its key."""
        if key is not None and key not in self.products:
            raise invalid(f"Product not found with Netvisor identifier: {key}")
        record = dict(self.products[key]) if key is not None else dict(PRODUCT_DEFAULTS)
        record.update(changes)
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

    @staticmethod
    def _father(items: list[dict], father_id: int) -> dict:
        for item in items:
            if item["key"] == father_id:
                return item
        raise invalid(f"Father item not found: {father_id}")

    # admin
    def seed(self, payload: dict) -> dict:
        customers = [self.save_customer(_customer_seed(c), any_code=True) for c in payload.get("customers", [])]
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
            net = sum((l["quantity"] * l["unit_price"]).quantize(Decimal("0.01")) for l in lines)
            self.purchase_invoices[key] = {
                "key": key, "number": str(invoice["number"]), "date": invoice.get("date", "2026-03-01"),
                "vendor": invoice.get("vendor", ""), "vendor_code": invoice.get("vendor_code", ""),
                "vendor_business_id": invoice.get("vendor_business_id", ""),
                "status": invoice.get("status", "approved"), "lines": lines,
                "sum": sum((l["quantity"] * l["unit_price"] * (100 + l["vat_percent"]) / 100).quantize(Decimal("0.01"))
                           for l in lines), "net": net}
            purchase_keys.append(key)
        for employee in payload.get("employees", []):
            self.employees[str(employee["number"])] = {"number": str(employee["number"]),
                                                       "name": employee.get("name", "")}
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
            "workdays": [{"employee": e, "date": d, "record_type": r, "hours": _plain_deep(h)}
                         for (e, d, r), h in sorted(self.workdays.items())],
        }


def _customer_seed(seed: dict) -> dict:
    fields = {field: str(seed.get(field, "")) for field in CUSTOMER_DEFAULTS if field != "is_active"}
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


def authenticate(request: Request, state: NetvisorState, config: dict) -> None:
    """Check the authentication headers and the MAC, then consume the TransactionId."""
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
    state.transaction_ids.add(transaction_id)


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


def changed_since(call: Call) -> datetime | None:
    value = call.params.get("changedsince")
    if not value:
        return None
    try:
        return datetime.strptime(value, CHANGED_SINCE)
    except ValueError:
        raise invalid(f"Invalid changedsince: {value}")


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
            ("OrganisationIdentifier", c["business_id"]), ("CustomerGroupID", ""),
            ("CustomerGroupName", ""), ("Uri", f"{call.base}/getcustomer.nv?id={key}"),
        ]))
    return [listing]


def get_customer(state: NetvisorState, call: Call) -> list[ET.Element]:
    raw = call.params.get("idlist") or call.params.get("id")
    ids = [parse_int(i.strip(), "id") for i in (raw or "").split(",")]
    if len(ids) > MAX_IDS:
        raise invalid(f"At most {MAX_IDS} ids allowed")
    missing = [i for i in ids if i not in state.customers]
    if missing:
        raise invalid(f"Customer not found with Netvisor identifier: {missing[0]}")
    return [customer_element(state.customers[i]) for i in ids]


def customer_element(c: dict) -> ET.Element:
    base = element("CustomerBaseInformation", [
        ("NetvisorKey", c["key"]), ("InternalIdentifier", c["code"]),
        ("ExternalIdentifier", c["business_id"]), ("Name", c["name"]),
        ("NameExtension", c["name_extension"]), ("StreetAddress", c["street_address"]),
        ("City", c["city"]), ("PostNumber", c["post_number"]),
    ])
    sub(base, "Country", c["country"], type="ISO-3166")
    sub(base, "Email", c["email"])
    sub(base, "IsActive", c["is_active"])
    blocks = ["CustomerFinvoiceDetails", "CustomerDeliveryDetails", "CustomerContactDetails",
              "CustomerAdditionalInformation"]
    return element("Customer", [("", base)] + [(block, "") for block in blocks])


def save_customer(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = method_and_id(call)
    base = child(call.xml(), "customer/customerbaseinformation")
    changes = {}
    for tag, field in CUSTOMER_FIELDS.items():
        node = base.find(tag)
        if node is None:
            continue
        value = text(node)
        if field == "code" and node.get("type", "").lower() == "automatic":
            value = "automatic"
        if field == "is_active":
            if not value:
                continue  # a blank flag leaves it unchanged
            value = parse_bool(value, tag)
        changes[field] = value
    return inserted(state.save_customer(changes, key))


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
        gross = (p["unit_price"] * (100 + p["vat_percent"]) / 100).quantize(Decimal("0.01"))
        listing.append(element("Product", [
            ("NetvisorKey", key), ("ProductCode", p["code"]), ("Name", p["name"]),
            ("UnitPrice", p["unit_price"]), ("UnitGrossPrice", gross),
            ("ProductGroupID", state.product_groups.get(p["product_group"], "")),
            ("ProductGroupDescription", p["product_group"]),
            ("Uri", f"{call.base}/getproduct.nv?id={key}"),
        ]))
    return [listing]


def get_product(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = parse_int(call.params.get("id"), "id")
    p = state.products.get(key)
    if p is None:
        raise invalid(f"Product not found with Netvisor identifier: {key}")
    base = element("ProductBaseInformation", [
        ("NetvisorKey", key), ("ProductCode", p["code"]), ("ProductGroup", p["product_group"]),
        ("Name", p["name"]),
    ])
    sub(base, "UnitPrice", p["unit_price"], type="net")
    sub(base, "Unit", p["unit"])
    sub(base, "IsActive", p["is_active"])
    bookkeeping = element("ProductBookkeepingDetails", [("DefaultVatPercentage", p["vat_percent"])])
    return [element("Product", [("", base), ("", bookkeeping)])]


def save_product(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = method_and_id(call)
    product = child(call.xml(), "product")
    base = child(product, "productbaseinformation")
    changes = {}
    for tag, field in PRODUCT_FIELDS.items():
        value = text(base.find(tag))
        if value is None or (field == "is_active" and not value):
            continue
        if field == "unit_price" and value:
            value = parse_decimal(value, tag)
        elif field == "is_active":
            value = parse_bool(value, tag)
        changes[field] = value
    vat = text(product.find("productbookkeepingdetails/defaultvatpercentage"))
    if vat:
        changes["vat_percent"] = parse_decimal(vat, "defaultvatpercentage")
    price = base.find("unitprice")
    if price is not None and price.get("type", "net").lower() == "gross" and changes.get("unit_price"):
        vat_percent = changes.get("vat_percent") or state.products.get(key, {}).get("vat_percent", Decimal(0))
        net = changes["unit_price"] * 100 / (100 + vat_percent)
        changes["unit_price"] = net.quantize(Decimal("0.0001"))
    return inserted(state.save_product(changes, key))


# dimensions
def dimension_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    show_hidden = call.params.get("showhidden") == "1"
    listing = ET.Element("DimensionNameList")
    for heading in state.dimensions:
        if heading["is_hidden"] and not show_hidden:
            continue
        details = ET.Element("DimensionDetails")
        for item in heading["items"]:
            if show_hidden or not item["is_hidden"]:
                details.append(element("DimensionDetail", [
                    ("Netvisorkey", item["key"]), ("Name", item["name"]),
                    ("IsHidden", str(item["is_hidden"])), ("Level", item["level"]),
                    ("FatherID", item["father_id"] or ""),
                ]))
        listing.append(element("DimensionName", [
            ("Netvisorkey", heading["key"]), ("Name", heading["name"]),
            ("IsHidden", str(heading["is_hidden"])), ("", details),
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
        return inserted(state.add_dimension_item(name, item, father_id, is_hidden))
    if method == "edit":
        changes = {"name": item}
        if father_id:
            changes["father_id"] = father_id
        if hidden:
            changes["is_hidden"] = parse_bool(hidden, "ishidden")
        return inserted(state.edit_dimension_item(name, text(node.find("olditem")) or "", changes))
    raise invalid(f"Unknown method: {method}")


# sales invoices (issue 3). Choices where the contract is silent: the customer and each product must
# exist (INVALID_DATA, as Netvisor answers); a given <salesinvoicenumber> must be unique
# (DUPLICATE_DATA); a dimension item not yet in Netvisor is created on the fly; an invoice whose
# amount is negative is a credit note; <salesinvoiceourreference> is kept and shown by getsalesinvoice.
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
        heading = state.heading(name)
        if heading is None or not any(i["name"] == item for i in heading["items"]):
            state.add_dimension_item(name, item)
        found.append({"name": name, "item": item})
    return found


def save_sales_invoice(state: NetvisorState, call: Call) -> list[ET.Element]:
    if call.params.get("method", "add").lower() != "add":
        raise invalid("Only method=add is simulated for sales invoices")
    node = child(call.xml(), "salesinvoice")
    number = text(node.find("salesinvoicenumber")) or ""
    if number and any(i["number"] == number for i in state.sales_invoices.values()):
        raise NetvisorError("DUPLICATE_DATA", f"Invoice number {number} is already in use")
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
        "key": key, "number": number, "date": parse_date(text(child(node, "salesinvoicedate")), "salesinvoicedate"),
        "amount": amount, "currency": amount_node.get("iso4217currencycode", "EUR"),
        "currency_rate": amount_node.get("currencyrate", ""), "type": "creditnote" if amount < 0 else "invoice",
        "status": text(node.find("salesinvoicestatus")) or "unsent",
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
        sub(row, "InvoiceDate", i["date"], format="ansi")
        for name, value in [("InvoiceStatus", i["status"]), ("CustomerCode", i["customer_code"]),
                            ("CustomerName", state.customers[i["customer_key"]]["name"]),
                            ("ReferenceNumber", ""), ("InvoiceSum", i["amount"]), ("OpenSum", i["amount"]),
                            ("Uri", f"{call.base}/getsalesinvoice.nv?netvisorkey={key}")]:
            sub(row, name, value)
        listing.append(row)
    return [listing]


def get_sales_invoice(state: NetvisorState, call: Call) -> list[ET.Element]:
    key = parse_int(call.params.get("netvisorkey"), "netvisorkey")
    i = state.sales_invoices.get(key)
    if i is None:
        raise invalid(f"Sales invoice not found with Netvisor identifier: {key}")
    invoice = element("SalesInvoice", [
        ("SalesInvoiceNetvisorKey", key), ("SalesInvoiceNumber", i["number"]), ("SalesInvoiceDate", i["date"]),
        ("SalesInvoiceAmount", i["amount"]), ("InvoiceType", i["type"]), ("InvoiceStatus", i["status"]),
        ("SalesInvoiceOurReference", i["our_reference"]), ("SalesInvoiceYourReference", i["your_reference"]),
        ("InvoicingCustomerIdentifier", i["customer_code"]),
    ])
    lines = sub(invoice, "InvoiceLines", None)
    for line in i["lines"]:
        product_line = element("SalesInvoiceProductLine", [
            ("ProductIdentifier", line["product_code"]), ("ProductName", line["name"]),
            ("ProductUnitPrice", line["unit_price"]), ("ProductVatPercentage", line["vat_percent"]),
            ("SalesInvoiceProductLineQuantity", line["quantity"])])
        for dimension in line["dimensions"]:
            product_line.append(element("Dimension", [("DimensionName", dimension["name"]),
                                                      ("DimensionItem", dimension["item"])]))
        sub(lines, "InvoiceLine", None).append(product_line)
    return [element("SalesInvoices", [("", invoice)])]


# workday records: method="replace" replaces the hours of the employee, date and record type given;
# "increment" adds to them. An unknown employee is INVALID_DATA.
def save_workday(state: NetvisorState, call: Call) -> list[ET.Element]:
    root = call.xml()
    days = root.findall("workday")
    if not days:
        raise invalid("Element workday missing")
    parsed = []
    for day in days:
        date_node = child(day, "date")
        date, method = parse_date(text(date_node), "date"), date_node.get("method", "increment").lower()
        if method not in ("replace", "increment"):
            raise invalid(f"Unknown method: {method}")
        who = child(day, "employeeidentifier")
        if who.get("type", "number").lower() != "number":
            raise invalid("Only employee numbers are simulated as employeeidentifier")
        number = text(who) or ""
        if number not in state.employees:
            raise invalid(f"Employee not found with identifier: {number}")
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


# travel expenses. The contract only says "lines with the person, dates, expense type code (wage
# type), amounts, dimensions and base64 attachments"; the element names below and the list resource
# tripexpenselist.nv are this project's assumption. An unknown employee or wage type code is
# INVALID_DATA; a repeated <tripexpensenumber> is DUPLICATE_DATA.
def save_trip_expense(state: NetvisorState, call: Call) -> list[ET.Element]:
    import base64
    import binascii

    node = child(call.xml(), "tripexpense")
    number = text(child(node, "tripexpensenumber")) or ""
    if not number:
        raise invalid("tripexpensenumber is required")
    if any(t["number"] == number for t in state.trip_expenses.values()):
        raise NetvisorError("DUPLICATE_DATA", f"Trip expense number {number} is already in use")
    employee = text(child(node, "employeeidentifier")) or ""
    if employee not in state.employees:
        raise invalid(f"Employee not found with identifier: {employee}")
    lines = []
    for line in node.findall("tripexpenselines/tripexpenseline"):
        code = text(child(line, "wagetypecode")) or ""
        if code not in state.wage_types:
            raise invalid(f"Wage type not found with code: {code}")
        quantity = parse_decimal(text(child(line, "quantity")) or "", "quantity")
        unit = parse_decimal(text(child(line, "unitamount")) or "", "unitamount")
        lines.append({"wage_type": code, "date": parse_date(text(child(line, "linedate")), "linedate"),
                      "quantity": quantity, "unit_amount": unit, "amount": quantity * unit,
                      "description": text(line.find("description")) or "", "dimensions": _dimensions(state, line)})
    if not lines:
        raise invalid("A trip expense needs at least one line")
    attachments = []
    for attachment in node.findall("tripexpenseattachments/tripexpenseattachment"):
        try:
            data = base64.b64decode(text(child(attachment, "documentdata")) or "", validate=True)
        except binascii.Error:
            raise invalid("documentdata is not base64") from None
        attachments.append({"filename": text(child(attachment, "filename")),
                            "mimetype": text(attachment.find("mimetype")) or "",
                            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    key = next(state.keys)
    state.trip_expenses[key] = {
        "key": key, "number": number, "employee": employee,
        "date": parse_date(text(child(node, "date")), "date"),
        "our_reference": text(node.find("tripexpenseourreference")) or "", "lines": lines,
        "attachments": attachments}
    return inserted(key)


def trip_expense_list(state: NetvisorState, call: Call) -> list[ET.Element]:
    employee = call.params.get("employeeidentifier")
    listing = ET.Element("TripExpenseList")
    for key, t in sorted(state.trip_expenses.items()):
        if employee and t["employee"] != employee:
            continue
        listing.append(element("TripExpense", [("NetvisorKey", key), ("TripExpenseNumber", t["number"]),
                                               ("EmployeeIdentifier", t["employee"]), ("Date", t["date"]),
                                               ("OurReference", t["our_reference"])]))
    return [listing]


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
    key = parse_int(call.params.get("netvisorkey"), "netvisorkey")
    i = state.purchase_invoices.get(key)
    if i is None:
        raise invalid(f"Purchase invoice not found with Netvisor identifier: {key}")
    invoice = element("PurchaseInvoice", [
        ("PurchaseInvoiceNetvisorKey", key), ("PurchaseInvoiceNumber", i["number"]),
        ("PurchaseInvoiceDate", i["date"]), ("PurchaseInvoiceVendorName", i["vendor"]),
        ("VendorCode", i["vendor_code"]), ("PurchaseInvoiceSum", i["sum"]), ("InvoiceStatus", i["status"]),
        ("ApprovalStatus", "approved" if i["status"] in ("approved", "accepted") else "open"),
        ("VoucherId", ""), ("IsAccounted", "0")])
    lines = sub(invoice, "PurchaseInvoiceLines", None)
    for n, line in enumerate(i["lines"], 1):
        node = element("PurchaseInvoiceLine", [
            ("NetvisorKey", f"{key}{n:03d}"), ("LineSum", (line["quantity"] * line["unit_price"]).quantize(
                Decimal("0.01"))), ("UnitPrice", line["unit_price"]), ("VatPercent", line["vat_percent"]),
            ("DeliveredAmount", line["quantity"]), ("ProductCode", line["product_code"]),
            ("Description", line["description"])])
        for dimension in line["dimensions"]:
            node.append(element("Dimension", [("DimensionName", dimension["name"]),
                                              ("DimensionItem", dimension["item"])]))
        lines.append(node)
    return [invoice]


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
    "tripexpenselist.nv": ("GET", trip_expense_list),
    "purchaseinvoicelist.nv": ("GET", purchase_invoice_list),
    "getpurchaseinvoice.nv": ("GET", get_purchase_invoice),
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
                authenticate(request, state, sim.config)
                method, handler = RESOURCES.get(resource.lower(), (None, None))
                if handler is None:
                    raise NetvisorError("INVALID_DATA", f"Unknown resource: {resource}", 404)
                if method != request.method:
                    raise NetvisorError("INVALID_DATA", f"Use HTTP {method} for {resource}", 405)
                return xml_response(envelope(handler(state, Call(request, body)), None, state.now()))
            except NetvisorError as error:
                status = error.http_status if use_status else 200
                return xml_response(envelope([], error, state.now()), status)

    return sim.app
