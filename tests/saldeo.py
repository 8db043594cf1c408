"""The SaldeoSMART simulator for a test: reset, the test user's token, ``saldeo_default`` pointing at it.
Import the fixture where it is used (``from tests.saldeo import saldeo``)."""

from __future__ import annotations

import json

import pytest

from include.simulators.client import SimulatorAdmin

USER, TOKEN = "erpbridge-tests", "saldeo-token-6b2f90c1"
COMPANY = "BIURO-1"


@pytest.fixture
def saldeo(simulators, monkeypatch) -> SimulatorAdmin:
    sim = SimulatorAdmin(simulators["saldeo"])
    sim.reset()
    sim.configure(users={USER: TOKEN})
    sim.seed(companies=[{"program_id": COMPANY, "name": "Klient Biura Sp. z o.o.", "vat_number": "7010020030"}])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({
        "conn_type": "saldeo", "host": sim.base, "login": USER, "password": TOKEN,
        "extra": {"backoff": 0.05, "timeout": 10}}))
    return sim
