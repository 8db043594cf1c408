"""The WooCommerce simulator driven by the official client (PyPI ``woocommerce``): OAuth 1.0a over plain
HTTP (the launched simulators), HTTP Basic over HTTPS (a TLS-served instance), paging headers, batch,
variations, orders with taxes, notes, refunds, customers and the error shape."""

from __future__ import annotations

import pytest
from woocommerce import API

from include.simulators import woocommerce as wc
from tests.conftest import SECRETS
from tests.tls_server import serve_tls

KEY, SECRET = SECRETS["woocommerce"]["consumer_key"], SECRETS["woocommerce"]["consumer_secret"]


@pytest.fixture
def shop(woocommerce) -> API:
    return API(woocommerce.base, KEY, SECRET, version="wc/v3", timeout=10)


def error(response) -> tuple[int, str]:
    body = response.json()
    assert body["data"]["status"] == response.status_code
    return response.status_code, body["code"]


def test_oauth_over_http_is_checked(woocommerce, shop):
    assert shop.get("products").status_code == 200
    assert error(API(woocommerce.base, KEY, "wrong", version="wc/v3").get("products")) == (
        401, "woocommerce_rest_authentication_error")
    assert error(API(woocommerce.base, "ck_other", SECRET, version="wc/v3").get("products"))[0] == 401


def test_basic_auth_over_https(tls_files):
    cert, key = tls_files
    app = wc.create_app(SECRETS["woocommerce"])
    app.sim.seed(wc.DEMO_SEED)
    with serve_tls(app, cert, key) as url:
        client = API(url, KEY, SECRET, version="wc/v3", verify_ssl=str(cert), timeout=10)
        listed = client.get("products", params={"sku": "MUG-01"})
        assert listed.status_code == 200 and [p["sku"] for p in listed.json()] == ["MUG-01"]
        wrong = API(url, KEY, "wrong", version="wc/v3", verify_ssl=str(cert)).get("products")
        assert error(wrong) == (401, "woocommerce_rest_authentication_error")
        in_query = API(url, KEY, SECRET, version="wc/v3", verify_ssl=str(cert), query_string_auth=True)
        assert in_query.get("orders").status_code == 200


def test_paging_headers_and_limits(woocommerce, shop):
    woocommerce.seed(products=[{"name": f"P{i}", "sku": f"SKU-{i:03}", "regular_price": "1.00"} for i in range(205)])
    first = shop.get("products", params={"per_page": 100, "order": "asc"})
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("205", "3")
    last = shop.get("products", params={"per_page": 100, "page": 3, "order": "asc"})
    assert [p["sku"] for p in last.json()] == ["SKU-200", "SKU-201", "SKU-202", "SKU-203", "SKU-204"]
    assert error(shop.get("products", params={"per_page": 101})) == (400, "rest_invalid_param")


