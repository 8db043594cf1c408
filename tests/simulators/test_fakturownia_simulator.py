"""The Fakturownia simulator driven by the PyPI client ``fakturownia-client`` (HTTPS only: the simulator is
served over TLS here) and, for the resources that client lacks (warehouses, warehouse documents), by the
README's own calls with the ``api_token`` parameter."""

from __future__ import annotations

import httpx
import pytest
from fakturownia_client import AuthenticationError, FakturowniaClient, NotFoundError, ValidationError

from include.simulators import fakturownia as fk
from tests.conftest import SECRETS
from tests.tls_server import serve_tls

TOKEN = SECRETS["fakturownia"]["api_token"]


@pytest.fixture(scope="module")
def served(tls_files):
    cert, key = tls_files
    app = fk.create_app(SECRETS["fakturownia"])
    with serve_tls(app, cert, key) as url:
        yield app, url, str(cert)


@pytest.fixture
def erp(served):
    app, url, cert = served
    app.sim.reset()
    app.sim.seed(fk.DEMO_SEED)
    with FakturowniaClient(url, TOKEN, verify=cert, max_retries=0) as client:
        yield client


@pytest.fixture
def readme(served):
    """The README's curl calls: api_token as a parameter."""
    _, url, cert = served
    with httpx.Client(base_url=url, verify=cert, params={"api_token": TOKEN}, timeout=10) as http:
        yield http


def test_the_token_is_checked(served, erp):
    _, url, cert = served
    assert erp.list_products()
    with FakturowniaClient(url, "wrong", verify=cert, max_retries=0) as wrong, pytest.raises(AuthenticationError):
        wrong.list_clients()


def test_products_with_stock_per_warehouse_and_changes(erp, readme):
    mug = next(p for p in erp.list_products() if p.code == "MUG-01")
    assert (mug.price_net, mug.price_gross) == ("31.71", "39.00")
    assert readme.get(f"/products/{mug.id}.json", params={"warehouse_id": 1}).json()["stock_level"] == "12.0"
    assert readme.get(f"/products/{mug.id}.json").json()["stock_level"] == "16.0"
    updated = erp.update_product(mug.id, {"price_gross": "43.05", "price_net": "1.00", "tax": "23"})
    assert (updated.price_net, updated.price_gross) == ("35.00", "43.05")  # net follows gross, never taken as given
    changed = readme.get("/products.json", params={"date_from": updated.updated_at.isoformat()}).json()
    assert [p["code"] for p in changed] == ["MUG-01"]


def test_price_lists_are_added_updated_listed_with_their_positions_and_deleted(readme):
    mug = next(p for p in readme.get("/products.json").json() if p["code"] == "MUG-01")
    added = readme.post("/price_lists.json", json={"price_list": {  # the README's call
        "name": "Sklep internetowy", "description": "Opis", "currency": "PLN",
        "price_list_positions_attributes": {"0": {
            "priceable_id": str(mug["id"]), "priceable_name": mug["name"], "priceable_type": "Product",
            "use_percentage": "0", "percentage": "", "price_net": "111.0", "price_gross": "136.53", "use_tax": "1",
            "tax": "23"}}}})
    assert added.status_code == 201, added.text
    [position] = added.json()["price_list_positions"]
    assert (position["priceable_id"], position["price_net"], position["price_gross"]) == (mug["id"], "111.00", "136.53")
    changed = readme.put(f"/price_lists/{added.json()['id']}.json", json={"price_list": {
        "name": "Sklep internetowy", "price_list_positions_attributes": {"0": {
            "id": str(position["id"]), "priceable_id": str(mug["id"]), "price_net": "10.0", "price_gross": "10.80",
            "use_tax": "1", "tax": "8"}}}})
    assert changed.status_code == 200, changed.text
    [listed] = readme.get("/price_lists.json").json()
    assert [(p["id"], p["price_gross"], p["tax"]) for p in listed["price_list_positions"]] == [
        (position["id"], "10.80", "8")]
    unknown = readme.post("/price_lists.json", json={"price_list": {"name": "X", "price_list_positions_attributes": {
        "0": {"priceable_id": "999999", "priceable_type": "Product", "price_gross": "1.00"}}}})
    assert unknown.status_code == 422
    assert readme.delete(f"/price_lists/{listed['id']}.json").status_code == 200
    assert readme.get("/price_lists.json").json() == []


