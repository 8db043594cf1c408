"""Netvisor: XML over HTTPS, every request signed with an HMAC-SHA256 MAC.

Records cross this hook as plain dicts (customer: code, name, business_id, name_extension,
street_address, city, post_number, country, email, is_active; product: code, name, unit_price,
unit, vat_percent, product_group, is_active).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from airflow.sdk.log import mask_secret

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks import xml
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.http import Retryable

RECORD_CATEGORIES = {"INVALID_DATA", "INVALID_DATA_SIZE", "DUPLICATE_DATA", "PERIOD_LOCK"}
TRANSIENT_CATEGORIES = {"TECHNICAL_ERROR", "SYSTEM_MAINTANANCE", "REQUEST_NOT_UNIQUE"}

CUSTOMER_FIELDS = [  # (record key, Netvisor element), in the order the DTD gives
    ("code", "InternalIdentifier"),
    ("business_id", "ExternalIdentifier"),
    ("name", "Name"),
    ("name_extension", "NameExtension"),
    ("street_address", "StreetAddress"),
    ("city", "City"),
    ("post_number", "PostNumber"),
    ("country", "Country"),
    ("email", "Email"),
    ("is_active", "IsActive"),
]
PRODUCT_FIELDS = [
    ("code", "ProductCode"),
    ("product_group", "ProductGroup"),
    ("name", "Name"),
    ("unit_price", "UnitPrice"),
    ("unit", "Unit"),
    ("is_active", "IsActive"),
]
MAX_IDLIST = 500
MAX_CODELIST = 100


class NetvisorHook(HttpSystemHook):
    """Netvisor API client. Connection: host = base URL, login = customer id, password = customer key."""

    conn_name_attr = "netvisor_conn_id"
    default_conn_name = "netvisor_default"
    conn_type = "netvisor"
    hook_name = "Netvisor"
    system_name = "Netvisor"
    default_timeout = 120.0  # Netvisor asks for at least 120 s

    def configure(self, conn) -> None:
        extra = conn.extra_dejson
        self.customer_id = conn.login or ""
        self.customer_key = conn.password or ""
        self.partner_id = extra.get("partner_id", "")
        self.partner_key = extra.get("partner_key", "")
        self.sender = extra.get("sender", "erpbridge")
        self.organisation_id = extra.get("organisation_id", "")
        self.language = extra.get("language", "FI")
        mask_secret(self.partner_key)

    def authorize(self, request) -> None:
        now = datetime.now(timezone.utc)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        unix = str(int(now.timestamp()))
        transaction = uuid.uuid4().hex
        request.headers.update({
            "X-Netvisor-Authentication-Sender": self.sender,
            "X-Netvisor-Authentication-CustomerId": self.customer_id,
            "X-Netvisor-Authentication-PartnerId": self.partner_id,
            "X-Netvisor-Authentication-Timestamp": timestamp,
            "X-Netvisor-Authentication-TimestampUnix": unix,
            "X-Netvisor-Authentication-TransactionId": transaction,
            "X-Netvisor-Interface-Language": self.language,
            "X-Netvisor-Organisation-ID": self.organisation_id,
            "X-Netvisor-Authentication-MACHashCalculationAlgorithm": "HMACSHA256",
            "X-Netvisor-Authentication-UseHTTPResponseStatusCodes": "1",
            "X-Netvisor-Authentication-MAC": self.mac(request.url, timestamp, transaction, unix),
        })

    def mac(self, url: str, timestamp: str, transaction: str, unix: str) -> str:
        message = "&".join([url, self.sender, self.customer_id, timestamp, self.language,
                            self.organisation_id, transaction, unix, self.customer_key, self.partner_key])
        key = f"{self.customer_key}&{self.partner_key}"
        return hmac.new(key.encode("iso-8859-1"), message.encode("iso-8859-1"), hashlib.sha256).hexdigest()

    def _local(self, moment: datetime) -> str:
        """A change filter in Netvisor's local time, to the second."""
        zone = ZoneInfo(self.connection.extra_dejson.get("timezone", "Europe/Helsinki"))  # Netvisor's clock
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")

    # --- wire -----------------------------------------------------------------------------------

    def get(self, resource: str, params: dict | None = None):
        return self.client.call("GET", f"{resource}.nv", params=params, parse=_parse_reply)

    def post(self, resource: str, params: dict, body) -> str:
        """POST an XML body (an Element under <root>); returns InsertedDataIdentifier (or "")."""
        root = xml.build("root", None)
        root.append(body)
        reply = self.client.call("POST", f"{resource}.nv", params=params, data=xml.serialize(root),
                                 headers={"Content-Type": "text/xml; charset=utf-8"}, parse=_parse_reply, write=True)
        return xml.text(xml.child(reply, "Replies"), "InsertedDataIdentifier") or ""

    def probe(self) -> str:
        names = self.list_dimensions()
        return f"{len(names)} dimension headings readable"

    # --- customers ------------------------------------------------------------------------------

    def list_customers(self, changed_since: datetime | None = None) -> list[dict]:
        """Customer list rows {netvisor_key, code, name}; only those changed since, when given."""
        params = {"changedsince": self._local(changed_since)} if changed_since else None
        listing = xml.child(self.get("customerlist", params), "Customerlist")
        return [{"netvisor_key": xml.text(c, "Netvisorkey"), "code": xml.text(c, "Code"), "name": xml.text(c, "Name")}
                for c in xml.children(listing, "Customer")]

    def get_customers(self, keys: Iterable[str]) -> Iterator[dict]:
        """Full customer records for Netvisor keys, fetched up to 500 per request."""
        for chunk in _chunks(list(keys), MAX_IDLIST):
            reply = self.get("getcustomer", {"idlist": ",".join(chunk)})
            for customer in xml.children(reply, "Customer"):
                base = xml.child(customer, "CustomerBaseInformation")
                record = {key: xml.text(base, tag) for key, tag in CUSTOMER_FIELDS}
                record["netvisor_key"] = xml.text(base, "NetvisorKey")
                record["is_active"] = record["is_active"] not in ("0", "false", "False")
                yield record

    def find_customers(self, codes: Iterable[str]) -> dict[str, str]:
        """{customer code: Netvisor key} for the codes that exist (up to 100 codes a request)."""
        found: dict[str, str] = {}
        for chunk in _chunks(list(codes), MAX_CODELIST):
            listing = xml.child(self.get("customerlist", {"customercodelist": ",".join(chunk)}), "Customerlist")
            for c in xml.children(listing, "Customer"):
                if xml.text(c, "Code") in chunk:
                    found[xml.text(c, "Code")] = xml.text(c, "Netvisorkey")
        return found

    def add_customer(self, record: dict) -> str:
        return self.post("customer", {"method": "add"}, _customer_xml(record))

    def edit_customer(self, key: str, record: dict) -> None:
        self.post("customer", {"method": "edit", "id": key}, _customer_xml(record))

    # --- products -------------------------------------------------------------------------------

    def list_products(self, changed_since: datetime | None = None, keyword: str | None = None) -> list[dict]:
        params = {}
        if changed_since:
            params["changedsince"] = self._local(changed_since)
        if keyword:
            params["keyword"] = keyword
        listing = xml.child(self.get("productlist", params or None), "ProductList")
        return [{"netvisor_key": xml.text(p, "NetvisorKey"), "code": xml.text(p, "ProductCode"),
                 "name": xml.text(p, "Name")} for p in xml.children(listing, "Product")]

    def get_product(self, key: str) -> dict:
        product = xml.child(self.get("getproduct", {"id": key}), "Product")
        base = xml.child(product, "ProductBaseInformation")
        record = {k: xml.text(base, tag) for k, tag in PRODUCT_FIELDS}
        record["netvisor_key"] = xml.text(base, "NetvisorKey")
        record["unit_price"] = _decimal(record["unit_price"])
        record["vat_percent"] = _decimal(xml.text(xml.child(product, "ProductBookkeepingDetails"),
                                                  "DefaultVatPercentage"))
        record["is_active"] = record["is_active"] not in ("0", "false", "False")
        return record

    def find_product(self, code: str) -> str | None:
        return next((p["netvisor_key"] for p in self.list_products(keyword=code) if p["code"] == code), None)

    def add_product(self, record: dict) -> str:
        return self.post("product", {"method": "add"}, _product_xml(record))

    def edit_product(self, key: str, record: dict) -> None:
        self.post("product", {"method": "edit", "id": key}, _product_xml(record))

    # --- dimensions -----------------------------------------------------------------------------

    def list_dimensions(self) -> dict[str, list[str]]:
        """{heading: [item names]} including hidden ones."""
        listing = xml.child(self.get("dimensionlist", {"showhidden": "1"}), "DimensionNameList")
        return {
            xml.text(name, "Name"): [xml.text(d, "Name") for d in
                                     xml.children(xml.child(name, "DimensionDetails"), "DimensionDetail")]
            for name in xml.children(listing, "DimensionName")
        }

    def add_dimension_item(self, heading: str, item: str) -> None:
        body = xml.build("dimensionitem", {"name": heading, "item": item})
        self.post("dimensionitem", {"method": "add"}, body)

    def rename_dimension_item(self, heading: str, old_item: str, item: str) -> None:
        body = xml.build("dimensionitem", {"name": heading, "item": item, "olditem": old_item})
        self.post("dimensionitem", {"method": "edit"}, body)


