"""The control room's Orders view through the real api-server: every shop order the e-shop flows saw, its ERP
documents, its state and why it waits; login enforced."""

from __future__ import annotations

import json

from tests.flows.dagrun import run_dag
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, NIP_WRONG, Shop, seed


def test_orders_view_shows_documents_states_and_reasons(room, woocommerce, fakturownia, monkeypatch):
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE}))
    shop = Shop(woocommerce)
    paid = shop.order({"MUG-01": 1})
    transfer = shop.order({"MUG-01": 2}, paid=False, status="on-hold", email="ewa@example.pl")
    refused = shop.order({"MUG-01": 1}, nip=NIP_WRONG, company="Zła <b>Firma</b>")
    for dag_id in ("eshop_erp_orders", "eshop_erp_payments"):
        run_dag(dag_id)

    for path in ("/orders", "/api/orders"):
        assert room.session(None).get(room.url(path), headers={"Accept": "application/json"},
                                      allow_redirects=False, timeout=30).status_code in (401, 403)
    listed = {o["number"]: o for o in room.session().get(room.url("/api/orders"), timeout=30).json()}
    assert listed[paid["number"]]["state"] == "paid: sales document issued"
    assert [d["reference"] for d in listed[paid["number"]]["documents"]] == [
        f"WC-{paid['number']}", f"WC-{paid['number']}/sale"]
    assert listed[transfer["number"]]["state"].startswith("customer order in the ERP: waiting for payment")
    assert listed[transfer["number"]]["reserved"] == ["MUG-01 × 2"]
    assert listed[refused["number"]]["state"].startswith(
        f"waiting: customer order: order {refused['number']}: NIP '{NIP_WRONG}'")

    page = room.session().get(room.url("/orders"), headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and f"WC-{paid['number']}/sale" in page.text
    assert "<b>Firma</b>" not in page.text  # shop data is escaped
