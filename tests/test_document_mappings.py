"""Pure document mappings (issue 3): the rules that need no simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erpbridge.errors import RecordRejected, RecordSkipped
from erpbridge.mappings import severa_netvisor_documents as m
from erpbridge.settings import SeveraNetvisorSettings


def invoice(**extra) -> dict:
    row = {"_product": {"code": "LIC-Y", "name": "Licence"}, "quantity": 12, "unitPrice": {"amount": 100.1},
           "vatRate": 25.5, "isRecurring": True, "startDate": "2026-01-01", "endDate": "2026-12-31"}
    return {"guid": "g1", "number": "5001", "date": "2026-03-02", "_customer": {"number": "1001"},
            "totalExcludingTax": 1201.2, "rows": [row]} | extra


def test_recurring_rows_are_periodised_only_when_set():
    plain = m.sales_invoice(invoice(), "ref", config=SeveraNetvisorSettings())
    assert plain["lines"][0]["accrual"] is None and plain["amount"] == Decimal("1507.51")
    config = SeveraNetvisorSettings.model_validate({"sales_invoices": {"periodise_recurring_rows": True}})
    line = m.sales_invoice(invoice(), "ref", config=config)["lines"][0]
    assert line["accrual"] == {"start": "2026-01-01", "end": "2026-12-31"}


def test_invoice_refusals_and_temp_mode():
    config = SeveraNetvisorSettings()
    with pytest.raises(RecordRejected, match="rows add up to 1201.20 but the invoice total excluding tax is 1200"):
        m.sales_invoice(invoice(totalExcludingTax=1200), "ref", config=config)
    with pytest.raises(RecordRejected, match="is in USD but has no exchange rate"):
        m.sales_invoice(invoice(currency={"code": "USD"}), "ref", config=config)
    with pytest.raises(RecordRejected, match="negative total but is not a credit note"):
        m.sales_invoice(invoice(totalExcludingTax=None, rows=[{**invoice()["rows"][0], "quantity": -1}]), "ref",
                        config=config)
    temp = SeveraNetvisorSettings.model_validate({"customers": {"use_temp": True}, "products": {"use_temp": True}})
    payload = m.sales_invoice(invoice(_customer={"number": "0123"}), "ref", config=temp)
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


def test_travel_with_only_non_reimbursable_costs_is_skipped():
    with pytest.raises(RecordSkipped, match="only non-reimbursable"):
        m.check_reimbursable({"number": "T-1", "_expenses": [{"isReimbursable": False}]})


def test_per_invoice_costs_need_one_project():
    config = SeveraNetvisorSettings.model_validate({"purchase_invoices": {"per_line": False}})
    lines = [{"_project_number": n, "_project": {"guid": n}, "quantity": Decimal(1), "unit_price": Decimal(1)}
             for n in ("2001", "2003")]
    with pytest.raises(RecordRejected, match="need one project"):
        m.project_costs({"netvisor_key": "1", "number": "P", "lines": lines}, "ref", config=config)
