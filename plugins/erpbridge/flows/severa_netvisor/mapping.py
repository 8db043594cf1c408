"""Severa <-> Netvisor register mappings (R-A.1 .. R-A.5). Pure: no I/O.

Netvisor records are the NetvisorHook's plain dicts; Severa records are the API's JSON.
"""

from __future__ import annotations

import re

from erpbridge.engine import checks
from erpbridge.errors import RecordRejected, RecordSkipped

TEMP_CODE = "TEMP"
NAME_MAX = 250
CODE_MAX = 16
DIMENSION_ITEM_MAX = 200
_FI_VAT = re.compile(r"^FI(\d{7})(\d)$")


def netvisor_customer_code(number) -> str:
    """R-A.2: the code given to Netvisor is numeric and does not start with 0."""
    code = str(number).strip() if number is not None else ""
    if not code:
        raise RecordRejected("customer has no customer number; the customer code for Netvisor is that number")
    if not code.isdigit() or not code.isascii():
        raise RecordRejected(f"customer code {code!r} is not numeric; this integration gives Netvisor digits-only customer codes")
    if code.startswith("0"):
        raise RecordRejected(f"customer code {code!r} starts with 0; this integration gives Netvisor no customer code starting with 0")
    if len(code) > CODE_MAX:
        raise RecordRejected(f"customer code {code!r} is longer than {CODE_MAX} digits", "INVALID_DATA_SIZE")
    return code


def severa_customer_to_netvisor(customer: dict) -> dict:
    code = netvisor_customer_code(customer.get("number"))
    who = f"customer {code}"
    address = customer.get("headquarterAddress") or {}
    return {
        "code": code,
        "name": checks.text(who, "name", customer.get("name"), required=True, max_length=NAME_MAX),
        "business_id": business_id(customer.get("vatNumber")),
        "street_address": checks.text(who, "street address", address.get("addressline"), max_length=100),
        "city": checks.text(who, "city", address.get("city"), max_length=50),
        "post_number": checks.text(who, "postal code", address.get("postalCode"), max_length=20),
        "country": checks.text(who, "country code", address.get("country"), max_length=2),
        "email": checks.text(who, "email", customer.get("email"), max_length=250),
        "is_active": bool(customer.get("isActive", True)),
    }


def netvisor_customer_to_severa(customer: dict) -> dict:
    """A Netvisor customer as a Severa customer. Severa's customer number is an integer; its address
    (``headquarterAddress``) is read-only in the contract's CustomerModel and is not written."""
    code = checks.text("Netvisor customer", "code", customer.get("code"), required=True, max_length=50)
    who = f"customer {code}"
    if not code.isdigit() or not code.isascii():
        raise RecordRejected(f"{who}: Severa's customer number is an integer; the code {code!r} is not one")
    return {
        "number": int(code),
        "name": checks.text(who, "name", customer.get("name"), required=True, max_length=NAME_MAX),
        "vatNumber": customer.get("business_id") or None,
        "email": customer.get("email") or None,
        "isActive": bool(customer.get("is_active", True)),
    }


def severa_product_to_netvisor(product: dict, product_group: str) -> dict:
    code = checks.text("product", "code", product.get("code"), required=True, max_length=50)
    who = f"product {code}"
    price = (product.get("unitPrice") or {}).get("amount")
    return {
        "code": code,
        "name": checks.text(who, "name", product.get("name"), required=True, max_length=200),
        "product_group": product_group,
        "unit_price": checks.amount(who, "unit price", price),
        "unit": checks.text(who, "unit", product.get("measurementUnit"), max_length=20),
        "vat_percent": checks.amount(who, "VAT rate", product.get("vatRate")),
        "is_active": bool(product.get("isActive", True)),
    }


def netvisor_product_to_severa(product: dict, currency: str) -> dict:
    """R-A.4: only products with a code move from Netvisor to Severa."""
    code = checks.text("Netvisor product", "code", product.get("code"), max_length=50)
    if code is None:
        raise RecordSkipped(f"Netvisor product {product.get('name')!r} has no product code; only coded products move")
    who = f"product {code}"
    price = checks.amount(who, "unit price", product.get("unit_price"))
    vat = checks.amount(who, "VAT rate", product.get("vat_percent"))
    return {
        "code": code,
        "name": checks.text(who, "name", product.get("name"), required=True, max_length=200),
        "unitPrice": {"amount": float(price) if price is not None else None, "currencyCode": currency},
        "vatRate": float(vat) if vat is not None else None,
        "measurementUnit": product.get("unit") or None,
        "isActive": bool(product.get("is_active", True)),
    }


def business_unit_item(unit: dict) -> dict:
    name = checks.text("business unit", "name", unit.get("name"), required=True, max_length=DIMENSION_ITEM_MAX)
    return {"item": name}


def project_item(project: dict) -> dict:
    number = project.get("number")
    name = checks.text(f"project {number}", "name", project.get("name"), required=True)
    item = f"{number} {name}" if number not in (None, "") else name
    return {"item": checks.text(f"project {number}", "dimension item", item, max_length=DIMENSION_ITEM_MAX)}


def business_id(vat_number: str | None) -> str | None:
    """Finnish VAT number FI12345678 -> business id 1234567-8; other values pass unchanged."""
    if not vat_number:
        return None
    match = _FI_VAT.match(vat_number.replace(" ", "").upper())
    return f"{match.group(1)}-{match.group(2)}" if match else vat_number.strip()
