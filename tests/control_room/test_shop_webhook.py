"""The shop's order webhook through the real api-server: a delivery signed as WooCommerce signs it (base64
HMAC-SHA256 of the body with the webhook's secret) queues one run of the orders DAG through Airflow's REST API
as the service user, and that run imports the order; a wrong or missing signature, another topic, a company
without a webhook connection and an oversized body queue nothing; the secret never reaches the log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from tests.control_room.conftest import execute_queued_run, sync_dags
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop, seed

DAG = "eshop_erp_orders"
SECRET = "wc-webhook-secret-" + "k3Jx9"  # what WooCommerce > Settings > Advanced > Webhooks holds
ORDER_BODY = json.dumps({"id": 1, "status": "processing"}).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def webhook(room):
    """The webhook's secret and the service user in Airflow's metadata DB (where the api-server reads them); no
    queued run of the orders DAG before; all of it removed after."""
    admin, connections = room.session(), f"{room.base}/api/v2/connections"
    made = {"woocommerce_webhook": {"conn_type": "generic", "password": SECRET},
            "erpbridge_airflow_api": {"conn_type": "generic", "login": "admin", "password": room.passwords["admin"]}}
    for conn_id, fields in made.items():
        admin.delete(f"{connections}/{conn_id}", timeout=30)
        created = admin.post(connections, json={"connection_id": conn_id, **fields}, timeout=30)
        assert created.status_code == 201, created.text
    sync_dags()
    runs = f"{room.base}/api/v2/dags/{DAG}/dagRuns"

    def queued() -> list[dict]:
        return admin.get(runs, params={"state": "queued"}, timeout=30).json()["dag_runs"]

    for run in queued():
        admin.delete(f"{runs}/{run['dag_run_id']}", timeout=30)
    room.queued = queued
    yield room
    for run in queued():
        admin.delete(f"{runs}/{run['dag_run_id']}", timeout=30)
    for conn_id in made:
        admin.delete(f"{connections}/{conn_id}", timeout=30)


def deliver(room, body: bytes, *, topic: str = "order.created", sign: str | None = SECRET, company: str = "default",
            headers: dict | None = None):
    sent = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": topic.partition(".")[2], **(headers or {})}
    if sign is not None:
        sent["X-WC-Webhook-Signature"] = signature(body, sign)
    return room.session(None).post(f"{room.base}/erpbridge-webhooks/woocommerce/{company}/orders", data=body,
                                   headers=sent, timeout=60)


def test_a_signed_order_webhook_queues_one_run_that_imports_the_order(webhook, woocommerce, fakturownia,
                                                                       monkeypatch):
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE}))
    order = Shop(woocommerce).order({"MUG-01": 1})
    body = json.dumps(order).encode()

    # the Host a caller sends plays no part: the run is queued at the configured API
    first = deliver(webhook, body, headers={"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"})
    assert first.status_code == 202, first.text
    assert first.json()["triggered"] is True
    again = deliver(webhook, body, topic="order.updated")  # a burst: the queued run takes this one too
    assert again.status_code == 202 and again.json() == {
        "triggered": False, "dag_id": DAG, "dag_run_id": first.json()["dag_run_id"],
        "reason": "a run is already queued"}
    [queued] = webhook.queued()
    assert queued["dag_run_id"] == first.json()["dag_run_id"]
    assert queued["note"] == "started by the shop's webhook (order.created)"

    run = execute_queued_run(DAG, queued["dag_run_id"])
    assert run.state == "success"
    made = [i["oid"] for i in fakturownia.state()["invoices"] if i["kind"] == "estimate"]
    assert made == [f"WC-{order['number']}"]


def test_a_ping_is_answered_and_anything_unsigned_or_not_an_order_queues_nothing(webhook):
    assert deliver(webhook, b"webhook_id=7", sign=None).json() == {"pong": True}
    assert deliver(webhook, ORDER_BODY, sign=None).status_code == 401
    assert deliver(webhook, ORDER_BODY, sign="not-the-secret").status_code == 401
    tampered = deliver(webhook, ORDER_BODY, sign=None,
                       headers={"X-WC-Webhook-Signature": signature(ORDER_BODY + b" ")})
    assert tampered.status_code == 401
    product = deliver(webhook, ORDER_BODY, topic="product.updated")
    assert product.status_code == 200 and product.json()["triggered"] is False
    assert deliver(webhook, ORDER_BODY, company="other").status_code == 404  # no such company in the companies file
    assert deliver(webhook, ORDER_BODY, company="..").status_code in (404, 422)
    assert deliver(webhook, b"x" * 1_000_001).status_code == 413
    assert webhook.queued() == []
    log = Path(os.environ["AIRFLOW_HOME"], "api-server.log").read_text()
    assert "signature does not match" in log and SECRET not in log
