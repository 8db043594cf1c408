"""NetvisorHook against the Netvisor simulator over real HTTP: MAC, envelopes, records, retries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks import safe_xml as xml
from erpbridge.hooks.netvisor import NetvisorHook, customer_record, product_record, purchase_invoice_record
from tests.conftest import SECRET_VALUES
from tests.contract._support import after_first_response, calls, gaps, override_connection, sent_bodies

ENV = "AIRFLOW_CONN_NETVISOR_DEFAULT"
TRICKY_NAMES = [
    'Smith & Sons <Ltd> "Quoted" \'single\'',
    "ООО Ромашка",  # Cyrillic
    "Kylmäkönen Äijälä Öljy Oy",
]


def state_customer(sim, key: str) -> dict:
    return next(c for c in sim.state()["customers"] if str(c["key"]) == str(key))


def state_product(sim, key: str) -> dict:
    return next(p for p in sim.state()["products"] if str(p["key"]) == str(key))


# --- authentication ---------------------------------------------------------------------------

def test_mac_is_accepted_and_a_read_works(netvisor):
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1000", "P1001"]}])
    assert NetvisorHook().list_dimensions() == {"Projects": ["P1000", "P1001"]}
    [logged] = calls(netvisor, "/dimensionlist.nv")
    assert logged["status"] == 200


def test_mac_covers_the_query_string(netvisor):
    netvisor.seed(customers=[{"code": "1001", "name": "Alpha Oy"}, {"code": "1002", "name": "Beta Oy"}])
    found = NetvisorHook().find_customers(["1002", "1003"])
    assert list(found) == ["1002"]
    [logged] = calls(netvisor, "/customerlist.nv")
    assert "customercodelist=" in logged["query"] and logged["status"] == 200


@pytest.mark.parametrize("field", ["customer_key", "partner_key"])
def test_a_wrong_key_is_refused_as_a_system_error(netvisor, monkeypatch, field):
    wrong = "not-the-right-key"
    if field == "customer_key":
        override_connection(monkeypatch, ENV, password=wrong)
    else:
        override_connection(monkeypatch, ENV, extra={"partner_key": wrong})
    with pytest.raises(ExternalSystemError) as caught:
        NetvisorHook().list_dimensions()
    assert "AUTHENTICATION_FAILED" in str(caught.value)
    assert wrong not in str(caught.value)
    assert not any(secret in str(caught.value) for secret in SECRET_VALUES)
    assert len(calls(netvisor, "/dimensionlist.nv")) == 1  # an auth refusal is not retried


def test_test_connection_reports_success_and_a_refusal_without_the_secret(netvisor, monkeypatch):
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1"]}, {"name": "Cost centres", "items": []}])
    ok, message = NetvisorHook().test_connection()
    assert ok is True and "2 dimension headings" in message

    wrong = "wrong-customer-key-123"
    override_connection(monkeypatch, ENV, password=wrong)
    ok, message = NetvisorHook().test_connection()
    assert ok is False
    assert "AUTHENTICATION_FAILED" in message
    assert wrong not in message
    assert not any(secret in message for secret in SECRET_VALUES)


# --- customers --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_customer_add_edit_get_round_trip_keeps_names_intact(netvisor, name):
    hook = NetvisorHook()
    record = {"code": "2001", "business_id": "1234567-8", "name": name, "name_extension": "Ä & <ext>",
              "street_address": "Hämeenkatu 5 \"B\"", "city": "Tampere", "post_number": "33100",
              "country": "FI", "email": "info@example.fi", "is_active": True}
    key = hook.add_customer(record)
    assert key.isdigit()
    stored = state_customer(netvisor, key)
    assert {k: stored[k] for k in record} == record

    hook.edit_customer(key, {"name": f"{name} (päivitetty)", "city": "Москва", "is_active": False})
    stored = state_customer(netvisor, key)
    assert stored["name"] == f"{name} (päivitetty)"
    assert stored["city"] == "Москва"
    assert stored["is_active"] is False
    assert stored["street_address"] == record["street_address"]  # not in the edit: unchanged

    [fetched] = list(hook.get_customers([key]))
    assert fetched == {**record, "name": f"{name} (päivitetty)", "city": "Москва", "is_active": False,
                       "netvisor_key": key}
    assert hook.find_customers(["2001"]) == {"2001": key}
    assert [c["name"] for c in hook.list_customers()] == [f"{name} (päivitetty)"]


def test_an_empty_value_in_an_edit_blanks_the_field(netvisor):
    hook = NetvisorHook()
    key = hook.add_customer({"code": "2002", "name": "Blank Oy", "email": "a@b.fi", "city": "Oulu"})
    hook.edit_customer(key, {"email": None})
    stored = state_customer(netvisor, key)
    assert stored["email"] == "" and stored["city"] == "Oulu"


def test_a_duplicate_code_is_rejected_with_the_vendors_text(netvisor):
    hook = NetvisorHook()
    hook.add_customer({"code": "3001", "name": "First Oy"})
    with pytest.raises(RecordRejected) as caught:
        hook.add_customer({"code": "3001", "name": "Second Oy"})
    assert caught.value.reason == "DUPLICATE_DATA :: Customer code 3001 is already in use"
    assert caught.value.category == "DUPLICATE_DATA"
    assert [c["name"] for c in netvisor.state()["customers"]] == ["First Oy"]
    assert len(netvisor.writes()) == 2  # a refusal is not retried


def test_netvisor_takes_alphanumeric_customer_codes(netvisor):
    hook = NetvisorHook()
    keys = [hook.add_customer({"code": code, "name": f"{code} Oy"}) for code in ("0123", "MM-7")]
    assert [c["code"] for c in hook.get_customers(keys)] == ["0123", "MM-7"]


def test_customers_by_idlist_read_every_record_with_its_detail_blocks(netvisor):
    created = netvisor.seed(customers=[{"code": "1001", "name": "Alpha Oy", "city": "Oulu", "country": "FI"},
                                       {"code": "1002", "name": "Beta Oy", "is_active": False}])
    records = list(NetvisorHook().get_customers([str(k) for k in created["customers"]]))
    assert [(r["code"], r["name"], r["city"], r["is_active"]) for r in records] == [
        ("1001", "Alpha Oy", "Oulu", True), ("1002", "Beta Oy", "", False)]
    [logged] = calls(netvisor, "/getcustomer.nv")
    assert "idlist=" in logged["query"]


def test_editing_a_missing_customer_is_rejected(netvisor):
    with pytest.raises(RecordRejected) as caught:
        NetvisorHook().edit_customer("999", {"name": "Ghost Oy"})
    assert caught.value.reason == "INVALID_DATA :: Data form incorrect:. Customer not found with Netvisor identifier: 999"


# --- products ---------------------------------------------------------------------------------

@pytest.mark.parametrize("price, vat", [(Decimal("1234.56"), Decimal("25.5")), (Decimal("0.1234"), Decimal("14")),
                                        (Decimal("-5.10"), Decimal("0"))])
def test_product_add_get_keeps_decimals_exact(netvisor, price, vat):
    hook = NetvisorHook()
    wire = sent_bodies(hook)
    record = {"code": "CONS-1", "name": "Konsultointi & tuki", "unit_price": price, "unit": "h",
              "vat_percent": vat, "product_group": "Palvelut", "is_active": True}
    key = hook.add_product(record)
    comma = lambda value: format(value, "f").replace(".", ",").encode()  # noqa: E731
    assert b'<unitprice type="net">' + comma(price) + b"</unitprice>" in wire[0]
    assert b"<defaultvatpercentage>" + comma(vat) + b"</defaultvatpercentage>" in wire[0]
    stored = state_product(netvisor, key)
    assert Decimal(stored["unit_price"]) == price and Decimal(stored["vat_percent"]) == vat

    fetched = hook.get_product(key)
    assert fetched["unit_price"] == price and fetched["vat_percent"] == vat
    assert fetched["netvisor_key"] == key
    assert {k: fetched[k] for k in ("code", "name", "unit", "product_group", "is_active")} == \
        {k: record[k] for k in ("code", "name", "unit", "product_group", "is_active")}
    assert hook.find_product("CONS-1") == key


def test_product_edit_changes_the_price(netvisor):
    hook = NetvisorHook()
    key = hook.add_product({"code": "LIC", "name": "Licence", "unit_price": Decimal("49.90"),
                            "vat_percent": Decimal("25.5")})
    hook.edit_product(key, {"unit_price": Decimal("59.95")})
    assert hook.get_product(key)["unit_price"] == Decimal("59.95")
    assert state_product(netvisor, key)["vat_percent"] == "25.5"


def test_a_duplicate_product_code_is_rejected(netvisor):
    hook = NetvisorHook()
    hook.add_product({"code": "DUP", "name": "One", "unit_price": Decimal("1"), "vat_percent": Decimal("0")})
    with pytest.raises(RecordRejected) as caught:
        hook.add_product({"code": "DUP", "name": "Two", "unit_price": Decimal("1"), "vat_percent": Decimal("0")})
    assert caught.value.reason == "DUPLICATE_DATA :: Product code DUP is already in use"


# --- dimensions -------------------------------------------------------------------------------

def test_dimension_items_add_and_list(netvisor):
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1000"]}])
    hook = NetvisorHook()
    hook.add_dimension_item("Projects", "P-Ä & <2>")
    hook.add_dimension_item("Kustannuspaikat", "Myynti")
    assert hook.list_dimensions() == {"Projects": ["P1000", "P-Ä & <2>"], "Kustannuspaikat": ["Myynti"]}
    hook.rename_dimension_item("Kustannuspaikat", "Myynti", "Sales")
    assert hook.list_dimensions()["Kustannuspaikat"] == ["Sales"]
    with pytest.raises(RecordRejected) as caught:
        hook.add_dimension_item("Projects", "P1000")
    assert caught.value.reason == "DUPLICATE_DATA :: Dimension item P1000 already exists in Projects"


# --- retries ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status, category", [(500, "TECHNICAL_ERROR"), (503, "SYSTEM_MAINTANANCE"),
                                              (429, "TOO_MANY_REQUESTS")])
def test_transient_faults_on_a_read_are_retried_until_it_succeeds(netvisor, status, category):
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1"]}])
    netvisor.faults(next_n={"count": 2, "status": status, "category": category, "message": "Try again"})
    assert NetvisorHook().list_dimensions() == {"Projects": ["P1"]}
    log = calls(netvisor, "/dimensionlist.nv")
    assert [r["status"] for r in log] == [status, status, 200]
    waits = gaps(log)  # exponential backoff from 0.05 s
    assert waits[0] >= 0.05 and waits[1] >= 0.1


def test_technical_error_with_http_200_is_retried(netvisor):
    """The category decides, not only the HTTP status (a FAILED envelope may come with 200)."""
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1"]}])
    netvisor.faults(next_n={"count": 1, "status": 200, "category": "TECHNICAL_ERROR", "message": "Oops"})
    assert NetvisorHook().list_dimensions() == {"Projects": ["P1"]}
    assert len(calls(netvisor, "/dimensionlist.nv")) == 2


def test_persistent_faults_on_a_read_raise_after_the_configured_attempts(netvisor, monkeypatch):
    override_connection(monkeypatch, ENV, extra={"attempts": 3})
    netvisor.faults(error_rate=1.0, error_category="TECHNICAL_ERROR")
    with pytest.raises(ExternalSystemError) as caught:
        NetvisorHook().list_dimensions()
    assert "after 3 attempts" in str(caught.value) and "TECHNICAL_ERROR" in str(caught.value)
    assert caught.value.status == 503
    assert len(calls(netvisor, "/dimensionlist.nv")) == 3


def test_a_malformed_body_on_a_read_is_retried(netvisor):
    netvisor.seed(dimensions=[{"name": "Projects", "items": ["P1"]}])
    netvisor.faults(malformed_rate=1.0)
    hook = NetvisorHook()
    after_first_response(hook, lambda: netvisor.faults(malformed_rate=0))
    assert hook.list_dimensions() == {"Projects": ["P1"]}
    assert len(calls(netvisor, "/dimensionlist.nv")) == 2


def test_a_persistently_malformed_body_raises_a_system_error(netvisor, monkeypatch):
    override_connection(monkeypatch, ENV, extra={"attempts": 2})
    netvisor.faults(malformed_rate=1.0)
    with pytest.raises(ExternalSystemError) as caught:
        NetvisorHook().list_dimensions()
    assert "unreadable XML" in str(caught.value)
    assert len(calls(netvisor, "/dimensionlist.nv")) == 2


def test_a_write_is_retried_on_429_only(netvisor):
    hook = NetvisorHook()
    netvisor.faults(next_n={"count": 1, "status": 429, "category": "TOO_MANY_REQUESTS", "message": "Slow down"})
    key = hook.add_customer({"code": "4001", "name": "Retry Oy"})
    assert [c["key"] for c in netvisor.state()["customers"]] == [int(key)]
    assert [r["status"] for r in calls(netvisor, "/customer.nv")] == [429, 200]


def test_a_write_facing_a_5xx_is_not_repeated(netvisor):
    """The server may have acted: no blind repeat (the rerun's find-or-create resolves it)."""
    netvisor.faults(next_n={"count": 1, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "Down"})
    with pytest.raises(ExternalSystemError) as caught:
        NetvisorHook().add_customer({"code": "4002", "name": "Once Oy"})
    assert "SYSTEM_MAINTANANCE :: Down" in str(caught.value)
    assert len(calls(netvisor, "/customer.nv")) == 1


# --- documents ----------------------------------------------------------------------------------

def sales_invoice(number: str, **term) -> dict:
    return {"number": number, "date": "2026-03-02", "amount": Decimal("125.50"), "status": "unsent",
            "reference": f"ref-{number}", "customer": "1001", **term,
            "lines": [{"product": "CONS", "name": "Work", "unit_price": Decimal("100"), "vat_percent": Decimal("25.5"),
                       "vat_code": "KOMY", "quantity": Decimal("1")}]}


def test_a_sales_invoice_carries_its_payment_term_and_one_without_is_refused(netvisor):
    netvisor.seed(customers=[{"code": "1001", "name": "Alpha Oy"}],
                  products=[{"code": "CONS", "name": "Consulting", "unit_price": "100"}])
    hook = NetvisorHook()
    hook.add_sales_invoice(sales_invoice("5001", payment_term_days=21, due_date=None))
    hook.add_sales_invoice(sales_invoice("5002", payment_term_days=None, due_date="2026-04-30"))
    with pytest.raises(RecordRejected) as caught:
        hook.add_sales_invoice(sales_invoice("5003", payment_term_days=None, due_date=None))
    assert "SalesInvoiceDueDate or PaymentTermNetDays is required" in caught.value.reason
    kept = {i["number"]: (i["payment_term_days"], i["due_date"]) for i in netvisor.state()["sales_invoices"]}
    assert kept == {"5001": (21, "2026-03-23"), "5002": (None, "2026-04-30")}


def trip_expense(reference: str) -> dict:
    return {"number": "T-9", "reference": reference, "employee": "101", "date": "2026-03-05",
            "lines": [{"wage_type": "Mileage", "date": "2026-03-04", "quantity": Decimal("120"),
                       "unit_amount": Decimal("0.59"), "description": "Oulu", "dimensions": [("Projekti", "2001 ERP")]}],
            "attachments": [{"filename": "t.pdf", "content_type": "application/pdf", "content": b"%PDF-1.4 t"}]}


def test_a_trip_expense_posted_again_is_recognised_by_netvisor_not_stored_twice(netvisor):
    netvisor.seed(employees=[{"number": "101", "name": "Maija"}], wage_types=["Mileage"])
    hook = NetvisorHook()
    key = hook.add_trip_expense(trip_expense("severa-travel-1"))
    assert key.isdigit()
    again = hook.add_trip_expense(trip_expense("severa-travel-1"))  # a rerun after its answer was lost
    assert again.startswith("transaction:")
    [kept] = netvisor.state()["trip_expenses"]
    assert (kept["header"], kept["description"], kept["lines"][0]["ratio"], kept["lines"][0]["sum"],
            kept["lines"][0]["attachments"][0]["filename"]) == (
        "Severa travel invoice T-9", "severa-travel-1", "Mileage", "70.80", "t.pdf")
    assert hook.add_trip_expense(trip_expense("severa-travel-2")).isdigit()  # another document: posted
    assert len(netvisor.state()["trip_expenses"]) == 2


def test_a_refused_trip_expense_may_be_sent_again_once_fixed_in_netvisor(netvisor):
    netvisor.seed(employees=[{"number": "101", "name": "Maija"}])
    with pytest.raises(RecordRejected):
        NetvisorHook().add_trip_expense(trip_expense("severa-travel-3"))  # the ratio is not in Netvisor yet
    netvisor.seed(wage_types=["Mileage"])
    assert NetvisorHook().add_trip_expense(trip_expense("severa-travel-3")).isdigit()


def test_a_purchase_invoice_is_read_with_each_lines_own_dimensions(netvisor):
    created = netvisor.seed(purchase_invoices=[{"number": "7001", "date": "2026-03-03", "vendor": "Vendor Oy Ab",
                                                "lines": [
        {"quantity": "2", "unit_price": "10", "description": "A", "dimensions": [{"name": "Projekti", "item": "2001 X"}]},
        {"quantity": "1", "unit_price": "20", "description": "B", "dimensions": [{"name": "Projekti", "item": "2002 Y"}]},
        {"quantity": "3", "unit_price": "5", "description": "C", "dimensions": [{"name": "Projekti", "item": "2001 X"}]},
    ]}])
    invoice = NetvisorHook().get_purchase_invoice(str(created["purchase_invoices"][0]))
    assert (invoice["number"], invoice["vendor"], invoice["status"]) == ("7001", "Vendor Oy Ab", "approved")
    assert [(line["description"], line["quantity"], line["unit_price"], line["dimensions"]) for line in invoice["lines"]] == [
        ("A", Decimal("2.00"), Decimal("10.00"), [("Projekti", "2001 X")]),
        ("B", Decimal("1.00"), Decimal("20.00"), [("Projekti", "2002 Y")]),
        ("C", Decimal("3.00"), Decimal("5.00"), [("Projekti", "2001 X")])]
    [logged] = calls(netvisor, "/getpurchaseinvoice.nv")
    assert "version=2" in logged["query"]


def test_unknown_product_and_purchase_invoice_keys_are_named_errors(netvisor):
    hook = NetvisorHook()  # Netvisor answers both with OK and an empty element
    with pytest.raises(ExternalSystemError, match="product 404 not found"):
        hook.get_product("404")
    with pytest.raises(ExternalSystemError, match="purchase invoice 404 not found"):
        hook.get_purchase_invoice("404")


# --- the hook reads what Netvisor really answers (recordings: tests/simulators/test_netvisor_samples.py) ---

def recorded(name: str):
    from tests.simulators.test_netvisor_samples import recorded as sample
    return sample(name)


def test_the_hook_reads_recorded_customers_including_a_minimal_one():
    customers = [customer_record(c) for c in recorded("GetCustomerList.xml").find("Customers")]
    assert [(c["netvisor_key"], c["code"], c["business_id"], c["country"], c["is_active"]) for c in customers] == [
        ("5", "MM", "1234567-8", "FI", True), ("6", "MM2", "2234567-8", "FI", True)]
    minimal = customer_record(recorded("GetCustomerMinimal.xml").find("Customer"))  # no NetvisorKey, blanks
    assert (minimal["netvisor_key"], minimal["code"], minimal["name"], minimal["is_active"]) == (
        None, "", "Maija Mallikas", False)


def test_the_hook_reads_a_recorded_product():
    product = product_record(recorded("GetProduct.xml").find("Product"))
    assert (product["code"], product["name"], product["unit_price"], product["vat_percent"], product["is_active"]) == (
        "CC", "Code Complete", Decimal("42.5"), Decimal("22.0"), True)


def test_the_hook_refuses_recorded_purchase_invoice_dimensions_it_cannot_tie_to_a_line():
    with pytest.raises(ExternalSystemError, match="ask with version=2"):
        purchase_invoice_record("1025", recorded("GetPurchaseInvoice.xml").find("PurchaseInvoice"))
    minimal = purchase_invoice_record("1025", recorded("GetPurchaseInvoiceMinimal.xml").find("PurchaseInvoice"))
    assert (minimal["number"], minimal["vendor"], minimal["lines"]) == ("152212", "Vendor Oy Ab", [])


# --- safe XML ---------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Name>&xxe;</Name></Root>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Root><Name>&lol3;</Name></Root>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE Root SYSTEM "http://example.invalid/evil.dtd"><Root/>"""


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS, EXTERNAL_DTD, b"<Root><Unclosed></Root>", b"\xff"],
                         ids=["xxe", "billion-laughs", "external-dtd", "not-well-formed", "garbage"])