def test_warehouse_documents_move_stock(readme):
    mug = next(p for p in readme.get("/products.json").json() if p["code"] == "MUG-01")
    transfer = readme.post("/warehouse_documents.json", json={"warehouse_document": {
        "kind": "mm", "warehouse_id": 1, "warehouse_actions": [{"product_id": mug["id"], "quantity": 2,
                                                                "warehouse2_id": 2}]}})
    assert transfer.status_code == 201 and transfer.json()["number"].startswith("MM ")
    levels = [readme.get(f"/products/{mug['id']}.json", params={"warehouse_id": w}).json()["stock_level"]
              for w in (1, 2)]
    assert levels == ["10.0", "6.0"]
    assert [w["name"] for w in readme.get("/warehouses.json").json()] == ["Magazyn sklepu internetowego", "Sklep Kraków"]
    refused = readme.post("/warehouse_documents.json", json={"warehouse_document": {
        "kind": "mm", "warehouse_id": 1, "warehouse_actions": [{"product_id": mug["id"], "quantity": 1,
                                                                "warehouse2_id": 77}]}})
    assert refused.status_code == 422 and refused.json() == {"code": "error", "message": {"warehouse2_id": ["nie istnieje"]}}


def test_clients_are_found_by_tax_number_email_and_external_id(erp):
    created = erp.create_client({"name": "Firma ABC", "tax_no": "5252344078", "email": "biuro@abc.pl",
                                 "external_id": "wc-7"})
    assert [c.id for c in erp.list_clients(tax_no="5252344078")] == [created.id]
    assert [c.id for c in erp.list_clients(email="biuro@abc.pl")] == [created.id]
    assert [c.id for c in erp.list_clients(external_id="wc-7")] == [created.id]
    with pytest.raises(ValidationError):
        erp.create_client({"email": "no-name@abc.pl"})


def test_a_customer_order_then_a_receipt_paid_and_a_correction(erp, readme):
    mug = next(p for p in erp.list_products() if p.code == "MUG-01")
    client = erp.create_client({"name": "Anna Nowak", "email": "anna@example.pl", "company": False})
    order = erp.create_invoice({"kind": "estimate", "oid": "wc-101", "oid_unique": "yes", "client_id": client.id,
                                "warehouse_id": 1, "positions": [
                                    {"product_id": mug.id, "quantity": 2, "tax": "23", "total_price_gross": "78.00"}]})
    assert (order.kind, order.price_gross, order.status) == ("estimate", "78.00", "issued")
    with pytest.raises(ValidationError, match="oid"):
        erp.create_invoice({"kind": "estimate", "oid": "wc-101", "oid_unique": "yes", "client_id": client.id,
                            "positions": [{"name": "x", "quantity": 1, "tax": "23", "total_price_gross": "1.00"}]})
    assert readme.get(f"/products/{mug.id}.json", params={"warehouse_id": 1}).json()["stock_level"] == "12.0"
    receipt = erp.create_invoice({"kind": "receipt", "oid": "wc-101/receipt", "oid_unique": "yes",
                                  "client_id": client.id, "warehouse_id": 1, "from_invoice_id": order.id,
                                  "positions": [{"product_id": mug.id, "quantity": 2, "tax": "23",
                                                 "total_price_gross": "78.00"}]})
    assert readme.get(f"/products/{mug.id}.json", params={"warehouse_id": 1}).json()["stock_level"] == "10.0"
    payment = erp.create_payment({"name": "wc-101", "price": "78.00", "invoice_id": receipt.id, "paid": True})
    assert erp.get_payment(payment.id).invoice_id == receipt.id
    assert erp.get_invoice(receipt.id).status == "paid"
    listed = erp.list_payments(include_invoices=True)
    assert [i.id for i in listed[0].invoices] == [receipt.id]
    correction = erp.create_invoice({"kind": "correction", "invoice_id": receipt.id, "from_invoice_id": receipt.id,
                                     "client_id": client.id, "warehouse_id": 1, "correction_reason": "zwrot",
                                     "positions": [{"product_id": mug.id, "quantity": -1, "tax": "23",
                                                    "total_price_gross": "-39.00"}]})
    assert correction.price_gross == "-39.00"
    assert readme.get(f"/products/{mug.id}.json", params={"warehouse_id": 1}).json()["stock_level"] == "11.0"
    assert [i.kind for i in erp.list_invoices()] == ["estimate", "receipt", "correction"]
    assert [i["number"] for i in readme.get("/invoices.json", params={"oid": "wc-101"}).json()] == [order.number]


def test_lists_page_by_page_up_to_100(erp):
    for index in range(130):
        erp.create_client({"name": f"Klient {index}"})
    assert len(erp.list_clients(per_page=500)) == 100
    assert len(list(erp.iter_clients())) == 130


def test_unknown_ids_and_missing_wrappers(erp, readme):
    with pytest.raises(NotFoundError):
        erp.get_invoice(424242)
    assert readme.post("/clients.json", json={"name": "bez opakowania"}).status_code == 400
