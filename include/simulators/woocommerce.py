"""WooCommerce REST API v3 simulator (``/wp-json/wc/v3``), written from WooCommerce's published REST
API documentation and the official Python client (``woocommerce`` 3.x), never from our hook.

What it serves, as the contract describes it:

* Auth: over HTTPS HTTP Basic with consumer key / secret (or ``consumer_key`` / ``consumer_secret``
  in the query string); over plain HTTP one-legged OAuth 1.0a in the query string (HMAC-SHA1 or
  HMAC-SHA256; key ``consumer_secret&``; base string ``METHOD&enc(url)&enc(sorted params)``), a
  timestamp at most 15 minutes old and a nonce used once. Failures: 401
  ``woocommerce_rest_authentication_error``.
* Errors: ``{"code", "message", "data": {"status"}}``; invalid parameters 400 ``rest_invalid_param``
  with ``data.params`` (e.g. a price sent as a number: prices are strings).
* Lists: ``page``, ``per_page`` (1..100, default 10), headers ``X-WP-Total`` / ``X-WP-TotalPages``,
  ``modified_after`` / ``modified_before`` (ISO 8601; compared with the GMT modification time),
  ``include``, ``search``; products also ``sku`` (comma-separated) and ``type``; orders ``status``
  (comma-separated or ``any``) and ``customer``; customers ``email``. Newest first unless
  ``order=asc``.
* Products (simple, variable) and ``/products/{id}/variations``; both with ``/batch`` (create,
  update, delete; at most 100 items, else 413 ``woocommerce_rest_request_entity_too_large``; an
  item's failure is reported in its place). A variation written through ``/products/{id}`` gives
  404 ``woocommerce_rest_invalid_product_id``. A SKU is unique across products and variations
  (400 ``product_invalid_sku``). ``price`` is the sale price while the sale runs, else the regular
  price; ``stock_status`` follows ``stock_quantity`` when stock is managed.
* Orders with ``line_items`` (``taxes`` per rate), ``shipping_lines``, ``fee_lines``,
  ``coupon_lines`` and ``tax_lines`` (``rate_percent``); totals are computed as WooCommerce does
  with prices excluding tax: each line's tax rounded to the grosz, coupons (``percent`` /
  ``fixed_cart``) spread over the lines. ``set_paid`` sets ``processing`` and ``date_paid``.
  Stock is reduced when an order reaches processing / on-hold / completed and given back when it
  is cancelled; statuses a plugin registered (config ``custom_statuses``) are accepted and leave
  the stock as it is. Notes (``/orders/{id}/notes``) and refunds (``/orders/{id}/refunds``: ``amount``,
  ``reason``, ``line_items``, ``api_restock``; a refund beyond what is left is refused; the order
  becomes ``refunded`` when fully refunded).
* Customers (e-mail unique).

Admin (``/_sim/``): ``POST /_sim/seed`` with ``{"products", "orders", "customers", "coupons"}`` -
records in the API's own shape; a product may carry ``variations`` (a list of variation records);
an order's totals are computed when it gives none. ``GET /_sim/state`` dumps everything.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import secrets
import time
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from include.simulators._common import Simulator

API = "/wp-json/wc/v3"
DEFAULT_CONFIG = {
    "consumer_key": "ck_demo0000000000000000000000000000000000",
    "consumer_secret": "cs_demo0000000000000000000000000000000000",
    "currency": "PLN",
    # The shop's tax rates (WooCommerce > Settings > Tax), per tax class ("" is the standard class).
    "tax_rates": [
        {"id": 1, "class": "", "rate": "23.0000", "name": "VAT 23%"},
        {"id": 2, "class": "reduced-rate", "rate": "8.0000", "name": "VAT 8%"},
        {"id": 3, "class": "super-reduced-rate", "rate": "5.0000", "name": "VAT 5%"},
        {"id": 4, "class": "zero-rate", "rate": "0.0000", "name": "VAT 0%"},
    ],
    "shipping_tax_class": "",
    "oauth_timestamp_window": 15 * 60,
    "custom_statuses": [],  # order statuses plugins registered (e.g. a "sent to store" one)
}
DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_BATCH = 10, 100, 100
CENT = Decimal("0.01")
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "checkout-draft")
STOCK_REDUCING = ("processing", "on-hold", "completed")


class WooError(Exception):
    def __init__(self, status: int, code: str, message: str, **data):
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data


def error_response(status: int, code: str, message: str, **data) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status, **data}}, status_code=status)


def invalid_param(name: str, reason: str) -> WooError:
    return WooError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: reason})


def auth_error(message: str) -> WooError:
    return WooError(401, "woocommerce_rest_authentication_error", message)


# -- values ------------------------------------------------------------------------------------
def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def wp_time(moment: datetime) -> str:
    """WordPress answers times without a zone (the ``_gmt`` twin is in UTC; the shop runs on UTC)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def parse_time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(name, f"{name} is not a valid date.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def dec(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        raise invalid_param(name, f"{name} is not a number.") from None
    if not number.is_finite():
        raise invalid_param(name, f"{name} is not a number.")
    return number


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def check_type(record: dict, name: str, kind: type | tuple, label: str) -> None:
    value = record.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise invalid_param(name, f"{name} is not of type {label}.")


# -- OAuth 1.0a as WooCommerce checks it -------------------------------------------------------------
def _encode(text: str) -> str:
    """rawurlencode(rawurldecode(text)) with every '%' escaped again, as WooCommerce normalises it."""
    return quote(unquote(text), safe="~").replace("%", "%25")


def oauth_signature(method: str, url: str, params: dict[str, str], secret: str, algorithm: str) -> str:
    pairs = sorted((_encode(k), _encode(v)) for k, v in params.items() if k != "oauth_signature")
    base = "&".join([method.upper(), quote(url, safe=""), "%26".join(f"{k}%3D{v}" for k, v in pairs)])
    digest = hashlib.sha256 if algorithm == "HMAC-SHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()).decode()


# -- state -------------------------------------------------------------------------------------
class Shop:
    """Products, variations, orders, notes, refunds, customers, coupons; callers hold the lock."""

    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.products: dict[int, dict] = {}  # simple / variable products and variations (type "variation")
        self.skus: dict[str, int] = {}  # SKU -> product id (unique across products and variations)
        self.orders: dict[int, dict] = {}
        self.notes: dict[int, list[dict]] = {}
        self.refunds: dict[int, list[dict]] = {}
        self.customers: dict[int, dict] = {}
        self.coupons: dict[str, dict] = {}
        self.nonces: set[tuple[str, str]] = set()
        self._next_id = 100  # WordPress posts share one id sequence
        self._next_item_id = 1

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def new_item_id(self) -> int:
        self._next_item_id += 1
        return self._next_item_id

    # products ---------------------------------------------------------------------------------
    def product(self, product_id: Any, *, variation_of: int | None = None) -> dict:
        try:
            found = self.products.get(int(product_id))
        except (TypeError, ValueError):
            found = None
        if variation_of is not None:
            if not found or found["type"] != "variation" or found["parent_id"] != variation_of:
                raise WooError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
            return found
        if not found:
            raise WooError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return found

    def parent(self, product_id: Any) -> dict:
        product = self.product(product_id)
        if product["type"] == "variation":
            raise WooError(404, "woocommerce_rest_invalid_product_id", "To manipulate product variations you should "
                           "use the /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.")
        return product

    def save_product(self, body: dict, existing: dict | None = None, parent: dict | None = None) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        for name in ("regular_price", "sale_price", "sku", "name", "tax_class", "date_on_sale_from",
                     "date_on_sale_to", "description"):
            check_type(body, name, str, "string")
        check_type(body, "stock_quantity", int, "integer")
        check_type(body, "manage_stock", bool, "boolean")
        kind = "variation" if parent else (existing or {}).get("type") or body.get("type", "simple")
        if kind not in ("simple", "variable", "variation", "grouped", "external"):
            raise invalid_param("type", "type is not one of simple, grouped, external and variable.")
        sku = body.get("sku")
        if sku and self.skus.get(sku, (existing or {}).get("id")) != (existing or {}).get("id"):
            raise WooError(400, "product_invalid_sku", "Invalid or duplicated SKU.", resource_id=existing and existing["id"])
        moment = now()
        indexed = (existing or {}).get("sku", "")
        product = existing if existing is not None else {
            "id": self.new_id(), "name": "", "slug": "", "type": kind, "status": "publish", "sku": "",
            "regular_price": "", "sale_price": "", "date_on_sale_from": None, "date_on_sale_from_gmt": None,
            "date_on_sale_to": None, "date_on_sale_to_gmt": None, "tax_status": "taxable", "tax_class": "",
            "manage_stock": False, "stock_quantity": None, "backorders": "no", "parent_id": parent["id"] if parent else 0,
            "attributes": [], "variations": [], "meta_data": [], "date_created": wp_time(moment),
            "date_created_gmt": wp_time(moment),
        }
        for name, value in body.items():
            if name in ("id", "variations", "price", "on_sale", "stock_status", "parent_id", "date_modified",
                        "date_modified_gmt", "date_created", "date_created_gmt", "type"):
                continue
            product[name] = value
        for name in ("date_on_sale_from", "date_on_sale_to"):
            if name in body:  # an empty date ends the schedule
                product[f"{name}_gmt"] = wp_time(parse_time(body[name], name)) if body[name] else None
        if sku is not None and sku != indexed:
            self.skus.pop(indexed, None)
            if sku:
                self.skus[sku] = product["id"]
        if parent and product["id"] not in parent["variations"]:
            parent["variations"].append(product["id"])
        product["date_modified"] = product["date_modified_gmt"] = wp_time(moment)
        self.products[product["id"]] = product
        return product

    def view_product(self, product: dict) -> dict:
        out = copy.deepcopy(product)
        on_sale = bool(product["sale_price"]) and self._sale_running(product)
        out["on_sale"] = on_sale
        out["price"] = product["sale_price"] if on_sale else product["regular_price"]
        if product["manage_stock"]:
            out["stock_status"] = "instock" if (product["stock_quantity"] or 0) > 0 else "outofstock"
        else:
            out["stock_status"] = product.get("stock_status_manual", "instock")
        if product["type"] == "variation":
            out.pop("variations", None)
        return out

    @staticmethod
    def _sale_running(product: dict) -> bool:
        moment = now()
        start, end = product.get("date_on_sale_from_gmt"), product.get("date_on_sale_to_gmt")
        return (not start or parse_time(start, "from") <= moment) and (not end or moment <= parse_time(end, "to"))

    def delete_product(self, product: dict) -> dict:
        view = self.view_product(product)
        for child in list(product.get("variations", [])):
            self.skus.pop(self.products.pop(child, {}).get("sku"), None)
        self.skus.pop(product["sku"], None)
        if product["parent_id"] and product["parent_id"] in self.products:
            self.products[product["parent_id"]]["variations"].remove(product["id"])
        del self.products[product["id"]]
        return view

    def batch(self, body: dict, parent: dict | None = None) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if count > MAX_BATCH:
            raise WooError(413, "woocommerce_rest_request_entity_too_large",
                           f"Unable to accept more than {MAX_BATCH} items for this request.")
        result: dict[str, list] = {}
        for action in ("create", "update", "delete"):
            if action not in body:
                continue
            result[action] = []
            for item in body[action] or []:
                try:
                    if action == "create":
                        done = self.view_product(self.save_product(item, parent=parent))
                    elif action == "update":
                        target = self._batch_target(item.get("id") if isinstance(item, dict) else None, parent)
                        done = self.view_product(self.save_product(item, target, parent))
                    else:
                        done = self.delete_product(self._batch_target(item, parent))
                except WooError as error:
                    item_id = item.get("id", 0) if isinstance(item, dict) else item
                    done = {"id": item_id, "error": {"code": error.code, "message": error.message,
                                                     "data": {"status": error.status, **error.data}}}
                result[action].append(done)
        return result

    def _batch_target(self, item_id: Any, parent: dict | None) -> dict:
        return self.product(item_id, variation_of=parent["id"]) if parent else self.parent(item_id)

    # tax ----------------------------------------------------------------------------------------
    def rate_for(self, tax_class: str) -> dict | None:
        tax_class = "" if tax_class in (None, "standard") else tax_class
        return next((r for r in self.config["tax_rates"] if r["class"] == tax_class), None)

    def tax_of(self, amount: Decimal, tax_class: str) -> Decimal:
        rate = self.rate_for(tax_class)
        return cents(amount * Decimal(rate["rate"]) / 100) if rate else Decimal(0)

    # orders -------------------------------------------------------------------------------------
    def order(self, order_id: Any) -> dict:
        try:
            found = self.orders.get(int(order_id))
        except (TypeError, ValueError):
            found = None
        if not found:
            raise WooError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return found

    def create_order(self, body: dict, *, seeded: bool = False) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        status = body.get("status", "pending")
        if status not in self.statuses() and not seeded:
            raise invalid_param("status", f"status is not one of {', '.join(self.statuses())}.")
        moment = now()
        order = {
            "id": body.get("id") or self.new_id(), "parent_id": 0, "status": "pending",
            "currency": body.get("currency", self.config["currency"]), "prices_include_tax": False,
            "customer_id": body.get("customer_id", 0), "customer_note": body.get("customer_note", ""),
            "billing": body.get("billing", {}), "shipping": body.get("shipping", {}),
            "payment_method": body.get("payment_method", ""), "payment_method_title": body.get("payment_method_title", ""),
            "transaction_id": body.get("transaction_id", ""), "meta_data": [], "date_paid": None, "date_paid_gmt": None,
            "date_completed": None, "date_completed_gmt": None, "refunds": [],
            "date_created": body.get("date_created") or wp_time(moment),
            "date_created_gmt": body.get("date_created_gmt") or wp_time(moment),
            "stock_reduced": False,
        }
        order["number"] = str(body.get("number") or order["id"])
        order["order_key"] = body.get("order_key") or f"wc_order_{secrets.token_hex(6)}"
        order["meta_data"] = [self._meta(m) for m in body.get("meta_data", [])]
        if seeded and all(k in body for k in ("total", "line_items")):
            order.update(copy.deepcopy({k: v for k, v in body.items() if k not in ("id",)}))
            order.setdefault("stock_reduced", False)
        else:
            self._build_lines(order, body)
        self.orders[order["id"]] = order
        if seeded:  # an order the shop already holds: the seeded stock already reflects it
            order["status"] = status
            order["stock_reduced"] = status in STOCK_REDUCING
            if status in ("processing", "completed") and not order["date_paid_gmt"]:
                order["date_paid"] = order["date_paid_gmt"] = order["date_created_gmt"]
        else:
            self.set_status(order, "processing" if body.get("set_paid") else status, paid=body.get("set_paid"))
        order["date_modified"] = order["date_modified_gmt"] = body.get("date_modified_gmt") or wp_time(moment)
        return order

    def _meta(self, meta: dict) -> dict:
        if not isinstance(meta, dict) or "key" not in meta:
            raise invalid_param("meta_data", "meta_data[0][key] is a required property of meta_data[0].")
        return {"id": meta.get("id") or self.new_item_id(), "key": meta["key"], "value": meta.get("value")}

    def _build_lines(self, order: dict, body: dict) -> None:
        """Lines, shipping, fees, coupons and tax lines from the request, priced as the shop does."""
        lines = []
        for raw in body.get("line_items", []):
            check_type(raw, "quantity", int, "integer")
            product = self.product(raw.get("variation_id") or raw.get("product_id"))
            quantity = raw.get("quantity", 1)
            view = self.view_product(product)
            price = dec(raw.get("price", view["price"] or 0), "price")
            subtotal = dec(raw["subtotal"], "subtotal") if "subtotal" in raw else cents(price * quantity)
            lines.append({"id": self.new_item_id(), "name": product["name"],
                          "product_id": product["parent_id"] or product["id"],
                          "variation_id": product["id"] if product["parent_id"] else 0, "quantity": quantity,
                          "tax_class": product["tax_class"], "sku": product["sku"], "price": float(price),
                          "_subtotal": subtotal, "_total": dec(raw["total"], "total") if "total" in raw else subtotal,
                          "meta_data": []})
        coupon_lines = []
        for raw in body.get("coupon_lines", []):
            coupon = self.coupons.get(str(raw.get("code", "")).lower())
            if not coupon:
                raise WooError(400, "woocommerce_rest_invalid_coupon", f'Coupon "{raw.get("code")}" does not exist!')
            discounts = self._discounts(coupon, [line["_total"] for line in lines])
            for line, discount in zip(lines, discounts):
                line["_total"] -= discount
            coupon_lines.append({"id": self.new_item_id(), "code": coupon["code"], "_discounts": discounts})
        taxes: dict[int, dict] = {}

        def taxed(amount: Decimal, tax_class: str, kind: str) -> tuple[Decimal, list]:
            rate = self.rate_for(tax_class)
            if rate is None:
                return Decimal(0), []
            tax = cents(amount * Decimal(rate["rate"]) / 100)
            entry = taxes.setdefault(rate["id"], {"rate": rate, "items": Decimal(0), "shipping": Decimal(0)})
            entry[kind] += tax
            return tax, [{"id": rate["id"], "total": money(tax), "subtotal": money(tax) if kind == "items" else ""}]

        discount_tax = Decimal(0)
        for line in lines:
            subtotal_tax = self.tax_of(line["_subtotal"], line["tax_class"])
            tax, line_taxes = taxed(line["_total"], line["tax_class"], "items")
            for entry in line_taxes:
                entry["subtotal"] = money(subtotal_tax)
            discount_tax += subtotal_tax - tax
            line.update(subtotal=money(line.pop("_subtotal")), subtotal_tax=money(subtotal_tax),
                        total=money(line.pop("_total")), total_tax=money(tax), taxes=line_taxes)
        for coupon in coupon_lines:
            discounts = coupon.pop("_discounts")
            coupon["discount"] = money(sum(discounts, Decimal(0)))
            coupon["discount_tax"] = money(sum((self.tax_of(d, line["tax_class"]) for d, line in zip(discounts, lines)),
                                               Decimal(0)))
        shipping_lines = []
        for raw in body.get("shipping_lines", []):
            check_type(raw, "total", str, "string")
            total = dec(raw.get("total", "0"), "total")
            tax, line_taxes = taxed(total, self.config["shipping_tax_class"], "shipping")
            shipping_lines.append({"id": self.new_item_id(), "method_title": raw.get("method_title", ""),
                                   "method_id": raw.get("method_id", ""), "instance_id": str(raw.get("instance_id", "0")),
                                   "total": money(total), "total_tax": money(tax), "taxes": line_taxes,
                                   "meta_data": [self._meta(m) for m in raw.get("meta_data", [])]})
        fee_lines = []
        for raw in body.get("fee_lines", []):
            check_type(raw, "total", str, "string")
            total = dec(raw.get("total", "0"), "total")
            taxable = raw.get("tax_status", "taxable") == "taxable"
            tax, line_taxes = taxed(total, raw.get("tax_class", ""), "items") if taxable else (Decimal(0), [])
            fee_lines.append({"id": self.new_item_id(), "name": raw.get("name", ""), "tax_class": raw.get("tax_class", ""),
                              "tax_status": "taxable" if taxable else "none", "total": money(total),
                              "total_tax": money(tax), "taxes": line_taxes})
        tax_lines = [{"id": self.new_item_id(), "rate_code": f"PL-{e['rate']['name']}-1", "rate_id": rid,
                      "label": e["rate"]["name"], "compound": False, "tax_total": money(e["items"]),
                      "shipping_tax_total": money(e["shipping"]), "rate_percent": float(Decimal(e["rate"]["rate"])),
                      "meta_data": []} for rid, e in sorted(taxes.items())]
        items_total = sum((dec(line["total"], "total") for line in lines), Decimal(0))
        fees_total = sum((dec(f["total"], "total") for f in fee_lines), Decimal(0))
        shipping_total = sum((dec(s["total"], "total") for s in shipping_lines), Decimal(0))
        cart_tax = sum((e["items"] for e in taxes.values()), Decimal(0))
        shipping_tax = sum((e["shipping"] for e in taxes.values()), Decimal(0))
        order.update(
            line_items=lines, shipping_lines=shipping_lines, fee_lines=fee_lines, coupon_lines=coupon_lines,
            tax_lines=tax_lines,
            discount_total=money(sum((dec(c["discount"], "d") for c in coupon_lines), Decimal(0))),
            discount_tax=money(discount_tax), shipping_total=money(shipping_total), shipping_tax=money(shipping_tax),
            cart_tax=money(cart_tax), total_tax=money(cart_tax + shipping_tax),
            total=money(items_total + fees_total + shipping_total + cart_tax + shipping_tax))

    @staticmethod
    def _discounts(coupon: dict, totals: list[Decimal]) -> list[Decimal]:
        amount = dec(coupon.get("amount"), "amount")
        if coupon.get("discount_type", "fixed_cart") == "percent":
            return [cents(t * amount / 100) for t in totals]
        base = sum(totals, Decimal(0))
        amount = min(amount, base)
        shares = [cents(amount * t / base) if base else Decimal(0) for t in totals]
        if shares:
            shares[-1] += amount - sum(shares, Decimal(0))
        return shares

    def statuses(self) -> tuple[str, ...]:
        """WooCommerce's order statuses and those a plugin registered (config ``custom_statuses``)."""
        return (*ORDER_STATUSES, *self.config.get("custom_statuses", ()))

    def set_status(self, order: dict, status: str, *, paid: bool = False) -> None:
        if status not in self.statuses():
            raise invalid_param("status", f"status is not one of {', '.join(self.statuses())}.")
        moment = wp_time(now())
        if status in STOCK_REDUCING and not order["stock_reduced"]:
            self._move_stock(order, -1)
            order["stock_reduced"] = True
        elif status in ("cancelled", "pending", "failed") and order["stock_reduced"]:
            self._move_stock(order, +1)
            order["stock_reduced"] = False
        if (paid or status in ("processing", "completed")) and not order["date_paid_gmt"]:
            order["date_paid"] = order["date_paid_gmt"] = moment
        if status == "completed" and not order["date_completed_gmt"]:
            order["date_completed"] = order["date_completed_gmt"] = moment
        order["status"] = status
        order["date_modified"] = order["date_modified_gmt"] = moment

    def _move_stock(self, order: dict, sign: int, quantities: dict[int, int] | None = None) -> None:
        for line in order["line_items"]:
            product = self.products.get(line.get("variation_id") or line.get("product_id"))
            quantity = (quantities or {}).get(line["id"], line["quantity"]) if quantities is not None else line["quantity"]
            if product and product["manage_stock"] and quantity:
                product["stock_quantity"] = (product["stock_quantity"] or 0) + sign * quantity
                product["date_modified"] = product["date_modified_gmt"] = wp_time(now())

    def update_order(self, order: dict, body: dict) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        for name in ("billing", "shipping", "customer_note", "transaction_id", "payment_method",
                     "payment_method_title", "customer_id"):
            if name in body:
                order[name] = body[name]
        for meta in body.get("meta_data", []):
            self._upsert_meta(order["meta_data"], meta)
        if "status" in body or body.get("set_paid"):
            self.set_status(order, "processing" if body.get("set_paid") else body["status"], paid=body.get("set_paid"))
        order["date_modified"] = order["date_modified_gmt"] = wp_time(now())
        return order

    def _upsert_meta(self, metas: list[dict], meta: dict) -> None:
        meta = self._meta(meta)
        same = next((m for m in metas if m["key"] == meta["key"]), None)
        if same:
            same["value"] = meta["value"]
        else:
            metas.append(meta)

    def view_order(self, order: dict) -> dict:
        out = copy.deepcopy(order)
        out.pop("stock_reduced", None)
        return out

    def add_note(self, order: dict, body: dict) -> dict:
        if not isinstance(body, dict) or not str(body.get("note") or "").strip():
            raise WooError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        moment = wp_time(now())
        note = {"id": self.new_item_id(), "author": "WooCommerce" if not body.get("added_by_user") else "admin",
                "date_created": moment, "date_created_gmt": moment, "note": str(body["note"]),
                "customer_note": bool(body.get("customer_note", False))}
        self.notes.setdefault(order["id"], []).append(note)
        return note

    def add_refund(self, order: dict, body: dict) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        check_type(body, "amount", str, "string")
        refunded = sum((dec(r["amount"], "amount") for r in self.refunds.get(order["id"], [])), Decimal(0))
        left = dec(order["total"], "total") - refunded
        lines = body.get("line_items") or []
        known = {line["id"]: line for line in order["line_items"]}
        if any(line.get("id") not in known for line in lines):
            raise WooError(400, "woocommerce_rest_invalid_order_refund", "Invalid line item ID.")
        refunded_lines = [self._refunded_line(known[line["id"]], line) for line in lines]
        amount = dec(body["amount"], "amount") if body.get("amount") is not None else -sum(
            (dec(r["total"], "total") + dec(r["total_tax"], "total_tax") for r in refunded_lines), Decimal(0))
        if amount <= 0 or amount > left:
            raise WooError(500, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.")
        moment = wp_time(now())
        refund = {"id": self.new_id(), "date_created": moment, "date_created_gmt": moment, "amount": money(amount),
                  "reason": str(body.get("reason", "")), "refunded_by": 1,
                  "refunded_payment": bool(body.get("api_refund", True)), "meta_data": [], "line_items": refunded_lines}
        if body.get("api_restock", True):
            self._move_stock(order, +1, {line["id"]: abs(int(line.get("quantity") or 0)) for line in lines})
        self.refunds.setdefault(order["id"], []).append(refund)
        order["refunds"].append({"id": refund["id"], "reason": refund["reason"], "total": money(-amount)})
        if amount == left:
            order["status"] = "refunded"
        order["date_modified"] = order["date_modified_gmt"] = moment
        return refund

    def _refunded_line(self, item: dict, asked: dict) -> dict:
        """A refund's line: the order line's product at minus the refunded quantity and amounts."""
        total = dec(asked.get("refund_total"), "refund_total")
        tax = sum((dec(t.get("refund_total"), "refund_total") for t in asked.get("refund_tax", [])), Decimal(0))
        return {"id": self.new_item_id(), "name": item["name"], "product_id": item["product_id"],
                "variation_id": item["variation_id"], "quantity": -abs(int(asked.get("quantity") or 0)),
                "sku": item["sku"], "subtotal": money(-total), "total": money(-total), "total_tax": money(-tax),
                "refunded_item_id": item["id"]}

    # customers ----------------------------------------------------------------------------------
    def save_customer(self, body: dict, existing: dict | None = None) -> dict:
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        email = str(body.get("email", (existing or {}).get("email", ""))).strip().lower()
        if not email or "@" not in email:
            raise WooError(400, "registration-error-invalid-email", "Please provide a valid email address.")
        if any(c["email"] == email and c is not existing for c in self.customers.values()):
            raise WooError(400, "registration-error-email-exists",
                           "An account is already registered with your email address.")
        moment = wp_time(now())
        customer = existing if existing is not None else {
            "id": self.new_id(), "date_created": moment, "date_created_gmt": moment, "role": "customer",
            "first_name": "", "last_name": "", "username": email.split("@")[0], "billing": {}, "shipping": {},
            "is_paying_customer": False, "meta_data": []}
        customer.update({k: v for k, v in body.items() if k in ("first_name", "last_name", "billing", "shipping",
                                                                "username", "meta_data")})
        customer["email"] = email
        customer["date_modified"] = customer["date_modified_gmt"] = moment
        self.customers[customer["id"]] = customer
        return customer

    # admin ----------------------------------------------------------------------------------------
    def seed(self, payload: dict) -> dict:
        created: dict[str, list] = {"products": [], "orders": [], "customers": []}
        for coupon in payload.get("coupons", []):
            self.coupons[coupon["code"].lower()] = dict(coupon)
        for raw in payload.get("products", []):
            raw = dict(raw)
            variations = raw.pop("variations", [])
            product = self.save_product(raw)
            for variation in variations:
                self.save_product(variation, parent=product)
            if raw.get("date_modified_gmt"):
                product["date_modified"] = product["date_modified_gmt"] = raw["date_modified_gmt"]
            created["products"].append({"id": product["id"], "sku": product["sku"], "variations": [
                {"id": v, "sku": self.products[v]["sku"]} for v in product["variations"]]})
        for raw in payload.get("customers", []):
            created["customers"].append(self.save_customer(raw)["id"])
        for raw in payload.get("orders", []):
            created["orders"].append(self.create_order(raw, seeded=True)["id"])
        return created

    def dump(self) -> dict:
        return {"products": [self.view_product(p) for p in sorted(self.products.values(), key=lambda p: p["id"])],
                "orders": [self.view_order(o) for o in sorted(self.orders.values(), key=lambda o: o["id"])],
                "notes": {str(k): v for k, v in self.notes.items()},
                "refunds": {str(k): v for k, v in self.refunds.items()},
                "customers": sorted(self.customers.values(), key=lambda c: c["id"])}


# -- lists --------------------------------------------------------------------------------------
def _int(params, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None
    if value < low or (high is not None and value > high):
        raise invalid_param(name, f"{name} must be between {low} ({low}) and {high} ({high})."
                            if high else f"{name} must be greater than or equal to {low}")
    return value


def listing(rows: list[dict], params, view) -> Response:
    """Filter by the common list parameters, page, and answer with WordPress's paging headers."""
    for name, keep in (("modified_after", lambda t, m: t > m), ("modified_before", lambda t, m: t < m)):
        if params.get(name):
            moment = parse_time(params[name], name)
            rows = [r for r in rows if keep(parse_time(r["date_modified_gmt"], name), moment)]
    if params.get("include"):
        wanted = {int(i) for i in params["include"].split(",") if i.strip().isdigit()}
        rows = [r for r in rows if r["id"] in wanted]
    if params.get("search"):
        needle = params["search"].lower()
        rows = [r for r in rows if needle in str(r.get("name") or r.get("email") or r.get("number") or "").lower()]
    rows = sorted(rows, key=lambda r: (r.get("date_created_gmt") or "", r["id"]),
                  reverse=params.get("order", "desc") != "asc")
    page, per_page = _int(params, "page", 1, 1), _int(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    total = len(rows)
    body = [view(r) for r in rows[(page - 1) * per_page: page * per_page]]
    return JSONResponse(body, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(math.ceil(total / per_page))})


# -- app ---------------------------------------------------------------------------------------------
def create_app(config: dict | None = None) -> FastAPI:
    """Build the WooCommerce simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("woocommerce", error_response)
    sim.config.update(copy.deepcopy(DEFAULT_CONFIG) | (config or {}))
    shop = Shop(sim.config)
    sim.on_reset(shop.reset)
    sim.on_seed(shop.seed)
    sim.on_state(shop.dump)
    app = sim.app

    def authenticate(request: Request) -> None:
        key, secret = sim.config["consumer_key"], sim.config["consumer_secret"]
        if request.url.scheme == "https":
            kind, _, token = request.headers.get("authorization", "").partition(" ")
            if kind.lower() == "basic":
                try:
                    given_key, _, given_secret = base64.b64decode(token).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    raise auth_error("Consumer key is invalid.") from None
            else:
                given_key = request.query_params.get("consumer_key", "")
                given_secret = request.query_params.get("consumer_secret", "")
            if not given_key and not given_secret:
                raise WooError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            if not secrets.compare_digest(given_key.encode(), key.encode()):
                raise auth_error("Consumer key is invalid.")
            if not secrets.compare_digest(given_secret.encode(), secret.encode()):
                raise auth_error("Consumer secret is invalid.")
            return
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))  # the last value wins, as in PHP
        if not any(k.startswith("oauth_") for k in params):
            raise WooError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        for name in ("oauth_consumer_key", "oauth_signature", "oauth_signature_method", "oauth_timestamp", "oauth_nonce"):
            if not params.get(name):
                raise auth_error(f"Missing OAuth parameter {name}")
        if not secrets.compare_digest(params["oauth_consumer_key"].encode(), key.encode()):
            raise auth_error("Consumer key is invalid.")
        algorithm = params["oauth_signature_method"]
        if algorithm not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise auth_error("Invalid signature - signature method is invalid.")
        url = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{request.url.path}"
        expected = oauth_signature(request.method, url, params, secret, algorithm)
        if not hmac.compare_digest(expected, params["oauth_signature"]):
            raise auth_error("Invalid signature - provided signature does not match.")
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            raise auth_error("Invalid timestamp.") from None
        if abs(time.time() - stamp) > sim.config["oauth_timestamp_window"]:
            raise auth_error("Invalid timestamp.")
        nonce = (params["oauth_nonce"], params["oauth_timestamp"])
        if nonce in shop.nonces:
            raise auth_error("Invalid nonce - nonce has already been used.")
        shop.nonces.add(nonce)

    async def call(request: Request, action, status: int = 200) -> Response:
        raw = await request.body()
        try:
            with sim.lock:
                authenticate(request)
                body = None
                if request.method in ("POST", "PUT", "PATCH"):
                    try:
                        body = json.loads(raw or b"{}")
                    except ValueError:
                        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
                result = action(body)
        except WooError as error:
            return error_response(error.status, error.code, error.message, **error.data)
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(API):
            return await http_exception_handler(request, exc)
        if exc.status_code == 405:
            return error_response(404, "rest_no_route", "No route was found matching the URL and request method.")
        return error_response(exc.status_code, "rest_no_route", "No route was found matching the URL and request method.")

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    editable = ["POST", "PUT", "PATCH"]

    # products ------------------------------------------------------------------------------------
    @app.get(API + "/products")
    async def products(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = [p for p in shop.products.values() if p["type"] != "variation"]
            if params.get("sku"):
                skus = set(params["sku"].split(","))
                rows = [p for p in rows if p["sku"] in skus]
            if params.get("type"):
                rows = [p for p in rows if p["type"] == params["type"]]
            return listing(rows, params, shop.view_product)
        return await call(request, action)

    @app.post(API + "/products")
    async def product_create(request: Request) -> Response:
        return await call(request, lambda body: shop.view_product(shop.save_product(body)), status=201)

    @app.post(API + "/products/batch")
    async def products_batch(request: Request) -> Response:
        return await call(request, lambda body: shop.batch(body))

    @app.get(API + "/products/{product_id}")
    async def product_get(product_id: str, request: Request) -> Response:
        return await call(request, lambda _: shop.view_product(shop.product(product_id)))

    @app.api_route(API + "/products/{product_id}", methods=editable)
    async def product_update(product_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.view_product(shop.save_product(body, shop.parent(product_id))))

    @app.delete(API + "/products/{product_id}")
    async def product_delete(product_id: str, request: Request) -> Response:
        return await call(request, lambda _: shop.delete_product(shop.parent(product_id)))

    @app.get(API + "/products/{product_id}/variations")
    async def variations(product_id: str, request: Request) -> Response:
        def action(_):
            parent = shop.parent(product_id)
            rows = [shop.products[v] for v in parent["variations"]]
            if request.query_params.get("sku"):
                skus = set(request.query_params["sku"].split(","))
                rows = [v for v in rows if v["sku"] in skus]
            return listing(rows, request.query_params, shop.view_product)
        return await call(request, action)

    @app.post(API + "/products/{product_id}/variations")
    async def variation_create(product_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.view_product(shop.save_product(body, parent=shop.parent(product_id))),
                          status=201)

    @app.post(API + "/products/{product_id}/variations/batch")
    async def variations_batch(product_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.batch(body, shop.parent(product_id)))

    @app.get(API + "/products/{product_id}/variations/{variation_id}")
    async def variation_get(product_id: str, variation_id: str, request: Request) -> Response:
        return await call(request, lambda _: shop.view_product(
            shop.product(variation_id, variation_of=shop.parent(product_id)["id"])))

    @app.api_route(API + "/products/{product_id}/variations/{variation_id}", methods=editable)
    async def variation_update(product_id: str, variation_id: str, request: Request) -> Response:
        def action(body):
            parent = shop.parent(product_id)
            return shop.view_product(shop.save_product(body, shop.product(variation_id, variation_of=parent["id"]), parent))
        return await call(request, action)

    # orders -----------------------------------------------------------------------------------------
    @app.get(API + "/orders")
    async def orders(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = list(shop.orders.values())
            statuses = set((params.get("status") or "any").split(","))
            if "any" not in statuses:
                rows = [o for o in rows if o["status"] in statuses]
            if params.get("customer"):
                rows = [o for o in rows if str(o["customer_id"]) == params["customer"]]
            return listing(rows, params, shop.view_order)
        return await call(request, action)

    @app.post(API + "/orders")
    async def order_create(request: Request) -> Response:
        return await call(request, lambda body: shop.view_order(shop.create_order(body)), status=201)

    @app.get(API + "/orders/{order_id}")
    async def order_get(order_id: str, request: Request) -> Response:
        return await call(request, lambda _: shop.view_order(shop.order(order_id)))

    @app.api_route(API + "/orders/{order_id}", methods=editable)
    async def order_update(order_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.view_order(shop.update_order(shop.order(order_id), body)))

    @app.get(API + "/orders/{order_id}/notes")
    async def notes(order_id: str, request: Request) -> Response:
        def action(_):
            kind = request.query_params.get("type", "any")
            rows = shop.notes.get(shop.order(order_id)["id"], [])
            return [n for n in reversed(rows) if kind == "any" or n["customer_note"] == (kind == "customer")]
        return await call(request, action)

    @app.post(API + "/orders/{order_id}/notes")
    async def note_create(order_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.add_note(shop.order(order_id), body), status=201)

    @app.get(API + "/orders/{order_id}/refunds")
    async def refunds(order_id: str, request: Request) -> Response:
        def action(_):
            rows = shop.refunds.get(shop.order(order_id)["id"], [])
            return listing(rows, request.query_params, copy.deepcopy)
        return await call(request, action)

    @app.post(API + "/orders/{order_id}/refunds")
    async def refund_create(order_id: str, request: Request) -> Response:
        return await call(request, lambda body: shop.add_refund(shop.order(order_id), body), status=201)

    # customers --------------------------------------------------------------------------------------
    @app.get(API + "/customers")
    async def customers(request: Request) -> Response:
        def action(_):
            params = request.query_params
            rows = list(shop.customers.values())
            if params.get("email"):
                rows = [c for c in rows if c["email"] == params["email"].strip().lower()]
            return listing(rows, params, copy.deepcopy)
        return await call(request, action)

    @app.post(API + "/customers")
    async def customer_create(request: Request) -> Response:
        return await call(request, lambda body: shop.save_customer(body), status=201)

    @app.get(API + "/customers/{customer_id}")
    async def customer_get(customer_id: int, request: Request) -> Response:
        def action(_):
            if customer_id not in shop.customers:
                raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            return shop.customers[customer_id]
        return await call(request, action)

    @app.api_route(API + "/customers/{customer_id}", methods=editable)
    async def customer_update(customer_id: int, request: Request) -> Response:
        def action(body):
            if customer_id not in shop.customers:
                raise WooError(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            return shop.save_customer(body, shop.customers[customer_id])
        return await call(request, action)

    return app


DEMO_SEED: dict = {
    "products": [
        {"name": "Kubek ceramiczny", "type": "simple", "sku": "MUG-01", "regular_price": "39.00",
         "manage_stock": True, "stock_quantity": 12},
        {"name": "Koszulka", "type": "variable", "sku": "TEE", "variations": [
            {"sku": "TEE-M", "regular_price": "79.00", "manage_stock": True, "stock_quantity": 5},
            {"sku": "TEE-L", "regular_price": "79.00", "manage_stock": True, "stock_quantity": 3}]},
        {"name": "Herbata", "type": "simple", "sku": "TEA-01", "regular_price": "24.00", "tax_class": "super-reduced-rate",
         "manage_stock": True, "stock_quantity": 40},
    ],
    "coupons": [{"code": "rabat10", "discount_type": "percent", "amount": "10"}],
}
