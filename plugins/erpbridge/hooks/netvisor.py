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

    def __init__(self, netvisor_conn_id: str | None = None, **kwargs):
        super().__init__(netvisor_conn_id, **kwargs)

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

    # --- documents: sales invoices, workday records ---------------------------------------------

    def list_sales_invoices(self, begin: str | None = None, end: str | None = None) -> list[dict]:
        """Sales invoice list rows {netvisor_key, number, date, customer_code, amount} by invoice date."""
        params = {k: v for k, v in {"begininvoicedate": begin, "endinvoicedate": end}.items() if v}
        listing = xml.child(self.get("salesinvoicelist", params or None), "SalesInvoiceList")
        return [{"netvisor_key": xml.text(i, "NetvisorKey"), "number": xml.text(i, "InvoiceNumber"),
                 "date": xml.text(i, "InvoiceDate"), "customer_code": xml.text(i, "CustomerCode"),
                 "amount": _decimal(xml.text(i, "InvoiceSum"))} for i in xml.children(listing, "SalesInvoice")]

    def add_sales_invoice(self, invoice: dict) -> str:
        """A new sales invoice (the mapping's payload: number, date, amount, lines ...); its Netvisor key."""
        return self.post("salesinvoice", {"method": "add"}, _sales_invoice_xml(invoice))

    def list_trip_expenses(self, employee: str) -> list[dict]:
        """Trip expense rows {netvisor_key, number, employee, our_reference} of one employee.

        ``tripexpenselist.nv`` is this project's assumption (the public contract names no list)."""
        listing = xml.child(self.get("tripexpenselist", {"employeeidentifier": employee}), "TripExpenseList")
        return [{"netvisor_key": xml.text(t, "NetvisorKey"), "number": xml.text(t, "TripExpenseNumber"),
                 "employee": xml.text(t, "EmployeeIdentifier"), "our_reference": xml.text(t, "OurReference")}
                for t in xml.children(listing, "TripExpense")]

    def add_trip_expense(self, expense: dict) -> str:
        """A travel expense (employee, number, date, lines[], attachments[]) with its PDFs inside."""
        return self.post("tripexpense", {"method": "add"}, _trip_expense_xml(expense))

    def list_purchase_invoices(self, status: str, begin: str | None = None, end: str | None = None) -> list[dict]:
        """Purchase invoice list rows {netvisor_key, number, date, vendor} in one status (open|approved|accepted)."""
        params = {k: v for k, v in {"invoicestatus": status, "begininvoicedate": begin, "endinvoicedate": end}.items()
                  if v}
        listing = xml.child(self.get("purchaseinvoicelist", params), "PurchaseInvoiceList")
        return [{"netvisor_key": xml.text(i, "NetvisorKey"), "number": xml.text(i, "InvoiceNumber"),
                 "date": xml.text(i, "InvoiceDate"), "vendor": xml.text(i, "Vendor")}
                for i in xml.children(listing, "PurchaseInvoice")]

    def get_purchase_invoice(self, key: str) -> dict:
        """One purchase invoice with its lines (quantity, unit_price, vat_percent, product_code,
        description, dimensions [(heading, item)])."""
        invoice = xml.child(self.get("getpurchaseinvoice", {"netvisorkey": key}), "PurchaseInvoice")
        lines = []
        for line in xml.children(xml.child(invoice, "PurchaseInvoiceLines"), "PurchaseInvoiceLine"):
            lines.append({"netvisor_key": xml.text(line, "NetvisorKey"),
                          "quantity": _decimal(xml.text(line, "DeliveredAmount")),
                          "unit_price": _decimal(xml.text(line, "UnitPrice")),
                          "line_sum": _decimal(xml.text(line, "LineSum")),
                          "vat_percent": _decimal(xml.text(line, "VatPercent")),
                          "product_code": xml.text(line, "ProductCode") or "",
                          "description": xml.text(line, "Description") or "",
                          "dimensions": [(xml.text(d, "DimensionName"), xml.text(d, "DimensionItem"))
                                         for d in xml.children(line, "Dimension")]})
        return {"netvisor_key": key, "number": xml.text(invoice, "PurchaseInvoiceNumber"),
                "date": xml.text(invoice, "PurchaseInvoiceDate"), "vendor": xml.text(invoice, "PurchaseInvoiceVendorName"),
                "status": xml.text(invoice, "InvoiceStatus"), "lines": lines}

    def save_workday(self, day: dict) -> None:
        """One person's day of hours (employee, date, method, hours[]); ``replace`` makes a resend safe."""
        self.post("workday", {}, _workday_xml(day))


