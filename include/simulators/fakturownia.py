"""Fakturownia API simulator, written from the vendor's public API description (the
``fakturownia/API`` repository: README.md, KSeF.md), never from our hook.

What it serves, as that description gives it:

* Every resource as ``/<resource>.json`` and ``/<resource>/<id>.json``; the API token as the
  ``api_token`` parameter (query or top-level JSON field) or, as the live API also takes it, an
  ``Authorization: Bearer`` header. Bodies wrap the record (``{"invoice": {...}}``, ``client``,
  ``product``, ``warehouse``, ``warehouse_document``, ``banking_payment``).
* Lists are bare JSON arrays; ``page`` (default 1) and ``per_page`` (default 25, at most 100).
* ``products`` (code, ean_code, price_net / price_gross / tax, stock per warehouse: ``stock_level``
  of the warehouse named by ``warehouse_id``, else of all); ``date_from`` lists the products added
  or changed (stock included) since that time. The net price of an update is computed from the
  gross price and the tax, never taken as given.
* ``warehouses``; ``warehouse_documents`` of kind ``pz`` (receipt), ``wz`` (issue) and ``mm``
  (transfer to each action's ``warehouse2_id``), each moving the stock of its ``warehouse_actions``.
* ``clients`` with the filters ``name``, ``email``, ``shortcut``, ``tax_no``, ``external_id``.
* ``invoices``: the kinds of the README (``vat``, ``receipt``, ``estimate`` - the customer order -,
  ``correction`` ...), numbered per kind, positions priced from ``price_net``, ``price_gross`` or
  ``total_price_gross`` and ``tax``; ``oid`` with ``oid_unique: "yes"`` refuses a second document
  with that order id; ``client_id`` or the ``buyer_*`` fields (matched to an existing client, else a
  new one, as the README says); list filters ``period``, ``date_from`` / ``date_to``, ``client_id``,
  ``number``, ``kind``, ``kinds[]``, ``invoice_ids``, ``include_positions``; ``status`` issued / sent /
  paid / partial / rejected and ``POST /invoices/{id}/change_status.json?status=``; KSeF fields
  ``gov_save_and_send``, ``gov_status``, ``gov_id``, ``gov_error_messages``. Sales documents (not
  orders, proformas or estimates) with a ``warehouse_id`` issue the stock of their product
  positions; a correction's negative quantities take it back.
* ``banking/payments`` (``price``, ``invoice_id`` or ``invoice_ids`` settled in order, ``paid``):
  the invoices' ``paid`` amount and status follow.
* ``price_lists`` (list, add, update, delete: name, description, currency and
  ``price_list_positions_attributes`` keyed "0", "1", ..., each ``priceable_id`` / ``priceable_type``
  ``Product``, ``use_percentage`` / ``percentage``, ``price_net``, ``price_gross``, ``use_tax``, ``tax``;
  an update's position with an ``id`` changes that position, one without is added).

Where the description is silent (ASSUMED here, and in our hook's "verify first" list): errors are
``{"code": "error", "message": ...}`` - 401 for a missing or wrong token, 404 for an unknown id,
422 with ``message`` a ``{field: [reasons]}`` object for refused data (``oid`` taken: "jest już
zajęty"), 400 for a missing wrapper; the invoice list also filters by ``oid`` and answers oldest
first; the price list list shows each list's positions as ``price_list_positions`` (the README
shows only what is sent) and a position's net and gross prices as given.

Admin (``/_sim/``): ``POST /_sim/seed`` with ``{"warehouses", "products" (``stock``: {warehouse id:
quantity}), "clients", "invoices"}``; ``GET /_sim/state`` dumps everything.
"""

from __future__ import annotations

import copy
import json
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from include.simulators._common import Simulator

DEFAULT_CONFIG = {"api_token": "demo-fakturownia-token", "seller_name": "Sklep Demo Sp. z o.o.",
                  "seller_tax_no": "5252344078"}
DEFAULT_PER_PAGE, MAX_PER_PAGE = 25, 100
CENT = Decimal("0.01")
KINDS = ("vat", "proforma", "bill", "receipt", "advance", "final", "correction", "invoice_other", "vat_margin",
         "kp", "kw", "estimate", "vat_mp", "vat_rr", "correction_note", "accounting_note", "client_order", "dw",
         "wnt", "wdt", "import_service", "import_service_eu", "import_products", "export_products")
NUMBER_PREFIX = {"vat": "FV", "receipt": "PAR", "estimate": "ZAM", "correction": "KOR", "proforma": "PRO",
                 "client_order": "ZW", "bill": "R"}
