"""FakturowniaHook against the Fakturownia simulator over real HTTP: the token only in a header, paging by
short page, stock per warehouse and changes, clients, documents by order id, refusals as our error kinds."""

from __future__ import annotations

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.fakturownia import FakturowniaHook
from include.simulators import fakturownia as fk
from tests.conftest import SECRETS
from tests.contract._support import calls, override_connection

ENV = "AIRFLOW_CONN_FAKTUROWNIA_DEFAULT"


def test_test_connection_keeps_the_token_out_of_urls(fakturownia, monkeypatch):
    fakturownia.seed(**fk.DEMO_SEED)
    ok, message = FakturowniaHook().test_connection()
    assert ok and "2 warehouse(s)" in message, message
    assert all(SECRETS["fakturownia"]["api_token"] not in r["query"] for r in fakturownia.requests())
    override_connection(monkeypatch, ENV, password="wrong")
    ok, message = FakturowniaHook(fakturownia_conn_id="fakturownia_default").test_connection()
    assert not ok and "logged in" in message
    with pytest.raises(ExternalSystemError) as failed:
        FakturowniaHook().warehouses()
    assert failed.value.category == "AuthenticationRequired"


def test_products_page_by_page_with_the_stock_of_one_warehouse(fakturownia):
    fakturownia.seed(warehouses=[{"id": 1, "name": "E-shop"}],
                     products=[{"name": f"P{i}", "code": f"C{i:03}", "price_gross": "1.00", "stock": {"1": i}}
                               for i in range(130)])
    pages = list(FakturowniaHook().products(warehouse_id=1))
    assert [len(p) for p in pages] == [100, 30]
    assert pages[1][-1]["stock_level"] == "129.0"
    assert len(calls(fakturownia, "/products.json")) == 2


def test_changed_products_only(fakturownia):
    from datetime import datetime, timezone

    fakturownia.seed(**fk.DEMO_SEED)
    hook = FakturowniaHook()
    start = datetime.now(timezone.utc).replace(microsecond=0)
    mug = next(p for page in hook.products() for p in page if p["code"] == "MUG-01")
    hook.create_warehouse_document({"kind": "wz", "warehouse_id": 1,
                                    "warehouse_actions": [{"product_id": mug["id"], "quantity": 1}]})
    changed = [p["code"] for page in hook.products(warehouse_id=1, changed_since=start) for p in page]
    assert changed == ["MUG-01"]


def test_clients_and_documents_by_order_id(fakturownia):
    fakturownia.seed(**fk.DEMO_SEED)
    hook = FakturowniaHook()
    client = hook.create_client({"name": "Firma ABC", "tax_no": "5252344078"})
    assert [c["id"] for c in hook.find_clients(tax_no="5252344078")] == [client["id"]]
    order = {"kind": "estimate", "oid": "wc-9", "oid_unique": "yes", "client_id": client["id"],
             "positions": [{"name": "Kubek", "quantity": 1, "tax": "23", "total_price_gross": "39.00"}]}
    created = hook.create_invoice(order)
    with pytest.raises(RecordRejected) as taken:
        hook.create_invoice(order)
    assert taken.value.category == "oid_taken" and "oid: jest już zajęty" in taken.value.reason
    assert [i["id"] for i in hook.invoices_by_oid("wc-9")] == [created["id"]]
    assert hook.invoices_by_oid("wc-10") == []
    assert hook.get("invoices", 424242) is None


def test_refused_data_names_the_field(fakturownia):
    fakturownia.seed(**fk.DEMO_SEED)
    with pytest.raises(RecordRejected, match="positions: nie może być puste"):
        FakturowniaHook().create_invoice({"kind": "vat", "buyer_name": "X", "positions": []})
