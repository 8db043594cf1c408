"""Two companies on one installation, for the tests: a companies file naming north and south (every flow of the
catalog for both), north on the session's simulators, south on a second set, and each company's connections
(``<type>_<company>``, the companies file's default ids) pointing at its own set. Import the fixtures where
they are used (``from tests.flows.two_companies import companies_file, second_simulators``)."""

from __future__ import annotations

import json

import pytest
import yaml

from erpbridge.catalog import FLOWS
from include.simulators.client import SimulatorAdmin as Sim
from include.simulators.client import launch, stop
from tests.conftest import SECRETS
from tests.eservice import API_KEY as ESERVICE_KEY
from tests.saldeo import TOKEN as SALDEO_TOKEN
from tests.saldeo import USER as SALDEO_USER

COMPANIES = {"north": "North Oy", "south": "South Ab"}
# simulator -> (connection type, path, login, password, extras), as the default connections of tests/conftest.py
CONNECTIONS = {
    "netvisor": ("netvisor", "", SECRETS["netvisor"]["customer_id"], SECRETS["netvisor"]["customer_key"],
                 {"sender": "erpbridge tests", "partner_id": SECRETS["netvisor"]["partner_id"],
                  "partner_key": SECRETS["netvisor"]["partner_key"],
                  "organisation_id": SECRETS["netvisor"]["organisation_id"], "language": "FI"}),
    "severa": ("severa", "/rest-api", SECRETS["severa"]["client_id"], SECRETS["severa"]["client_secret"],
               {"rate_per_second": 0}),
    "standard_books": ("standard_books", "", SECRETS["standard_books"]["username"],
                       SECRETS["standard_books"]["password"], {"company": SECRETS["standard_books"]["company"]}),
    "envoice": ("envoice", "", None, SECRETS["envoice"]["api_key"], {"rate_per_second": 0}),
    "horizon": ("visma_horizon", "", SECRETS["horizon"]["username"], SECRETS["horizon"]["password"], {}),
    "woocommerce": ("woocommerce", "", SECRETS["woocommerce"]["consumer_key"],
                    SECRETS["woocommerce"]["consumer_secret"], {}),
    "fakturownia": ("fakturownia", "", None, SECRETS["fakturownia"]["api_token"], {}),
    "saldeo": ("saldeo", "", SALDEO_USER, SALDEO_TOKEN, {}),
    "eservice": ("eservice", "", None, ESERVICE_KEY, {}),
    "weighing": ("weighing", "", None, SECRETS["weighing"]["api_key"], {}),
}
CREDENTIALS = {**SECRETS, "saldeo": {"users": {SALDEO_USER: SALDEO_TOKEN}}, "eservice": {"api_key": ESERVICE_KEY}}  # what each simulator is configured with


@pytest.fixture(scope="module")
def second_simulators():
    """A second set of simulators (the session's first set is north's)."""
    process, urls = launch("empty", list(CONNECTIONS), timeout=30)
    try:
        yield urls
    finally:
        stop(process, timeout=10)


@pytest.fixture
def companies_file(tmp_path, monkeypatch):
    """A companies file naming north and south, every flow of the catalog for both."""
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump({"companies": {
        key: {"name": name, "flows": {flow_id: {} for flow_id in FLOWS}} for key, name in COMPANIES.items()}}))
    monkeypatch.setenv("ERPBRIDGE_COMPANIES_FILE", str(path))
    return path


def connect(urls: dict, monkeypatch, name: str, company: str) -> Sim:
    """Reset simulator ``name`` of one set and point ``<type>_<company>`` (the companies file's default) at it."""
    conn_type, path, login, password, extra = CONNECTIONS[name]
    sim = Sim(urls[name])
    sim.reset()
    sim.configure(**CREDENTIALS[name])
    if name == "severa":
        sim.configure(rate_limit_per_second=1000)  # the pace itself is tested in tests/contract
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_type.upper()}_{company.upper()}", json.dumps({
        "conn_type": conn_type, "host": sim.base + path, "login": login, "password": password,
        "extra": {"backoff": 0.05, "timeout": 10, **extra}}))
    return sim


def connect_all(simulators: dict, second_simulators: dict, monkeypatch) -> dict[str, dict[str, Sim]]:
    """company -> simulator name -> its simulator, reset, with the company's connection pointing at it."""
    urls = {"north": simulators, "south": second_simulators}
    return {company: {name: connect(urls[company], monkeypatch, name, company) for name in CONNECTIONS}
            for company in COMPANIES}


def set_variable(monkeypatch, variable: str, value: dict) -> None:
    """An Airflow Variable through the environment, as the tests give every settings Variable."""
    monkeypatch.setenv(f"AIRFLOW_VAR_{variable.upper()}", json.dumps(value))
