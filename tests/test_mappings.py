"""Pure mappings of flow A: what Netvisor would refuse is refused here, with a reason naming the record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpbridge.engine import checks
from erpbridge.errors import RecordRejected, RecordSkipped
from erpbridge.flows.severa_netvisor import mapping as m


@pytest.mark.parametrize("number, reason", [
    ("0001", "customer code '0001' starts with 0"),
    ("12A", "customer code '12A' is not numeric"),
    ("١٢٣", "customer code '١٢٣' is not numeric"),  # Arabic-Indic digits are digits, but not Netvisor's
    ("12 3", "customer code '12 3' is not numeric"),
    (None, "customer has no customer number"),
    ("", "customer has no customer number"),
    ("1" * 17, "longer than 16 digits"),
])
def test_customer_codes_netvisor_refuses(number, reason):
    with pytest.raises(RecordRejected, match=reason):
        m.netvisor_customer_code(number)


def test_a_valid_customer_maps_every_field():
    mapped = m.severa_customer_to_netvisor({
        "number": 1001, "name": "  Oy <Ab> & 'Co'  ", "vatNumber": "FI 1234 5678", "email": "x@y.fi",
        "isActive": False, "headquarterAddress": {"addressline": "Katu 1", "postalCode": "00100", "city": "Espoo",
                                                  "country": "FI"}})
    assert mapped == {"code": "1001", "name": "Oy <Ab> & 'Co'", "business_id": "1234567-8",
                      "street_address": "Katu 1", "city": "Espoo", "post_number": "00100", "country": "FI",
                      "email": "x@y.fi", "is_active": False}


@pytest.mark.parametrize("customer, reason", [
    ({"number": "1001", "name": ""}, "customer 1001: name is missing"),
    ({"number": "1001", "name": "x" * 251}, "customer 1001: name is 251 characters long, at most 250"),
    ({"number": "1001", "name": "Bell\x07 Oy"}, "customer 1001: name contains control characters"),
    ({"number": "1001", "name": "Ok", "headquarterAddress": {"country": "FIN"}}, "country code is 3 characters"),
])
def test_bad_customer_fields_are_refused_naming_the_record(customer, reason):
    with pytest.raises(RecordRejected, match=reason):
        m.severa_customer_to_netvisor(customer)


def test_non_latin_and_emoji_names_pass_unchanged():
    assert m.severa_customer_to_netvisor({"number": "5", "name": "Ромашка 株式会社 🚀"})["name"] == "Ромашка 株式会社 🚀"


@pytest.mark.parametrize("raw, exact", [
    (0.1 + 0.2, Decimal("0.30000000000000004")),  # a float is taken as written, never rounded silently
    ("0.1", Decimal("0.1")),
    ("1e3", Decimal("1000")),
    ("1 234,50", Decimal("1234.50")),
    ("1\u00a0234,50", Decimal("1234.50")),
    (120.5, Decimal("120.5")),
])
def test_amounts_are_exact(raw, exact):
    assert checks.amount("product X", "unit price", raw) == exact


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", True, "1,234.5.6"])
def test_amounts_that_are_not_amounts_are_refused(raw):
    with pytest.raises(RecordRejected, match="product X: unit price"):
        checks.amount("product X", "unit price", raw)


def test_products_from_netvisor_need_a_code_and_keep_their_price():
    with pytest.raises(RecordSkipped, match="no product code"):
        m.netvisor_product_to_severa({"code": "", "name": "Service"}, "EUR")
    mapped = m.netvisor_product_to_severa({"code": "W1", "name": "Widget", "unit_price": Decimal("19.90"),
                                           "vat_percent": Decimal("25.5"), "unit": "pcs"}, "EUR")
    assert mapped["unitPrice"] == {"amount": 19.9, "currencyCode": "EUR"} and mapped["vatRate"] == 25.5


def test_project_items_carry_number_and_name_within_netvisors_limit():
    assert m.project_item({"number": "P-1", "name": "Website"}) == {"item": "P-1 Website"}
    with pytest.raises(RecordRejected, match="dimension item is 204 characters"):
        m.project_item({"number": "P-1", "name": "x" * 200})