def test_xml_parse_refuses_dtds_entities_and_garbage(payload):
    with pytest.raises(xml.MalformedXml):
        xml.parse(payload)


def test_xml_parse_reads_a_plain_envelope():
    root = xml.parse('<?xml version="1.0" encoding="utf-8"?><Root><ResponseStatus><Status>OK</Status>'
                     '</ResponseStatus><Name>Äijälä &amp; Пётр</Name></Root>'.encode())
    assert xml.text(root, "name") == "Äijälä & Пётр"



# --- payroll ratios ---------------------------------------------------------------------------

def test_workday_record_types_are_read_as_collector_ratios_with_names_in_the_connections_language(netvisor,
                                                                                                  monkeypatch):
    netvisor.seed(payroll_ratios=[
        {"number": "1", "names": {"fi": "Tuntityö", "en": "Hourly work"}},
        {"number": 20, "names": {"fi": "Vuosiloma", "en": "Annual holiday"}},
        {"names": {"fi": "Ilman numeroa"}},  # the interface's ratioNumber is optional: no record type
        {"number": "30", "names": {"se": "Semester"}},
        {"source": "tripexpensecustomlines", "number": "1300", "names": {"fi": "Kilometrikorvaus"}}])
    assert NetvisorHook().list_payroll_ratios() == [
        {"number": "1", "name": "Tuntityö"}, {"number": "20", "name": "Vuosiloma"}, {"number": "30", "name": "Semester"}]
    [logged] = calls(netvisor, "/payrollratiolist.nv")
    assert logged["query"] == "source=collectorratiolines" and logged["status"] == 200
    override_connection(monkeypatch, ENV, extra={"language": "EN"})
    assert [r["name"] for r in NetvisorHook().list_payroll_ratios()] == ["Hourly work", "Annual holiday", "Semester"]
    assert NetvisorHook().list_payroll_ratios("tripexpensecustomlines") == [{"number": "1300", "name": "Kilometrikorvaus"}]
