"""Netvisor simulator: sales invoices, workday records, travel expenses and purchase invoices, over real HTTP."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests

from tests.simulators.test_netvisor_simulator import call, parse, statuses


@pytest.fixture
def base(simulators) -> str:
    url = simulators["netvisor"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json={
        "customers": [{"code": "1001", "name": "Oy Testi Ab"}],
        "products": [{"code": "CONS", "name": "Consulting", "unit_price": "100"}],
        "employees": [{"number": "101", "name": "Maija"}]}, timeout=5).raise_for_status()
    return url


def state(base: str) -> dict:
    return requests.get(f"{base}/_sim/state", timeout=5).json()


def invoice_xml(number: str = "5001", customer: str = "1001", product: str = "CONS", quantity: str = "1,5",
                term: str = "<paymenttermnetdays>14</paymenttermnetdays>") -> bytes:
    return (f"<root><salesinvoice><salesinvoicenumber>{number}</salesinvoicenumber>"
            "<salesinvoicedate format=\"ansi\">2026-03-02</salesinvoicedate>"
            "<salesinvoiceamount iso4217currencycode=\"GBP\" currencyrate=\"1,17\">188,25</salesinvoiceamount>"
            "<salesinvoicestatus type=\"netvisor\">unsent</salesinvoicestatus>"
            "<salesinvoiceourreference>ref-1</salesinvoiceourreference>"
            f"<invoicingcustomeridentifier type=\"customer\">{customer}</invoicingcustomeridentifier>{term}"
            "<invoicelines><invoiceline><salesinvoiceproductline>"
            f"<productidentifier type=\"customer\">{product}</productidentifier><productname>Work</productname>"
            "<productunitprice type=\"net\">100,00</productunitprice>"
            "<productvatpercentage vatcode=\"KOMY\">25,5</productvatpercentage>"
            f"<salesinvoiceproductlinequantity>{quantity}</salesinvoiceproductlinequantity>"
            "<dimension><dimensionname>Projekti</dimensionname><dimensionitem>2001 ERP</dimensionitem></dimension>"
            "</salesinvoiceproductline></invoiceline></invoicelines></salesinvoice></root>").encode()


def test_sales_invoice_is_kept_listed_and_read_back(base):
    response = call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml())
    assert statuses(response)[0] == "OK"
    key = parse(response).find("Replies/InsertedDataIdentifier").text
    invoice = state(base)["sales_invoices"][0]
    assert (invoice["number"], invoice["amount"], invoice["currency"], invoice["currency_rate"]) == (
        "5001", "188.25", "GBP", "1,17")
    assert invoice["lines"][0]["quantity"] == "1.5" and invoice["lines"][0]["dimensions"] == [
        {"name": "Projekti", "item": "2001 ERP"}]
    assert state(base)["dimensions"][0]["items"][0]["name"] == "2001 ERP"  # created on the fly
    listing = parse(call(base, "salesinvoicelist.nv", {"begininvoicedate": "2026-03-02",
                                                        "endinvoicedate": "2026-03-02"}))
    assert [i.find("InvoiceNumber").text for i in listing.iter("SalesInvoice")] == ["5001"]
    assert parse(call(base, "salesinvoicelist.nv", {"begininvoicedate": "2026-03-03"})).find(
        "SalesInvoiceList/SalesInvoice") is None
    got = parse(call(base, "getsalesinvoice.nv", {"netvisorkey": key})).find("SalesInvoice")
    assert got.find("SalesInvoiceOurReference").text == "ref-1"
    assert (got.findtext("PaymentTermNetDays"), got.findtext("SalesInvoiceDueDate")) == ("14", "2026-03-16")
    unknown = parse(call(base, "getsalesinvoice.nv", {"netvisorkey": "999"}))  # as recorded: OK, empty
    assert statuses_of(unknown) == ["OK"] and len(unknown.find("SalesInvoice")) == 0


def statuses_of(root) -> list[str]:
    return [s.text for s in root.iter("Status")]


def test_sales_invoice_needs_a_due_date_or_payment_term(base):
    refused = call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml(term=""))
    assert statuses(refused)[1] == ("INVALID_DATA :: Data form incorrect:. SalesInvoiceDueDate or "
                                    "PaymentTermNetDays is required")
    due = "<salesinvoiceduedate format=\"ansi\">2026-04-01</salesinvoiceduedate>"
    body = invoice_xml(term="").replace(b"</salesinvoicedate>", b"</salesinvoicedate>" + due.encode())
    assert statuses(call(base, "salesinvoice.nv", {"method": "add"}, body)) == ["OK"]
    assert state(base)["sales_invoices"][0]["due_date"] == "2026-04-01"


def test_sales_invoice_refusals(base):
    unknown_customer = call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml(customer="9999"))
    assert statuses(unknown_customer)[1] == ("INVALID_DATA :: Data form incorrect:. Customer not found with "
                                             "customer code: 9999")
    unknown_product = call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml(product="NOPE"))
    assert "Product not found with product code: NOPE" in statuses(unknown_product)[1]
    assert statuses(call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml()))[0] == "OK"
    duplicate = call(base, "salesinvoice.nv", {"method": "add"}, invoice_xml())
    assert statuses(duplicate)[1].startswith("DUPLICATE_DATA")
    assert len(state(base)["sales_invoices"]) == 1


def workday_xml(hours: str, method: str | None, employee: str = "101", record_type: str = "1") -> bytes:
    method_attr = f" method=\"{method}\"" if method else ""
    return (f"<root><workday><date format=\"ansi\"{method_attr}>2026-03-02</date>"
            f"<employeeidentifier type=\"number\">{employee}</employeeidentifier><workdayhour><hours>{hours}</hours>"
            f"<collectorratio type=\"number\">{record_type}</collectorratio>"
            "<acceptancestatus>accepted</acceptancestatus><description/></workdayhour></workday></root>").encode()


def test_workday_replace_and_increment_per_employee_date_and_record_type(base):
    def hours() -> dict:
        return {w["record_type"]: [h["hours"] for h in w["hours"]] for w in state(base)["workdays"]}

    assert statuses(call(base, "workday.nv", None, workday_xml("7,5", "replace")))[0] == "OK"
    assert statuses(call(base, "workday.nv", None, workday_xml("7,5", "replace")))[0] == "OK"
    assert hours() == {"1": ["7.5"]}  # replaced, not doubled
    call(base, "workday.nv", None, workday_xml("1", "increment"))
    call(base, "workday.nv", None, workday_xml("2", "replace", record_type="2"))
    assert hours() == {"1": ["7.5", "1"], "2": ["2"]}
    call(base, "workday.nv", None, workday_xml("6", None))  # no method attribute: replace (documented)
    assert hours() == {"1": ["6"], "2": ["2"]}
    refused = call(base, "workday.nv", None, workday_xml("8", "replace", employee="999"))
    assert statuses(refused)[1] == "INVALID_DATA :: Data form incorrect:. Employee not found with identifier: 999"


def trip_xml(ratio: str = "1300", employee: str = "101", ratio_type: str = "name") -> bytes:
    """The documented tripexpense.nv body: header, customlines/customline with a PDF."""
    pdf = base64.b64encode(b"%PDF-1.4 test").decode()
    return ("<root><tripexpense><header>Trip to Oulu</header><description>ref-t</description><customlines>"
            f"<customline><employeeidentifier type=\"number\">{employee}</employeeidentifier>"
            f"<ratio type=\"{ratio_type}\">{ratio}</ratio><amount>120</amount>"
            "<customlineunitprice>0,59</customlineunitprice><linedescription>Mileage</linedescription>"
            "<begindate>2026-03-04</begindate><enddate>2026-03-05</enddate>"
            "<dimension><dimensionname>Projekti</dimensionname><dimensionitem>2001 ERP</dimensionitem></dimension>"
            "<tripexpenseattachments><tripexpenseattachment><mimetype>application/pdf</mimetype>"
            "<attachmentdescription>Receipt</attachmentdescription><filename>t.pdf</filename>"
            f"<documentdata>{pdf}</documentdata></tripexpenseattachment></tripexpenseattachments>"
            "</customline></customlines></tripexpense></root>").encode()


def test_trip_expense_takes_the_documented_body_and_refuses_unknown_ratios(base):
    requests.post(f"{base}/_sim/seed", json={"wage_types": ["1300"]}, timeout=5).raise_for_status()
    response = call(base, "tripexpense.nv", None, trip_xml())
    assert statuses(response) == ["OK"] and parse(response).findtext("Replies/InsertedDataIdentifier")
    kept = state(base)["trip_expenses"][0]
    line = kept["lines"][0]
    assert (kept["header"], line["sum"], line["begin"], line["end"], line["attachments"][0]["sha256"]) == (
        "Trip to Oulu", "70.80", "2026-03-04", "2026-03-05", hashlib.sha256(b"%PDF-1.4 test").hexdigest())
    assert "Ratio not found with name: 9" in statuses(call(base, "tripexpense.nv", None, trip_xml(ratio="9")))[1]
    assert "ratio type must be name" in statuses(call(base, "tripexpense.nv", None, trip_xml(ratio_type="x")))[1]
    assert "Employee not found" in statuses(call(base, "tripexpense.nv", None, trip_xml(employee="7")))[1]
    assert len(state(base)["trip_expenses"]) == 1
    assert statuses(call(base, "tripexpenselist.nv"))[1].startswith("INVALID_DATA :: Unknown resource")


def test_purchase_invoices_listed_by_status_and_read_with_lines(base):
    requests.post(f"{base}/_sim/seed", json={"purchase_invoices": [
        {"number": "P-1", "date": "2026-03-03", "vendor": "Hotelli Oy", "lines": [
            {"quantity": "2", "unit_price": "89.90", "description": "Night", "product_code": "HOTEL",
             "dimensions": [{"name": "Projekti", "item": "2001 ERP"}]}]},
        {"number": "P-2", "date": "2026-03-04", "status": "open", "lines": []}]}, timeout=5).raise_for_status()
    listing = parse(call(base, "purchaseinvoicelist.nv", {"invoicestatus": "approved"}))
    rows = list(listing.iter("PurchaseInvoice"))
    assert [(r.find("InvoiceNumber").text, r.find("Sum").text) for r in rows] == [("P-1", "225,65")]
    key = rows[0].find("NetvisorKey").text
    invoice = parse(call(base, "getpurchaseinvoice.nv", {"netvisorkey": key, "version": "2"})).find("PurchaseInvoice")
    assert invoice.findtext("VendorName") == "Hotelli Oy"
    line = invoice.find("InvoiceLines/PurchaseInvoiceLine")
    assert (line.findtext("LineNetSum"), line.findtext("DeliveredAmount"),
            line.findtext("PurchaseInvoiceLineDimensions/Dimension/DimensionDetailName")) == ("179,80", "2,00", "2001 ERP")
    version_1 = parse(call(base, "getpurchaseinvoice.nv", {"netvisorkey": key})).find("PurchaseInvoice/InvoiceLines")
    assert version_1.find("PurchaseInvoiceLine/PurchaseInvoiceLineDimensions") is None
    assert version_1.findtext("PurchaseInvoiceLineDimensions/Dimension/DimensionName") == "Projekti"
    assert "Unknown invoicestatus" in statuses(call(base, "purchaseinvoicelist.nv", {"invoicestatus": "paid"}))[1]
