"""WooCommerceHook against the WooCommerce simulator over real HTTP (OAuth 1.0a) and HTTPS (Basic, the
certificate verified): paging, batch in calls of 100, notes, errors as our error kinds, retries."""

from __future__ import annotations

import json

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.woocommerce_shop import WooCommerceHook
from include.simulators import woocommerce as wc
from tests.conftest import SECRETS
from tests.contract._support import calls, override_connection
from tests.tls_server import serve_tls

ENV = "AIRFLOW_CONN_WOOCOMMERCE_DEFAULT"
API = "/wp-json/wc/v3"


def test_test_connection_signs_with_oauth_over_http(woocommerce, monkeypatch):
    ok, message = WooCommerceHook().test_connection()
    assert ok, message
    assert all("oauth_signature=" in r["query"] for r in woocommerce.requests())
    assert SECRETS["woocommerce"]["consumer_secret"] not in json.dumps(woocommerce.requests())
    override_connection(monkeypatch, ENV, password="wrong")
    ok, message = WooCommerceHook(woocommerce_conn_id="woocommerce_default").test_connection()
    assert not ok and "signature does not match" in message


def test_basic_auth_over_https_with_the_certificate_checked(tls_files, monkeypatch):
    cert, key = tls_files
    app = wc.create_app(SECRETS["woocommerce"])
    app.sim.seed(wc.DEMO_SEED)
    with serve_tls(app, cert, key) as url:
        creds = SECRETS["woocommerce"]
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_TLS", json.dumps({
            "conn_type": "woocommerce", "host": url, "login": creds["consumer_key"],
            "password": creds["consumer_secret"], "extra": {"verify": str(cert), "attempts": 1}}))
        skus = [p["sku"] for page in WooCommerceHook("shop_tls").products() for p in page]
        assert sorted(skus) == ["MUG-01", "TEA-01", "TEE"]
        assert not any("oauth_" in r["query"] for r in app.sim.requests)
        monkeypatch.setenv("AIRFLOW_CONN_SHOP_TLS_UNTRUSTED", json.dumps({
            "conn_type": "woocommerce", "host": url, "login": creds["consumer_key"],
            "password": creds["consumer_secret"], "extra": {"attempts": 1}}))
        with pytest.raises(ExternalSystemError):
            list(WooCommerceHook("shop_tls_untrusted").products())


def test_lists_follow_the_paging_headers(woocommerce):
    woocommerce.seed(products=[{"name": f"P{i}", "sku": f"S{i:03}", "regular_price": "1.00"} for i in range(150)])
    pages = list(WooCommerceHook().products())
    assert [len(p) for p in pages] == [100, 50]
    assert [p["sku"] for p in pages[0][:2]] == ["S000", "S001"]  # oldest first: a stable order while paging


def test_batch_updates_go_100_at_a_time_and_report_refused_items(woocommerce):
    woocommerce.seed(products=[{"name": f"P{i}", "sku": f"S{i:03}", "regular_price": "1.00", "manage_stock": True,
                                "stock_quantity": 1} for i in range(150)])
    hook = WooCommerceHook()
    ids = [p["id"] for page in hook.products() for p in page]
    answers = hook.batch_update([{"id": i, "stock_quantity": 7} for i in ids] + [{"id": 1, "stock_quantity": 7}])
    assert len(calls(woocommerce, f"{API}/products/batch", method="POST")) == 2
    assert [a.get("stock_quantity") for a in answers[:150]] == [7] * 150
    assert answers[150]["error"]["code"] == "woocommerce_rest_product_invalid_id"


def test_orders_notes_and_refused_calls(woocommerce):
    woocommerce.seed(**wc.DEMO_SEED)
    hook = WooCommerceHook()
    mug = next(p for page in hook.products(["MUG-01"]) for p in page)
    order = hook.request("POST", "orders", json={"set_paid": True, "line_items": [{"product_id": mug["id"],
                                                                                     "quantity": 1}]}, write=True).body
    assert [o["id"] for page in hook.orders(statuses=("processing",)) for o in page] == [order["id"]]
    hook.add_note(order["id"], "Paragon PAR 1/11/2026")
    assert [n["note"] for n in hook.notes(order["id"])] == ["Paragon PAR 1/11/2026"]
    assert hook.order(999999) is None
    with pytest.raises(RecordRejected) as refused:
        hook.request("PUT", f"products/{mug['id']}", json={"regular_price": 40}, write=True)
    assert refused.value.category == "rest_invalid_param"


def test_reads_are_retried_after_server_errors(woocommerce):
    woocommerce.faults(next_n={"count": 2, "status": 503})
    assert list(WooCommerceHook().orders()) == [[]]