def _parse_reply(response):
    """The <Root><ResponseStatus> envelope -> the root element, or the error it carries."""
    try:
        root = xml.parse(response.content)
    except xml.MalformedXml as exc:
        raise Retryable(f"HTTP {response.status_code}: {exc}", status=response.status_code) from exc
    statuses = [s.text or "" for s in xml.children(xml.child(root, "ResponseStatus"), "Status")]
    if statuses[:1] == ["OK"]:
        return root
    detail = statuses[1] if len(statuses) > 1 else f"HTTP {response.status_code}: no status in the reply"
    category = detail.split("::", 1)[0].strip()
    if category in RECORD_CATEGORIES:
        raise RecordRejected(detail, category)
    if category in TRANSIENT_CATEGORIES:
        raise Retryable(detail, status=response.status_code)
    raise ExternalSystemError("Netvisor", detail, category, response.status_code)


def _customer_xml(record: dict):
    base = {tag.lower(): _wire(record.get(key)) for key, tag in CUSTOMER_FIELDS if key in record}
    if "country" in base:
        base["country"] = (base["country"], {"type": "ISO-3166"})
    return xml.build("customer", {"customerbaseinformation": base})


def _product_xml(record: dict):
    base = {tag.lower(): _wire(record.get(key)) for key, tag in PRODUCT_FIELDS if key in record}
    if "unitprice" in base:
        base["unitprice"] = (base["unitprice"], {"type": "net"})
    content = {"productbaseinformation": base}
    if record.get("vat_percent") is not None:
        content["productbookkeepingdetails"] = {"defaultvatpercentage": _wire(record["vat_percent"])}
    return xml.build("product", content)


def _wire(value) -> str:
    """Netvisor's text form: decimals with a comma, booleans 1/0, None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return str(value)


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value.replace(",", ".").replace(" ", "")) if value else None




def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
