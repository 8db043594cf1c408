"""The e-service payments simulator for a test: reset, the test API key, ``eservice_default`` pointing at it, and
the payments a test builds. Import the fixture where it is used (``from tests.eservice import eservice``)."""

from __future__ import annotations

import json

import pytest

from include.simulators.client import SimulatorAdmin

API_KEY = "eservice-key-5f0c2a91"


@pytest.fixture
def eservice(simulators, monkeypatch) -> SimulatorAdmin:
    sim = SimulatorAdmin(simulators["eservice"])
    sim.reset()
    sim.configure(api_key=API_KEY)
    monkeypatch.setenv("AIRFLOW_CONN_ESERVICE_DEFAULT", json.dumps({
        "conn_type": "eservice", "host": sim.base, "password": API_KEY, "extra": {"backoff": 0.05, "timeout": 10}}))
    return sim


def position(price: str, rate: str = "21", quantity: str = "1", description: str = "Service fee") -> dict:
    """One position, its VAT and total computed as the portal does (half up, to the cent)."""
    from decimal import ROUND_HALF_UP, Decimal

    net = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
    vat = (net * Decimal(rate) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {"code": "FEE", "description": description, "quantity": quantity, "unit_price": price, "vat_rate": rate,
            "vat_amount": str(vat), "total": str(net + vat)}


def payment(payment_id: str, payer: dict, positions: list[dict], service: str = "ZG-IZRAKSTS", **fields) -> dict:
    from decimal import Decimal

    return {"id": payment_id, "service_code": service, "service_step": "1", "status": "paid",
            "paid_at": "2026-11-02T09:15:00Z", "channel": "card", "currency": "EUR",
            "amount": str(sum(Decimal(p["total"]) for p in positions)), "payer": payer, "positions": positions,
            **fields}


def person(code: str, name: str = "Jānis Bērziņš", country: str = "LV") -> dict:
    return {"type": "person", "name": name, "personal_code": code, "country": country, "email": "payer@example.lv"}


def company(number: str, name: str = "SIA Ābeļziedi", country: str = "LV") -> dict:
    return {"type": "company", "name": name, "registration_number": number, "country": country}
