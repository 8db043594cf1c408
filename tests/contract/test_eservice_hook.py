"""EServiceHook against the e-service simulator, and the Horizon hook's customers and sales documents against the
Horizon simulator, over HTTP: the assumed contracts (erpbridge.hooks.eservice, erpbridge.hooks.visma_horizon) as
both sides implement them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from erpbridge.errors import RecordRejected
from erpbridge.hooks.eservice import EServiceHook
from erpbridge.hooks.visma_horizon import VismaHorizonHook
from include.simulators.eservice import DEMO_SEED
from tests.eservice import API_KEY, eservice  # noqa: F401 (fixture)


def test_payments_paged_changed_since_one_by_id_and_a_refund(eservice, monkeypatch):
    monkeypatch.setattr("erpbridge.hooks.eservice.PAGE_SIZE", 2)
    eservice.seed(**DEMO_SEED)
    hook = EServiceHook()
    assert hook.test_connection()[0]

    pages = list(hook.iter_payments())

    assert [[p["id"] for p in page] for page in pages] == [["ZG-2026-000101", "ZG-2026-000102"], ["ZG-2026-000103"]]
    before_refund = datetime.now(timezone.utc)
    assert list(hook.iter_payments(before_refund + timedelta(seconds=1))) == []
    refunded = eservice.admin("POST", "payments/ZG-2026-000102/refund")
    assert [p["id"] for page in hook.iter_payments(before_refund) for p in page] == ["ZG-2026-000102"]
    assert hook.payment("ZG-2026-000102") == refunded and refunded["status"] == "refunded"
    assert hook.payment("ZG-NONE") is None


def test_a_wrong_api_key_fails_the_test_button_without_showing_it(eservice, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ESERVICE_DEFAULT", json.dumps(
        {"conn_type": "eservice", "host": eservice.base, "password": "not-the-key", "extra": {"backoff": 0.01}}))
    ok, message = EServiceHook().test_connection()
    assert not ok and "unauthorized" in message
    assert "not-the-key" not in message and API_KEY not in message


def test_customers_by_code_and_sales_documents_by_external_ref(horizon):
    horizon.seed(articles=[{"Code": "ZG-EXTRACT", "Name": "Extract"}])
    hook = VismaHorizonHook()
    assert hook.customers_with_reg_no("01019012349", "LV") == []
    customer = hook.create_customer({"name": "Anna Kalniņa", "reg_no": "01019012349", "country": "LV",
                                     "person_type": "PERSON"})
    assert hook.customers_with_reg_no("01019012349", "LV") == [customer]
    assert hook.customers_with_reg_no("01019012349", "EE") == []
    line = {"article": "ZG-EXTRACT", "description": "Extract", "quantity": "1", "price": "10.00", "vat_rate": "21",
            "amount": "10.00", "vat": "2.10"}
    document = {"doc_type": "INVOICE", "doc_date": "2026-11-02", "currency": "EUR", "external_ref": "ZG-1",
                "paid_date": "2026-11-02", "payment_channel": "card", "total": "12.10", "vat_total": "2.10",
                "customer_pk": customer, "lines": [line]}

    invoice = hook.create_sales_document(document)
    credit = hook.create_sales_document({**document, "doc_type": "CREDIT_NOTE", "external_ref": "ZG-1/refund",
                                         "credited_pk": invoice, "lines": [{**line, "amount": "-10.00"}]})

    assert hook.sales_document("ZG-1") == invoice and hook.sales_document("ZG-1/refund") == credit
    assert hook.sales_document("ZG-2") is None
    stored = {d["ExternalRef"]: d for d in horizon.state()["sales_invoices"]}
    assert stored["ZG-1"]["Customer"] == int(customer) and stored["ZG-1"]["Lines"][0]["Vat"] == "2.10"
    assert stored["ZG-1/refund"]["CreditedInvoice"] == int(invoice)
    assert horizon.state()["customers"][0]["Code"] == f"K{customer}", "Horizon numbers a customer left without code"
    with pytest.raises(RecordRejected) as twice:
        hook.create_sales_document(document)
    assert twice.value.category == "DUPLICATE_REFERENCE"
    with pytest.raises(RecordRejected) as unknown:
        hook.create_sales_document({**document, "external_ref": "ZG-3", "lines": [{**line, "article": "NONE"}]})
    assert unknown.value.category == "UNKNOWN_ARTICLE"
