"""Pure document mappings (issue 3): the rules that need no simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpbridge.errors import RecordRejected, RecordSkipped
from erpbridge.flows.severa_netvisor import document_mapping as m
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings


def invoice(rows=None, **extra) -> dict:
    row = {"rowType": "ProjectFees", "_fees": [{"product": {"code": "LIC-Y", "name": "Licence"}}], "quantity": 12,
           "unitPrice": {"amount": 100.1, "currencyCode": "EUR"}, "vatRate": 25.5}
    return {"guid": "g1", "number": 5001, "date": "2026-03-02", "dueDate": "2026-03-16", "paymentTerm": 14,
            "customer": {"guid": "c1", "number": 1001}, "currency": {"guid": "x", "code": "EUR"},
            "totalExcludingTax": {"amount": 1201.2, "currencyCode": "EUR"}, "rows": rows or [row]} | extra


def test_an_invoice_maps_with_its_due_date_and_payment_term():
    payload = m.sales_invoice(invoice(), "ref", config=SeveraNetvisorSettings())
    assert (payload["amount"], payload["due_date"], payload["payment_term_days"]) == (Decimal("1507.51"),
                                                                                      "2026-03-16", 14)
    assert [(line["product"], line["name"], line["accrual"]) for line in payload["lines"]] == [("LIC-Y", "Licence",
                                                                                                  None)]
    undated = m.sales_invoice(invoice(dueDate=None, paymentTerm=None), "ref", config=SeveraNetvisorSettings())
    assert (undated["due_date"], undated["payment_term_days"]) == (None, None)


def test_a_recurring_fee_cannot_be_periodised_from_the_contract():
    fee = {"name": "Support", "product": {"code": "LIC-Y"}, "recurrenceRuleGuid": "r1"}
    recurring = invoice()["rows"][0] | {"_fees": [fee]}
    config = SeveraNetvisorSettings.model_validate({"sales_invoices": {"periodise_recurring_rows": True}})
    with pytest.raises(RecordRejected, match="bills a recurring fee, but Severa's contract gives an invoice row no"):
        m.sales_invoice(invoice(rows=[recurring]), "ref", config=config)
    assert m.sales_invoice(invoice(rows=[recurring]), "ref", config=SeveraNetvisorSettings())["lines"]


def test_a_rows_product_comes_from_what_it_bills_else_its_code_else_temp():
    config, where = SeveraNetvisorSettings(), "invoice 1 row 1"
    assert m.row_product({"_fees": [{"product": {"code": "A"}}], "code": ["B"]}, where, config) == "A"
    assert m.row_product({"_hours": [{"workType": {"code": "W"}}] * 2, "code": ["B"]}, where, config) == "W"
    assert m.row_product({"code": ["B"]}, where, config) == "B"
    assert m.row_product({}, where, config) == "TEMP"
    with pytest.raises(RecordRejected, match="row 1: bills products A, C; Netvisor takes one product per row"):
        m.row_product({"_fees": [{"product": {"code": "C"}}, {"product": {"code": "A"}}]}, where, config)


def test_invoice_refusals_and_temp_mode():
    config = SeveraNetvisorSettings()
    with pytest.raises(RecordRejected, match="rows add up to 1201.20 but the invoice total excluding tax is 1200"):
        m.sales_invoice(invoice(totalExcludingTax={"amount": 1200, "currencyCode": "EUR"}), "ref", config=config)
    with pytest.raises(RecordRejected, match="is in USD but has no exchange rate"):
        m.sales_invoice(invoice(currency={"guid": "x", "code": "USD"}), "ref", config=config)
    with pytest.raises(RecordRejected, match="total excluding tax is in SEK but the document is in EUR"):
        m.sales_invoice(invoice(totalExcludingTax={"amount": 1201.2, "currencyCode": "SEK"}), "ref", config=config)
    with pytest.raises(RecordRejected, match="negative total but is not a credit note"):
        m.sales_invoice(invoice(totalExcludingTax=None, rows=[{**invoice()["rows"][0], "quantity": -1}]), "ref",
                        config=config)
    temp = SeveraNetvisorSettings.model_validate({"customers": {"use_temp": True}, "products": {"use_temp": True}})
    payload = m.sales_invoice(invoice(customer={"number": None}), "ref", config=temp)
    assert payload["customer"] == "TEMP" and payload["lines"][0]["product"] == "TEMP"


def test_employee_codes_and_record_types():
    assert m.employee_code({"code": "101"}) == "101"
    for code in ("", "0101"):
        with pytest.raises(RecordRejected):
            m.employee_code({"code": code, "firstName": "A"})
    config = SeveraNetvisorSettings.model_validate({"hours": {"record_types": {"TRAVEL": "5"}}})
    assert m.record_type({"_overtime": {"code": "3"}}, config) == "3"
    assert m.record_type({"_work_type": {"code": "TRAVEL"}}, config) == "5"
    assert m.record_type({"_work_type": {"code": "DEV"}}, config) == "1"
    with pytest.raises(RecordRejected, match="no numeric code"):
        m.record_type({"_overtime": {"code": "OT", "name": "Overtime"}}, config)


def test_travel_with_no_line_to_reimburse_is_skipped():
    with pytest.raises(RecordSkipped, match="travel reimbursement 7 has no line to reimburse"):
        m.check_reimbursable({"number": 7, "_expenses": [{"travelReimbursementRequired": False}]})
    with pytest.raises(RecordSkipped, match="none of its 0 lines"):
        m.check_reimbursable({"number": 7, "_expenses": []})


def test_per_invoice_costs_need_one_project():
    config = SeveraNetvisorSettings.model_validate({"purchase_invoices": {"per_line": False}})
    lines = [{"_project_number": n, "_project": {"guid": n}, "quantity": Decimal(1), "unit_price": Decimal(1)}
             for n in ("2001", "2003")]
    with pytest.raises(RecordRejected, match="need one project"):
        m.project_costs({"netvisor_key": "1", "number": "P", "lines": lines}, "ref", config=config)