NOT_ISSUING_STOCK = ("estimate", "proforma", "client_order", "advance", "kp", "kw", "correction_note", "accounting_note")
STATUSES = ("issued", "sent", "paid", "partial", "rejected")
WAREHOUSE_KINDS = ("pz", "wz", "mm", "pw", "rw")
TAX_WORDS = ("zw", "np", "disabled", "oo")


class FakturowniaError(Exception):
    def __init__(self, status: int, message: Any):
        super().__init__(str(message))
        self.status, self.message = status, message


def error_response(status: int, code: str, message: Any) -> JSONResponse:
    return JSONResponse({"code": "error", "message": message}, status_code=status)


def refused(field: str, reason: str) -> FakturowniaError:
    return FakturowniaError(422, {field: [reason]})


def not_found() -> FakturowniaError:
    return FakturowniaError(404, "Not found")


# -- values --------------------------------------------------------------------------------------------
def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def dec(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation:
        raise refused(field, "nie jest liczbą") from None
    if not number.is_finite():
        raise refused(field, "nie jest liczbą")
    return number


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def quantity_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def rate(tax: Any) -> Decimal:
    """The VAT rate of a ``tax`` value: a number, or a word (zw, np...) meaning no tax."""
    if str(tax).strip().lower() in TAX_WORDS:
        return Decimal(0)
    return dec(tax, "tax")


def day(value: Any, field: str) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise refused(field, "nie jest poprawną datą") from None


def record_id(value: Any) -> int:
    try:
        return int(str(value).removesuffix(".json"))
    except ValueError:
        raise not_found() from None


# -- state ----------------------------------------------------------------------------------------
class Account:
    """One Fakturownia account's data; callers hold the simulator lock."""

    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.warehouses: dict[int, dict] = {}
        self.products: dict[int, dict] = {}
        self.stock: dict[int, dict[int, Decimal]] = {}  # product id -> warehouse id -> quantity
        self.clients: dict[int, dict] = {}
        self.invoices: dict[int, dict] = {}
        self.documents: dict[int, dict] = {}
        self.payments: dict[int, dict] = {}
        self.price_lists: dict[int, dict] = {}
        self.numbers: dict[tuple[str, str], int] = {}
        self._next_id = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _get(self, table: dict, record: Any) -> dict:
        found = table.get(record_id(record))
        if found is None:
            raise not_found()
        return found

    # warehouses ----------------------------------------------------------------------------------
    def save_warehouse(self, body: dict, existing: dict | None = None) -> dict:
        if not (existing or {}).get("name") and not str(body.get("name") or "").strip():
            raise refused("name", "nie może być puste")
        moment = stamp(now())
        warehouse = existing or {"id": self.new_id(), "kind": None, "description": None, "created_at": moment}
        warehouse.update({k: body[k] for k in ("name", "kind", "description") if k in body})
        warehouse["updated_at"] = moment
        self.warehouses[warehouse["id"]] = warehouse
        return warehouse

    def warehouse(self, value: Any, field: str = "warehouse_id") -> int:
        try:
            key = int(value)
        except (TypeError, ValueError):
            raise refused(field, "nie istnieje") from None
        if key not in self.warehouses:
            raise refused(field, "nie istnieje")
        return key

    # products --------------------------------------------------------------------------------------
    def save_product(self, body: dict, existing: dict | None = None) -> dict:
        name = body.get("name", (existing or {}).get("name"))
        if not str(name or "").strip():
            raise refused("name", "nie może być puste")
        moment = stamp(now())
        product = existing or {"id": self.new_id(), "code": None, "ean_code": None, "description": None,
                               "price_net": "0.00", "price_gross": "0.00", "tax": "23", "currency": "PLN",
                               "service": False, "limited": False, "disabled": False, "quantity_unit": "szt",
                               "created_at": moment}
        for key in ("name", "code", "ean_code", "description", "currency", "service", "limited", "disabled",
                    "quantity_unit", "tag_list", "supplier_code", "weight"):
            if key in body:
                product[key] = body[key]
        tax = body.get("tax", product["tax"])
        multiplier = 1 + rate(tax) / 100
        if "price_gross" in body:
            gross = dec(body["price_gross"], "price_gross")
            product["price_gross"], product["price_net"] = money(gross), money(gross / multiplier)
        elif "price_net" in body and existing is None:
            net = dec(body["price_net"], "price_net")
            product["price_net"], product["price_gross"] = money(net), money(net * multiplier)
        product["tax"] = str(tax)
        product["updated_at"] = moment
        self.products[product["id"]] = product
        self.stock.setdefault(product["id"], {})
        return product

    def view_product(self, product: dict, warehouse_id: Any = None) -> dict:
        out = copy.deepcopy(product)
        levels = self.stock.get(product["id"], {})
        if warehouse_id not in (None, ""):
            out["warehouse_id"] = self.warehouse(warehouse_id)
            out["stock_level"] = quantity_text(levels.get(int(warehouse_id), Decimal(0)))
        else:
            out["stock_level"] = quantity_text(sum(levels.values(), Decimal(0)))
        return out

    def move(self, product_id: int, warehouse_id: int, delta: Decimal) -> None:
        levels = self.stock.setdefault(product_id, {})
        levels[warehouse_id] = levels.get(warehouse_id, Decimal(0)) + delta
        self.products[product_id]["updated_at"] = stamp(now())

    def product_of(self, action: dict, field: str) -> dict:
        if action.get("product_id") not in (None, ""):
            found = self.products.get(record_id(action["product_id"]))
            if found is None:
                raise refused(f"{field}.product_id", "nie istnieje")
            return found
        name = str(action.get("product_name") or action.get("name") or "").strip()
        found = next((p for p in self.products.values() if p["name"] == name), None) if name else None
        if found is None:
            raise refused(f"{field}.product", "nie istnieje")
        return found

    # warehouse documents ----------------------------------------------------------------------------
    def create_document(self, body: dict) -> dict:
        kind = body.get("kind")
        if kind not in WAREHOUSE_KINDS:
            raise refused("kind", "nie jest na liście")
        source = self.warehouse(body.get("warehouse_id"))
        actions = body.get("warehouse_actions") or []
        if not actions:
            raise refused("warehouse_actions", "nie może być puste")
        planned = []
        for index, action in enumerate(actions):
            product = self.product_of(action, f"warehouse_actions[{index}]")
            quantity = dec(action.get("quantity", 1), "quantity")
            target = self.warehouse(action.get("warehouse2_id"), "warehouse2_id") if kind == "mm" else None
            if kind == "mm" and target == source:
                raise refused("warehouse2_id", "musi być inny niż magazyn wydający")
            planned.append((product, quantity, target, action))
        sign = 1 if kind in ("pz", "pw") else -1
        for product, quantity, target, _ in planned:
            self.move(product["id"], source, sign * quantity)
            if target:
                self.move(product["id"], target, quantity)
        moment = stamp(now())
        document = {"id": self.new_id(), "kind": kind, "number": self.next_number(kind.upper(), moment),
                    "warehouse_id": source, "issue_date": body.get("issue_date") or moment[:10],
                    "client_id": body.get("client_id"), "client_name": body.get("client_name"),
                    "department_name": body.get("department_name"), "description": body.get("description"),
                    "invoice_ids": body.get("invoice_ids", []), "created_at": moment, "updated_at": moment,
                    "warehouse_actions": [{"id": self.new_id(), "product_id": p["id"], "product_name": p["name"],
                                           "quantity": quantity_text(q), "warehouse2_id": t,
                                           "purchase_price_net": a.get("purchase_price_net"), "price_net": a.get("price_net")}
                                          for p, q, t, a in planned]}
        self.documents[document["id"]] = document
        return document

    def next_number(self, prefix: str, moment: str) -> str:
        period = f"{moment[5:7]}/{moment[:4]}"
        key = (prefix, period)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        return f"{prefix} {self.numbers[key]}/{period}"

    # clients ------------------------------------------------------------------------------------------
    def save_client(self, body: dict, existing: dict | None = None) -> dict:
        company = str(body.get("company", (existing or {}).get("company", True))).lower() not in ("false", "0")
        name = body.get("name", (existing or {}).get("name"))
        if not str(name or "").strip():
            if company or not str(body.get("last_name") or "").strip():
                raise refused("name", "nie może być puste")
            name = f"{body.get('first_name', '')} {body['last_name']}".strip()
        moment = stamp(now())
        client = existing or {"id": self.new_id(), "created_at": moment, "tax_no": None, "email": None,
                              "external_id": None, "shortcut": None}
        client.update({k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")})
        client.update(name=name, company=company, updated_at=moment)
        self.clients[client["id"]] = client
        return client

    # invoices -----------------------------------------------------------------------------------------
    def create_invoice(self, body: dict) -> dict:
        kind = body.get("kind", "vat")
        if kind not in KINDS:
            raise refused("kind", "nie jest na liście")
        oid = str(body.get("oid") or "") or None
        if oid and str(body.get("oid_unique", "")).lower() in ("yes", "true", "1"):
            if any(i.get("oid") == oid for i in self.invoices.values()):
                raise refused("oid", "jest już zajęty")
        positions = body.get("positions") or []
        if not positions:
            raise refused("positions", "nie może być puste")
        client = self._buyer(body)
        warehouse_id = self.warehouse(body["warehouse_id"]) if body.get("warehouse_id") not in (None, "") else None
        if kind == "correction":
            corrected = self.invoices.get(record_id(body.get("invoice_id") or body.get("from_invoice_id") or 0))
            if corrected is None:
                raise refused("invoice_id", "faktura korygowana nie istnieje")
        lines = [self._position(p, index) for index, p in enumerate(positions)]
        moment = stamp(now())
        net = sum((dec(p["total_price_net"], "n") for p in lines), Decimal(0))
        gross = sum((dec(p["total_price_gross"], "g") for p in lines), Decimal(0))
        invoice = {
            "id": self.new_id(), "kind": kind, "income": str(body.get("income", "1")),
            "number": body.get("number") or self.next_number(NUMBER_PREFIX.get(kind, kind.upper()), moment),
            "issue_date": day(body.get("issue_date") or moment, "issue_date"),
            "sell_date": str(body.get("sell_date") or moment[:10]),
            "payment_to": body.get("payment_to"), "payment_type": body.get("payment_type"),
            "status": body.get("status") or "issued", "paid": "0.00", "paid_date": None,
            "currency": body.get("currency", "PLN"), "lang": body.get("lang", "pl"),
            "seller_name": body.get("seller_name") or self.config["seller_name"],
            "seller_tax_no": body.get("seller_tax_no") or self.config["seller_tax_no"],
            "client_id": client["id"], "buyer_name": client["name"], "buyer_tax_no": client.get("tax_no"),
            "buyer_email": client.get("email"), "buyer_company": client.get("company"),
            "oid": oid, "oid_unique": body.get("oid_unique"), "warehouse_id": warehouse_id,
            "description": body.get("description"), "internal_note": body.get("internal_note"),
            "invoice_id": body.get("invoice_id"), "from_invoice_id": body.get("from_invoice_id"),
            "correction_reason": body.get("correction_reason"),
            "exclude_from_stock_level": bool(body.get("exclude_from_stock_level")),
            "price_net": money(net), "price_gross": money(gross), "price_tax": money(gross - net),
            "gov_save_and_send": bool(body.get("gov_save_and_send")), "gov_status": None, "gov_id": None,
            "gov_error_messages": [], "positions": lines, "created_at": moment, "updated_at": moment,
        }
        if invoice["gov_save_and_send"]:
            invoice["gov_status"] = "processing"
        if invoice["status"] == "paid":
            invoice["paid"], invoice["paid_date"] = invoice["price_gross"], moment[:10]
        if warehouse_id and kind not in NOT_ISSUING_STOCK and not invoice["exclude_from_stock_level"]:
            for line in lines:
                if line["product_id"]:
                    self.move(line["product_id"], warehouse_id, -dec(line["quantity"], "quantity"))
        self.invoices[invoice["id"]] = invoice
        return invoice

    def _buyer(self, body: dict) -> dict:
        """The client named by ``client_id``; else one matching the buyer fields; else a new one."""
        if body.get("client_id") not in (None, "", -1, "-1"):
            found = self.clients.get(record_id(body["client_id"]))
            if found is None:
                raise refused("client_id", "nie istnieje")
            return found
        name = str(body.get("buyer_name") or "").strip() or " ".join(
            str(body.get(k) or "") for k in ("buyer_first_name", "buyer_last_name")).strip()
        if not name:
            raise refused("buyer_name", "nie może być puste")
        tax_no, email = body.get("buyer_tax_no") or None, body.get("buyer_email") or None
        for client in self.clients.values():
            if client["name"] == name and client.get("tax_no") == tax_no and client.get("email") == email:
                return client
        return self.save_client({"name": name, "tax_no": tax_no, "email": email,
                                 "company": body.get("buyer_company", bool(tax_no)),
                                 "street": body.get("buyer_street"), "city": body.get("buyer_city"),
                                 "post_code": body.get("buyer_post_code"), "country": body.get("buyer_country")})

    def _position(self, raw: dict, index: int) -> dict:
        field = f"positions[{index}]"
        product = self.product_of(raw, field) if raw.get("product_id") not in (None, "") else None
        name = raw.get("name") or (product or {}).get("name")
        if not name:
            raise refused(f"{field}.name", "nie może być puste")
        quantity = dec(raw.get("quantity", 1), f"{field}.quantity")
        tax = raw.get("tax", (product or {}).get("tax", "23"))
        multiplier = 1 + rate(tax) / 100
        if raw.get("total_price_gross") not in (None, ""):
            gross = dec(raw["total_price_gross"], f"{field}.total_price_gross")
            net = (gross / multiplier).quantize(CENT, ROUND_HALF_UP)
        elif raw.get("price_gross") not in (None, ""):
            gross = (dec(raw["price_gross"], f"{field}.price_gross") * quantity).quantize(CENT, ROUND_HALF_UP)
            net = (gross / multiplier).quantize(CENT, ROUND_HALF_UP)
        else:
            price_net = raw.get("price_net", (product or {}).get("price_net"))
            if price_net in (None, ""):
                raise refused(f"{field}.price_net", "nie może być puste")
            net = (dec(price_net, f"{field}.price_net") * quantity).quantize(CENT, ROUND_HALF_UP)
            gross = (net * multiplier).quantize(CENT, ROUND_HALF_UP)
        unit = quantity if quantity else Decimal(1)
        return {"id": self.new_id(), "product_id": product["id"] if product else None, "name": name,
                "code": raw.get("code") or (product or {}).get("code"), "quantity": quantity_text(quantity),
                "quantity_unit": raw.get("quantity_unit", "szt"), "tax": str(tax),
                "price_net": money(net / unit), "price_gross": money(gross / unit),
                "total_price_net": money(net), "total_price_gross": money(gross),
                "description": raw.get("description"), "kind": raw.get("kind")}

    def update_invoice(self, invoice: dict, body: dict) -> dict:
        for key in ("status", "description", "internal_note", "payment_to", "buyer_email", "gov_save_and_send"):
            if key in body:
                if key == "status" and body[key] not in STATUSES:
                    raise refused("status", "nie jest na liście")
                invoice[key] = body[key]
        invoice["updated_at"] = stamp(now())
        return invoice

    def view_invoice(self, invoice: dict, positions: bool = True) -> dict:
        out = copy.deepcopy(invoice)
        if not positions:
            out.pop("positions")
        return out

    # payments -------------------------------------------------------------------------------------------
    def create_payment(self, body: dict) -> dict:
        price = dec(body.get("price"), "price")
        ids = body.get("invoice_ids") or ([body["invoice_id"]] if body.get("invoice_id") not in (None, "") else [])
        invoices = []
        for value in ids:
            found = self.invoices.get(record_id(value))
            if found is None:
                raise refused("invoice_id", "nie istnieje")
            invoices.append(found)
        moment = stamp(now())
        paid = str(body.get("paid", True)).lower() not in ("false", "0")
        payment = {"id": self.new_id(), "name": body.get("name"), "price": money(price),
                   "currency": body.get("currency", "PLN"), "paid": paid, "kind": body.get("kind", "api"),
                   "invoice_id": invoices[0]["id"] if len(invoices) == 1 else None,
                   "invoice_ids": [i["id"] for i in invoices], "client_id": invoices[0]["client_id"] if invoices else None,
                   "description": body.get("description"), "paid_date": body.get("paid_date") or moment,
                   "created_at": moment, "updated_at": moment}
        left = price
        if paid:
            for invoice in invoices:
                due = dec(invoice["price_gross"], "g") - dec(invoice["paid"], "p")
                share = min(left, due)
                left -= share
                invoice["paid"] = money(dec(invoice["paid"], "p") + share)
                invoice["status"] = "paid" if dec(invoice["paid"], "p") >= dec(invoice["price_gross"], "g") else "partial"
                invoice["paid_date"] = moment[:10]
                invoice["updated_at"] = moment
        self.payments[payment["id"]] = payment
        return payment

    # price lists -----------------------------------------------------------------------------------------
    def save_price_list(self, body: dict, existing: dict | None = None) -> dict:
        if not (existing or {}).get("name") and not str(body.get("name") or "").strip():
            raise refused("name", "nie może być puste")
        moment = stamp(now())
        price_list = existing or {"id": self.new_id(), "description": None, "currency": "PLN",
                                  "price_list_positions": [], "created_at": moment}
        price_list.update({k: body[k] for k in ("name", "description", "currency") if k in body})
        attributes = body.get("price_list_positions_attributes") or {}
        rows = attributes.values() if isinstance(attributes, dict) else attributes
        positions = {p["id"]: p for p in price_list["price_list_positions"]}
        for raw in rows:
            position = positions.get(record_id(raw["id"])) if raw.get("id") else None
            if raw.get("id") and position is None:
                raise refused("price_list_positions", "nie istnieje")
            position = self._price_position(raw, position)
            positions[position["id"]] = position
        price_list["price_list_positions"] = sorted(positions.values(), key=lambda p: p["id"])
        price_list["updated_at"] = moment
        self.price_lists[price_list["id"]] = price_list
        return price_list

    def _price_position(self, raw: dict, existing: dict | None) -> dict:
        position = existing or {"id": self.new_id(), "priceable_type": "Product", "use_percentage": "0",
                                "percentage": None, "price_net": None, "price_gross": None, "use_tax": "1",
                                "tax": "23"}
        for key in ("priceable_id", "priceable_name", "priceable_type", "use_percentage", "percentage", "use_tax",
                    "tax"):
            if key in raw:
                position[key] = raw[key]
        product_id = str(position.get("priceable_id") or "")
        if position.get("priceable_type") != "Product" or not product_id.isdigit() or int(product_id) not in self.products:
            raise refused("price_list_positions.priceable", "nie istnieje")
        position["priceable_id"] = int(product_id)
        for key in ("price_net", "price_gross"):
            if raw.get(key) not in (None, ""):
                position[key] = money(dec(raw[key], f"price_list_positions.{key}"))
        return position

    # admin ---------------------------------------------------------------------------------------------
    def seed(self, payload: dict) -> dict:
        created: dict[str, list] = {"warehouses": [], "products": [], "clients": [], "invoices": []}
        for raw in payload.get("warehouses", []):
            warehouse = self.save_warehouse(raw)
            if raw.get("id"):
                self.warehouses[int(raw["id"])] = self.warehouses.pop(warehouse["id"]) | {"id": int(raw["id"])}
                warehouse = self.warehouses[int(raw["id"])]
            created["warehouses"].append(warehouse["id"])
        for raw in payload.get("products", []):
            product = self.save_product({k: v for k, v in raw.items() if k not in ("stock", "updated_at")})
            for warehouse_id, quantity in (raw.get("stock") or {}).items():
                self.stock[product["id"]][self.warehouse(warehouse_id)] = dec(quantity, "stock")
            if raw.get("updated_at"):
                product["updated_at"] = raw["updated_at"]
            created["products"].append({"id": product["id"], "code": product["code"]})
        for raw in payload.get("clients", []):
            created["clients"].append(self.save_client(raw)["id"])
        for raw in payload.get("invoices", []):
            created["invoices"].append(self.create_invoice(raw)["id"])
        for raw in payload.get("price_lists", []):
            created.setdefault("price_lists", []).append(self.save_price_list(raw)["id"])
        return created

    def dump(self) -> dict:
        return {"warehouses": sorted(self.warehouses.values(), key=lambda w: w["id"]),
                "products": [self.view_product(p) | {"stock": {str(w): quantity_text(q) for w, q in
                                                                self.stock.get(p["id"], {}).items()}}
                             for p in sorted(self.products.values(), key=lambda p: p["id"])],
                "clients": sorted(self.clients.values(), key=lambda c: c["id"]),
                "invoices": sorted(self.invoices.values(), key=lambda i: i["id"]),
                "warehouse_documents": sorted(self.documents.values(), key=lambda d: d["id"]),
                "payments": sorted(self.payments.values(), key=lambda p: p["id"]),
                "price_lists": sorted(self.price_lists.values(), key=lambda p: p["id"])}


# -- lists ------------------------------------------------------------------------------------------------
def page_of(rows: list[dict], params) -> list[dict]:
    try:
        page = max(int(params.get("page", 1)), 1)
        per_page = min(max(int(params.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
    except ValueError:
        raise FakturowniaError(400, "page and per_page must be numbers") from None
    return rows[(page - 1) * per_page: page * per_page]


def since(params) -> datetime | None:
    value = params.get("date_from")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FakturowniaError(400, "date_from is not a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def in_period(invoice: dict, params) -> bool:
    period = params.get("period", "all")
    issued = date.fromisoformat(invoice["issue_date"])
    today = now().date()
    if period == "this_month":
        return issued.year == today.year and issued.month == today.month
    if period == "last_30_days":
        return issued >= today - timedelta(days=30)
    if period == "more":
        start, end = params.get("date_from"), params.get("date_to")
        return (not start or issued >= date.fromisoformat(start)) and (not end or issued <= date.fromisoformat(end))
    return True


# -- app -------------------------------------------------------------------------------------------------
def create_app(config: dict | None = None) -> FastAPI:
    """Build the Fakturownia simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("fakturownia", error_response)
    sim.config.update(DEFAULT_CONFIG | (config or {}))
    account = Account(sim.config)
    sim.on_reset(account.reset)
    sim.on_seed(account.seed)
    sim.on_state(account.dump)
    app = sim.app

    def authenticate(request: Request, body: Any) -> None:
        kind, _, bearer = request.headers.get("authorization", "").partition(" ")
        given = (request.query_params.get("api_token")
                 or (body.get("api_token") if isinstance(body, dict) else None)
                 or (bearer.strip() if kind.lower() == "bearer" else ""))
        if not given or not secrets.compare_digest(str(given).encode(), str(sim.config["api_token"]).encode()):
            raise FakturowniaError(401, "You must be logged in to gain access to the site")

    def wrapped(body: Any, key: str) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise FakturowniaError(400, f"param is missing or the value is empty: {key}")
        return body[key]

    async def call(request: Request, action, status: int = 200) -> Response:
        raw = await request.body()
        try:
            body = None
            if request.method in ("POST", "PUT", "PATCH") and raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise FakturowniaError(400, "the request body is not valid JSON") from None
            with sim.lock:
                authenticate(request, body)
                result = action(body)
        except FakturowniaError as error:
            return error_response(error.status, "error", error.message)
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_sim/"):
            return await http_exception_handler(request, exc)
        return error_response(exc.status_code, "error", "Not found" if exc.status_code == 404 else str(exc.detail))

    app.add_exception_handler(StarletteHTTPException, on_http_error)

    # warehouses
    @app.get("/warehouses.json")
    async def warehouses(request: Request) -> Response:
        return await call(request, lambda _: page_of(sorted(account.warehouses.values(), key=lambda w: w["id"]),
                                                     request.query_params))

    @app.post("/warehouses.json")
    async def warehouse_create(request: Request) -> Response:
        return await call(request, lambda body: account.save_warehouse(wrapped(body, "warehouse")), status=201)

    @app.get("/warehouses/{wid}.json")
    async def warehouse_get(wid: str, request: Request) -> Response:
        return await call(request, lambda _: account._get(account.warehouses, wid))

    @app.put("/warehouses/{wid}.json")
    async def warehouse_update(wid: str, request: Request) -> Response:
        return await call(request, lambda body: account.save_warehouse(wrapped(body, "warehouse"),
                                                                       account._get(account.warehouses, wid)))

    # products
    @app.get("/products.json")
    async def products(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = sorted(account.products.values(), key=lambda p: p["id"])
            changed = since(params)
            if changed:
                rows = [p for p in rows if datetime.fromisoformat(p["updated_at"]) >= changed]
            return [account.view_product(p, params.get("warehouse_id")) for p in page_of(rows, params)]
        return await call(request, action)

    @app.post("/products.json")
    async def product_create(request: Request) -> Response:
        return await call(request, lambda body: account.view_product(account.save_product(wrapped(body, "product"))),
                          status=201)

    @app.get("/products/{pid}.json")
    async def product_get(pid: str, request: Request) -> Response:
        return await call(request, lambda _: account.view_product(account._get(account.products, pid),
                                                                  request.query_params.get("warehouse_id")))

    @app.put("/products/{pid}.json")
    async def product_update(pid: str, request: Request) -> Response:
        return await call(request, lambda body: account.view_product(
            account.save_product(wrapped(body, "product"), account._get(account.products, pid))))

    # price lists
    @app.get("/price_lists.json")
    async def price_lists(request: Request) -> Response:
        return await call(request, lambda _: page_of(sorted(account.price_lists.values(), key=lambda p: p["id"]),
                                                     request.query_params))

    @app.post("/price_lists.json")
    async def price_list_create(request: Request) -> Response:
        return await call(request, lambda body: account.save_price_list(wrapped(body, "price_list")), status=201)

    @app.put("/price_lists/{lid}.json")
    async def price_list_update(lid: str, request: Request) -> Response:
        return await call(request, lambda body: account.save_price_list(wrapped(body, "price_list"),
                                                                        account._get(account.price_lists, lid)))

    @app.delete("/price_lists/{lid}.json")
    async def price_list_delete(lid: str, request: Request) -> Response:
        return await call(request, lambda _: account.price_lists.pop(account._get(account.price_lists, lid)["id"]))

    # warehouse documents
    @app.get("/warehouse_documents.json")
    async def documents(request: Request) -> Response:
        def action(_):
            rows = sorted(account.documents.values(), key=lambda d: d["id"])
            if request.query_params.get("kind"):
                rows = [d for d in rows if d["kind"] == request.query_params["kind"]]
            return page_of(rows, request.query_params)
        return await call(request, action)

    @app.post("/warehouse_documents.json")
    async def document_create(request: Request) -> Response:
        return await call(request, lambda body: account.create_document(wrapped(body, "warehouse_document")),
                          status=201)

    @app.get("/warehouse_documents/{did}.json")
    async def document_get(did: str, request: Request) -> Response:
        return await call(request, lambda _: account._get(account.documents, did))

    # clients
    @app.get("/clients.json")
    async def clients(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = sorted(account.clients.values(), key=lambda c: c["id"])
            for key in ("name", "email", "shortcut", "tax_no", "external_id"):
                if params.get(key):
                    rows = [c for c in rows if str(c.get(key) or "").lower() == params[key].lower()]
            return page_of(rows, params)
        return await call(request, action)

    @app.post("/clients.json")
    async def client_create(request: Request) -> Response:
        return await call(request, lambda body: account.save_client(wrapped(body, "client")), status=201)

    @app.get("/clients/{cid}.json")
    async def client_get(cid: str, request: Request) -> Response:
        return await call(request, lambda _: account._get(account.clients, cid))

    @app.put("/clients/{cid}.json")
    async def client_update(cid: str, request: Request) -> Response:
        return await call(request, lambda body: account.save_client(wrapped(body, "client"),
                                                                    account._get(account.clients, cid)))

    # invoices
    @app.get("/invoices.json")
    async def invoices(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = [i for i in sorted(account.invoices.values(), key=lambda i: i["id"]) if in_period(i, params)]
            kinds = params.getlist("kinds[]") or ([params["kind"]] if params.get("kind") else [])
            if kinds:
                rows = [i for i in rows if i["kind"] in kinds]
            for key in ("client_id", "number", "oid"):
                if params.get(key):
                    rows = [i for i in rows if str(i.get(key)) == params[key]]
            if params.get("invoice_ids"):
                wanted = {int(v) for v in params["invoice_ids"].split(",") if v.strip().isdigit()}
                rows = [i for i in rows if i["id"] in wanted]
            with_positions = params.get("include_positions") == "true"
            return [account.view_invoice(i, with_positions) for i in page_of(rows, params)]
        return await call(request, action)

    @app.post("/invoices.json")
    async def invoice_create(request: Request) -> Response:
        return await call(request, lambda body: account.view_invoice(account.create_invoice(wrapped(body, "invoice"))),
                          status=201)

    @app.get("/invoices/{iid}.json")
    async def invoice_get(iid: str, request: Request) -> Response:
        return await call(request, lambda _: account.view_invoice(account._get(account.invoices, iid)))

    @app.put("/invoices/{iid}.json")
    async def invoice_update(iid: str, request: Request) -> Response:
        return await call(request, lambda body: account.view_invoice(
            account.update_invoice(account._get(account.invoices, iid), wrapped(body, "invoice"))))

    @app.post("/invoices/{iid}/change_status.json")
    async def invoice_status(iid: str, request: Request) -> Response:
        def action(_):
            account.update_invoice(account._get(account.invoices, iid), {"status": request.query_params.get("status")})
            return {"code": "success", "message": "Status zmieniony"}
        return await call(request, action)

    # payments
    @app.get("/banking/payments.json")
    async def payments(request: Request) -> Response:
        def action(_):
            rows = page_of(sorted(account.payments.values(), key=lambda p: p["id"]), request.query_params)
            if request.query_params.get("include") == "invoices":
                return [p | {"invoices": [account.view_invoice(account.invoices[i], False) for i in p["invoice_ids"]]}
                        for p in rows]
            return rows
        return await call(request, action)

    @app.post("/banking/payments.json")
    async def payment_create(request: Request) -> Response:
        return await call(request, lambda body: account.create_payment(wrapped(body, "banking_payment")), status=201)

    @app.get("/banking/payments/{pid}.json")
    @app.get("/banking/payment/{pid}.json")  # the README's spelling; the live API answers the plural one
    async def payment_get(pid: str, request: Request) -> Response:
        return await call(request, lambda _: account._get(account.payments, pid))

    return app


SEEDED_AT = "2026-01-02T08:00:00+00:00"  # before any test's changes
DEMO_SEED: dict = {
    "warehouses": [{"id": 1, "name": "Magazyn sklepu internetowego"}, {"id": 2, "name": "Sklep Kraków"}],
    "products": [
        {"name": "Kubek ceramiczny", "code": "MUG-01", "price_gross": "39.00", "tax": "23", "stock": {"1": 12, "2": 4},
         "updated_at": SEEDED_AT},
        {"name": "Koszulka M", "code": "TEE-M", "price_gross": "79.00", "tax": "23", "stock": {"1": 5},
         "updated_at": SEEDED_AT},
        {"name": "Koszulka L", "code": "TEE-L", "price_gross": "79.00", "tax": "23", "stock": {"1": 3},
         "updated_at": SEEDED_AT},
        {"name": "Herbata", "code": "TEA-01", "price_gross": "24.00", "tax": "5", "stock": {"1": 40},
         "updated_at": SEEDED_AT},
    ],
}
