"""A third-party client drives the Netvisor simulator: Heltti's netvisor-api-client (MIT, PyPI; a test
dependency only). Its marshmallow schemas were written against Netvisor's real answers and load them
strictly, so an answer of ours that drifts from Netvisor's shape fails here; what it creates, our hook
reads back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from netvisor_api_client import Netvisor

from erpbridge.hooks.netvisor import NetvisorHook
from tests.conftest import SECRETS

CUSTOMER = {  # as netvisor-api-client's own tests send it
    "customer_base_information": {
        "internal_identifier": "MM", "external_identifier": "1967543-8", "name": "Matti Meikäläinen",
        "name_extension": "Toimitusjohtaja", "street_address": "c/o Yritys Oy", "additional_address_line": "Pajukuja 1",
        "city": "Lappeenranta", "post_number": "53100", "country": "FI", "customer_group_name": "Alennusasiakkaat",
        "phone_number": "040 123456", "fax_number": "05 123456", "email": "matti.meikalainen@firma.fi",
        "email_invoicing_address": "maija.meikalainen@firma.fi", "home_page_uri": "www.firma.fi", "is_active": True,
    },
    "customer_finvoice_details": {"finvoice_address": "FI109700021497", "finvoice_router_code": "NDEAFIHH"},
    "customer_delivery_details": {
        "delivery_name": "Maija Mehiläinen", "delivery_street_address": "Pajukuja 2", "delivery_city": "Lappeenranta",
        "delivery_post_number": "53900", "delivery_country": "FI"},
    "customer_contact_details": {
        "contact_person": "Matti Meikäläinen", "contact_person_email": "matti.meikalainen@firma.fi",
        "contact_person_phone": "040 987 254"},
    "customer_additional_information": {
        "comment": "Kommentti", "customer_reference_number": "1070", "invoicing_language": "FI",
        "invoice_print_channel_format": "1", "your_default_reference": "Default reference",
        "default_text_before_invoice_lines": "Before", "default_text_after_invoice_lines": "After"},
}
PRODUCT = {
    "product_base_information": {
        "product_code": "CC", "product_group": "Kirjat", "name": "Code Complete", "description": "Toinen painos",
        "unit_price": {"amount": Decimal("42.5"), "type": "net"}, "unit": "kpl", "unit_weight": 1,
        "purchase_price": Decimal("25.00"), "tariff_heading": "Code Complete", "comission_percentage": Decimal("11"),
        "is_active": True, "is_sales_product": False},
    "product_bookkeeping_details": {"default_vat_percentage": Decimal("24")},
}


@pytest.fixture
def client(netvisor) -> Netvisor:
    creds = SECRETS["netvisor"]
    return Netvisor(netvisor.base, sender="netvisor-api-client", partner_id=creds["partner_id"],
                    partner_key=creds["partner_key"], customer_id=creds["customer_id"],
                    customer_key=creds["customer_key"], organization_id=creds["organisation_id"], language="FI")


def test_customers_get_idlist_list_and_update(client, netvisor):
    first = client.customers.create(CUSTOMER)
    second = client.customers.create({"customer_base_information": {
        "internal_identifier": "MM2", "name": "Maija Mallikas", "customer_group_name": "Alennusasiakkaat"}})
    got = client.customers.get(first)
    assert got["customer_base_information"]["name"] == "Matti Meikäläinen"
    assert got["customer_delivery_details"]["delivery_city"] == "Lappeenranta"
    assert got["customer_additional_information"]["reference_number"] == "1070"
    assert [c["customer_base_information"]["internal_identifier"] for c in client.customers.detail_list(
        [first, second])] == ["MM", "MM2"]
    assert [(c["netvisor_key"], c["code"]) for c in client.customers.list()] == [(first, "MM"), (second, "MM2")]
    client.customers.update(first, {"customer_base_information": {"name": "Matti Meikäläinen Oy"}})
    read = {r["code"]: r for r in NetvisorHook().get_customers([str(first), str(second)])}
    assert (read["MM"]["name"], read["MM"]["city"], read["MM"]["is_active"]) == (
        "Matti Meikäläinen Oy", "Lappeenranta", True)
    assert read["MM2"]["name"] == "Maija Mallikas"


def test_products_get_list_and_update(client, netvisor):
    key = client.products.create(PRODUCT)
    got = client.products.get(key)
    assert got["product_base_information"]["unit_price"] == {"amount": Decimal("42.50"), "type": "net"}
    assert got["product_bookkeeping_details"]["default_vat_percent"] == Decimal("24.00")
    assert [(p["netvisor_key"], p["product_code"]) for p in client.products.list()] == [(key, "CC")]
    client.products.update(key, {"product_base_information": {
        "name": "Code Complete 2", "unit_price": {"amount": Decimal("45"), "type": "net"}, "is_active": True}})
    read = NetvisorHook().get_product(str(key))
    assert (read["code"], read["name"], read["unit_price"], read["vat_percent"]) == (
        "CC", "Code Complete 2", Decimal("45.00"), Decimal("24.00"))


def test_dimensions_create_and_list(client, netvisor):
    client.dimensions.create({"name": "Projekti", "item": "2001 ERP rollout", "father_id": "0", "is_hidden": False})
    client.dimensions.create({"name": "Projekti", "item": "2002 Intranet", "is_hidden": False})
    [heading] = client.dimensions.list(showhidden=1)
    assert (heading["name"], heading["link_type"]) == ("Projekti", 0)
    assert [(d["name"], d["level"], d["sort"], d["father_id"]) for d in heading["dimension_details"]] == [
        ("2001 ERP rollout", 1, 0, 0), ("2002 Intranet", 1, 1, 0)]
    assert NetvisorHook().list_dimensions() == {"Projekti": ["2001 ERP rollout", "2002 Intranet"]}


def test_sales_invoices_create_get_and_list(client, netvisor):
    customer = client.customers.create(CUSTOMER)
    product = client.products.create(PRODUCT)
    key = client.sales_invoices.create({
        "number": "107", "date": date(2026, 3, 2), "amount": Decimal("105.40"), "status": "unsent",
        "invoicing_customer_identifier": str(customer), "payment_term_net_days": 14,
        "payment_term_cash_discount_days": 5, "payment_term_cash_discount": Decimal("9"),
        "invoice_lines": [{"identifier": dict(identifier=str(product), type="netvisor"), "name": "Code Complete",
                           "unit_price": {"amount": Decimal("42.50"), "type": "net"},
                           "vat_percentage": {"percentage": Decimal("24"), "code": "KOMY"},
                           "quantity": Decimal("2"), "free_text": "Toinen painos"}]})
    got = client.sales_invoices.get(key)
    assert (got["number"], got["due_date"], got["payment_term_net_days"], got["invoicing_customer_name"]) == (
        107, date(2026, 3, 16), 14, "Matti Meikäläinen")
    [line] = got["invoice_lines"]
    assert (line["identifier"], line["quantity"], line["sum"]) == ("CC", Decimal("2.00"), Decimal("105.40"))
    [listed] = client.sales_invoices.list(start_date="2026-03-01", end_date="2026-03-31")
    assert (listed["netvisor_key"], listed["number"], listed["date"], listed["status"]) == (
        key, 107, date(2026, 3, 2), "unsent")
    assert [(i["number"], i["customer_code"]) for i in NetvisorHook().list_sales_invoices("2026-03-01")] == [
        ("107", "MM")]


def test_purchase_invoices_list_and_get(client, netvisor):
    [key] = netvisor.seed(purchase_invoices=[{"number": "152212", "date": "2026-03-03", "vendor": "Vendor Oy Ab",
                                              "vendor_business_id": "123456-7", "lines": [
        {"quantity": "2", "unit_price": "10", "description": "A", "dimensions": [{"name": "Projekti", "item": "2001 X"}]},
        {"quantity": "1", "unit_price": "20", "description": "B"}]}])["purchase_invoices"]
    [listed] = client.purchase_invoices.list(status="approved")
    assert (listed["netvisor_key"], listed["number"], listed["vendor"], listed["date"]) == (
        key, 152212, "Vendor Oy Ab", date(2026, 3, 3))
    client.purchase_invoices.get(key)  # version 2 (its default): the schema loads it strictly or raises
    client.purchase_invoices.get(key, version=1)
    invoice = NetvisorHook().get_purchase_invoice(str(key))
    assert [(line["description"], line["dimensions"]) for line in invoice["lines"]] == [
        ("A", [("Projekti", "2001 X")]), ("B", [])]