def _parse_reply(response):
    """The <Root><ResponseStatus> envelope -> the root element, or the error it carries."""
    root = xml.parse_response(response, "Netvisor")
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


def _dimension_xml(dimensions) -> list[dict]:
    return [{"dimensionname": heading, "dimensionitem": item} for heading, item in dimensions]


def _sales_invoice_xml(invoice: dict):
    lines = []
    for line in invoice["lines"]:
        product_line = {
            "productidentifier": (line["product"], {"type": "customer"}),
            "productname": line["name"],
            "productunitprice": (_wire(line["unit_price"]), {"type": "net"}),
            "productvatpercentage": (_wire(line["vat_percent"]), {"vatcode": line["vat_code"]}),
            "salesinvoiceproductlinequantity": _wire(line["quantity"]),
        }
        if line.get("accrual"):
            product_line["accrual"] = {"startdate": (line["accrual"]["start"], {"format": "ansi"}),
                                       "enddate": (line["accrual"]["end"], {"format": "ansi"})}
        if line.get("dimensions"):
            product_line["dimension"] = _dimension_xml(line["dimensions"])
        lines.append({"salesinvoiceproductline": product_line})
    amount_attrs = ({"iso4217currencycode": invoice["currency"], "currencyrate": _wire(invoice["currency_rate"])}
                    if invoice.get("currency") else {})
    return xml.build("salesinvoice", {
        "salesinvoicenumber": invoice["number"],
        "salesinvoicedate": (invoice["date"], {"format": "ansi"}),
        "salesinvoiceamount": (_wire(invoice["amount"]), amount_attrs),
        "salesinvoicestatus": (invoice["status"], {"type": "netvisor"}),
        "salesinvoiceourreference": invoice["reference"],
        "invoicingcustomeridentifier": (invoice["customer"], {"type": "customer"}),
        "invoicelines": {"invoiceline": lines},
    })


def _workday_xml(day: dict):
    hours = []
    for hour in day["hours"]:
        entry = {"hours": _wire(hour["hours"]), "collectorratio": (hour["record_type"], {"type": "number"}),
                 "acceptancestatus": hour["acceptance"], "description": hour.get("description") or ""}
        if hour.get("dimensions"):
            entry["dimension"] = _dimension_xml(hour["dimensions"])
        hours.append(entry)
    return xml.build("workday", {
        "date": (day["date"], {"format": "ansi", "method": day["method"]}),
        "employeeidentifier": (day["employee"], {"type": "number"}),
        "workdayhour": hours,
    })


def _trip_expense_xml(expense: dict):
    import base64

    lines = []
    for line in expense["lines"]:
        entry = {"wagetypecode": line["wage_type"], "linedate": (line["date"], {"format": "ansi"}),
                 "quantity": _wire(line["quantity"]), "unitamount": _wire(line["unit_amount"]),
                 "description": line.get("description") or ""}
        if line.get("dimensions"):
            entry["dimension"] = _dimension_xml(line["dimensions"])
        lines.append(entry)
    content = {
        "tripexpensenumber": expense["number"],
        "tripexpenseourreference": expense["reference"],
        "employeeidentifier": (expense["employee"], {"type": "number"}),
        "date": (expense["date"], {"format": "ansi"}),
        "tripexpenselines": {"tripexpenseline": lines},
    }
    if expense.get("attachments"):
        content["tripexpenseattachments"] = {"tripexpenseattachment": [
            {"mimetype": a["content_type"], "filename": a["filename"],
             "documentdata": (base64.b64encode(bytes(a["content"])).decode("ascii"), {"type": "pdf"})}
            for a in expense["attachments"]]}
    return xml.build("tripexpense", content)

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
