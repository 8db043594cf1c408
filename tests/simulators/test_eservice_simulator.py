"""E-service payments simulator over real HTTP: Bearer auth, JSON errors, paging and changed_since, refunds."""

from __future__ import annotations

import pytest
import requests

from include.simulators.eservice import DEFAULT_CONFIG, DEMO_SEED

AUTH = {"Authorization": f"Bearer {DEFAULT_CONFIG['api_key']}"}


@pytest.fixture
def base(simulators) -> str:
    url = simulators["eservice"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/config", json=DEFAULT_CONFIG, timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json=DEMO_SEED, timeout=5).raise_for_status()
    return url


def test_the_api_key_is_required_and_errors_are_json(base):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": DEFAULT_CONFIG["api_key"]}):
        response = requests.get(f"{base}/api/v1/payments", headers=headers, timeout=5)
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    missing = requests.get(f"{base}/api/v1/payments/NONE", headers=AUTH, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_pages_in_change_order_and_changed_since(base):
    first = requests.get(f"{base}/api/v1/payments", params={"per_page": 2}, headers=AUTH, timeout=5).json()
    second = requests.get(f"{base}/api/v1/payments", params={"per_page": 2, "page": 2}, headers=AUTH, timeout=5).json()
    assert (first["pages"], [p["id"] for p in first["payments"] + second["payments"]]) == (
        2, [p["id"] for p in DEMO_SEED["payments"]])
    newest = second["payments"][-1]["changed_at"]
    since = requests.get(f"{base}/api/v1/payments", params={"changed_since": newest}, headers=AUTH, timeout=5).json()
    assert [p["id"] for p in since["payments"]] == [DEMO_SEED["payments"][-1]["id"]]
    for bad in ({"per_page": 101}, {"page": 0}, {"changed_since": "yesterday"}):
        response = requests.get(f"{base}/api/v1/payments", params=bad, headers=AUTH, timeout=5)
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation"


def test_a_refund_moves_the_payment_and_only_a_paid_one(base):
    refunded = requests.post(f"{base}/_sim/payments/ZG-2026-000101/refund", timeout=5).json()
    assert refunded["status"] == "refunded" and refunded["refunded_at"] and refunded["changed_at"] > refunded["paid_at"]
    again = requests.post(f"{base}/_sim/payments/ZG-2026-000101/refund", timeout=5)
    assert again.status_code == 422
    newest = requests.get(f"{base}/api/v1/payments", headers=AUTH, timeout=5).json()["payments"][-1]
    assert newest["id"] == "ZG-2026-000101"
    assert requests.post(f"{base}/_sim/seed", json={"payments": [{"id": "X", "status": "done"}]},
                         timeout=5).status_code == 400