def test_batch_writes_absolute_stock_and_refuses_more_than_100(woocommerce, shop):
    woocommerce.seed(**wc.DEMO_SEED)
    mug = shop.get("products", params={"sku": "MUG-01"}).json()[0]
    answer = shop.post("products/batch", {"update": [{"id": mug["id"], "stock_quantity": 0, "regular_price": "41.00"},
                                                     {"id": 999999, "stock_quantity": 1}]}).json()["update"]
    assert (answer[0]["stock_quantity"], answer[0]["stock_status"], answer[0]["price"]) == (0, "outofstock", "41.00")
    assert answer[1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    too_many = shop.post("products/batch", {"update": [{"id": mug["id"]}] * 101})
    assert error(too_many) == (413, "woocommerce_rest_request_entity_too_large")
    assert error(shop.put(f"products/{mug['id']}", {"regular_price": 41})) == (400, "rest_invalid_param")


def test_variations_are_written_through_their_own_endpoint(woocommerce, shop):
    woocommerce.seed(**wc.DEMO_SEED)
    tee = shop.get("products", params={"sku": "TEE"}).json()[0]
    size_m = tee["variations"][0]
    assert error(shop.put(f"products/{size_m}", {"stock_quantity": 1})) == (404, "woocommerce_rest_invalid_product_id")
    answer = shop.post(f"products/{tee['id']}/variations/batch", {"update": [{"id": size_m, "stock_quantity": 2}]})
    assert answer.json()["update"][0]["stock_quantity"] == 2
    variations = shop.get(f"products/{tee['id']}/variations").json()
    assert {v["sku"]: v["stock_quantity"] for v in variations} == {"TEE-M": 2, "TEE-L": 3}
    assert error(shop.post("products", {"name": "again", "sku": "TEE-L"})) == (400, "product_invalid_sku")


def test_an_order_is_priced_and_taxed_per_line_and_moves_stock(woocommerce, shop):
    woocommerce.seed(**wc.DEMO_SEED)
    skus = {p["sku"]: p for p in shop.get("products").json()}
    order = shop.post("orders", {
        "set_paid": True, "billing": {"email": "anna@example.pl"},
        "line_items": [{"product_id": skus["MUG-01"]["id"], "quantity": 2},
                       {"product_id": skus["TEA-01"]["id"], "quantity": 1}],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Kurier", "total": "15.00"}],
        "fee_lines": [{"name": "Pakowanie", "total": "5.00"}],
        "coupon_lines": [{"code": "RABAT10"}]}).json()
    assert order["status"] == "processing" and order["date_paid_gmt"]
    mug, tea = order["line_items"]
    assert (mug["subtotal"], mug["total"], mug["total_tax"]) == ("78.00", "70.20", "16.15")
    assert (tea["subtotal"], tea["total"], tea["total_tax"]) == ("24.00", "21.60", "1.08")
    assert {t["rate_percent"]: (t["tax_total"], t["shipping_tax_total"]) for t in order["tax_lines"]} == {
        23.0: ("17.30", "3.45"), 5.0: ("1.08", "0.00")}
    assert (order["discount_total"], order["total_tax"], order["total"]) == ("10.20", "21.83", "133.63")
    assert shop.get(f"products/{skus['MUG-01']['id']}").json()["stock_quantity"] == 10
    cancelled = shop.put(f"orders/{order['id']}", {"status": "cancelled"}).json()
    assert cancelled["status"] == "cancelled"
    assert shop.get(f"products/{skus['MUG-01']['id']}").json()["stock_quantity"] == 12


def test_orders_are_listed_by_status_and_change_time(woocommerce, shop):
    woocommerce.seed(**wc.DEMO_SEED)
    mug = shop.get("products", params={"sku": "MUG-01"}).json()[0]
    paid = shop.post("orders", {"set_paid": True, "line_items": [{"product_id": mug["id"], "quantity": 1}]}).json()
    shop.post("orders", {"line_items": [{"product_id": mug["id"], "quantity": 1}]})
    listed = shop.get("orders", params={"status": "processing,completed"}).json()
    assert [o["id"] for o in listed] == [paid["id"]]
    assert shop.get("orders", params={"modified_after": "2999-01-01T00:00:00"}).json() == []


def test_notes_and_refunds(woocommerce, shop):
    woocommerce.seed(**wc.DEMO_SEED)
    mug = shop.get("products", params={"sku": "MUG-01"}).json()[0]
    order = shop.post("orders", {"set_paid": True, "line_items": [{"product_id": mug["id"], "quantity": 2}]}).json()
    note = shop.post(f"orders/{order['id']}/notes", {"note": "Faktura FV 1/11/2026"})
    assert note.status_code == 201 and note.json()["customer_note"] is False
    assert [n["note"] for n in shop.get(f"orders/{order['id']}/notes").json()] == ["Faktura FV 1/11/2026"]
    line = order["line_items"][0]
    refund = shop.post(f"orders/{order['id']}/refunds", {
        "amount": "47.97", "reason": "zwrot", "api_refund": False,
        "line_items": [{"id": line["id"], "quantity": 1, "refund_total": "39.00",
                        "refund_tax": [{"id": 1, "refund_total": "8.97"}]}]})
    assert refund.status_code == 201 and refund.json()["line_items"][0]["quantity"] == -1
    assert shop.get(f"products/{mug['id']}").json()["stock_quantity"] == 11  # restocked
    assert shop.get(f"orders/{order['id']}").json()["refunds"][0]["total"] == "-47.97"
    too_much = shop.post(f"orders/{order['id']}/refunds", {"amount": "100.00"})
    assert error(too_much) == (500, "woocommerce_rest_cannot_create_order_refund")


def test_customers_have_unique_emails(woocommerce, shop):
    created = shop.post("customers", {"email": "Jan@Example.pl", "first_name": "Jan"})
    assert created.status_code == 201
    assert error(shop.post("customers", {"email": "jan@example.pl"})) == (400, "registration-error-email-exists")
    assert [c["id"] for c in shop.get("customers", params={"email": "jan@example.pl"}).json()] == [created.json()["id"]]
    assert error(shop.get("orders/424242")) == (404, "woocommerce_rest_shop_order_invalid_id")
