"""The registers' ledger scoped by company and by system, with the real simulators over HTTP and a real ledger:
a register whose direction is switched leaves the other direction's quarantine alone (never reads Severa ids from
Netvisor), a quarantined record the source no longer has leaves the quarantine as 'gone' saying why, and two
companies against two simulator sets share no id map, watermark or quarantine row."""

from __future__ import annotations

import json
import os

import pytest

from erpbridge.engine.registry import Register, RegistrySync
from erpbridge.flows.severa_netvisor import endpoints as ep
from erpbridge.flows.severa_netvisor import mapping as m
from erpbridge.hooks.netvisor import NetvisorHook
from erpbridge.hooks.severa import SeveraHook
from erpbridge.ledger.store import Ledger
from include.simulators.client import SimulatorAdmin, launch, stop
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states
from tests.flows.test_severa_netvisor_registers import BAD_CUSTOMERS, DAG_ID, GOOD_CUSTOMERS, set_settings

LEGACY_GUID = "0b3b82e6-5c1e-4d3a-9a57-0c8f1e0a2b11"  # a Severa guid once filed under Netvisor (issue 15)


def waiting(ledger) -> list[tuple]:
    return ledger.execute("SELECT system, source_key FROM quarantine ORDER BY system, source_key").fetchall()


def netvisor_customer_reads(netvisor, since: int) -> list[str]:
    return [r["query"] for r in netvisor.requests(since) if r["path"].lower() == "/getcustomer.nv"]


def test_a_switched_register_moves_netvisors_records_and_leaves_severas_quarantine_alone(flow_scoped, monkeypatch):
    ledger, netvisor, severa = flow_scoped
    severa.seed(customers=GOOD_CUSTOMERS[:1] + BAD_CUSTOMERS)
    assert run_dag(DAG_ID, {"registers": ["customers"]}).state == "success"
    assert [system for system, _ in waiting(ledger)] == ["severa", "severa"]

    set_settings(monkeypatch, {"customers": {"direction": "netvisor_to_severa"}})
    netvisor.seed(customers=[{"code": "2001", "name": "Nordic & Co", "country": "FI"}])
    before = netvisor.last_seq()
    run = run_dag(DAG_ID, {"registers": ["customers"]})

    assert run.state == "success", task_states(run)
    assert sorted(c["number"] for c in severa.state()["customers"] if c["number"] > 0) == [1001, 2001, 12345678901234567]
    reads = netvisor_customer_reads(netvisor, before)
    assert reads and not any("-" in query for query in reads), reads  # no Severa guid asked of Netvisor
    assert [system for system, _ in waiting(ledger)] == ["severa", "severa"]  # the other direction's, kept
    marks = dict(ledger.execute("SELECT system, value FROM watermark WHERE stream = 'customer'").fetchall())
    assert set(marks) == {"severa", "netvisor"}
    mapped = ledger.execute("SELECT system, count(*) FROM id_map GROUP BY system ORDER BY system").fetchall()
    assert mapped == [("netvisor", 2), ("severa", 1)]  # Netvisor's 1001 adopted Severa's 1001, 2001 created


def test_a_quarantined_record_the_source_no_longer_has_leaves_as_gone(flow_scoped, monkeypatch):
    ledger, netvisor, severa = flow_scoped
    set_settings(monkeypatch, {"customers": {"direction": "netvisor_to_severa"}})
    netvisor.seed(customers=[{"code": "2001", "name": "Nordic & Co"}, {"code": "X-9", "name": "Lettered"}])
    assert run_dag(DAG_ID, {"registers": ["customers"]}).state == "success"
    assert waiting(ledger) == [("netvisor", "X-9")]
    lettered = ledger.execute("SELECT source_id FROM quarantine").fetchone()[0]
    Ledger(ledger, DAG_ID).of("netvisor").quarantine("customer", LEGACY_GUID, "C-OLD", "refused", "INVALID_DATA", None)

    netvisor.reset()  # X-9 deleted in Netvisor: its key is no customer's any more
    netvisor.configure(**SECRETS["netvisor"])
    netvisor.seed(customers=[{"code": "2001", "name": "Nordic & Co"}])
    run = run_dag(DAG_ID, {"registers": ["customers"]})

    assert run.state == "success", task_states(run)
    assert waiting(ledger) == []
    gone = dict(ledger.execute("SELECT source_id, error_text FROM transfer_log WHERE action = 'gone'").fetchall())
    assert set(gone) == {lettered, LEGACY_GUID}
    assert "INVALID_DATA" in gone[lettered] and lettered in gone[lettered]
    assert "netvisor refuses customer" in gone[LEGACY_GUID] and "id" in gone[LEGACY_GUID]


@pytest.fixture
def flow_scoped(airflow_db, ledger, netvisor, severa, monkeypatch):
    from tests.contract.severa_openapi import scope_connection

    scope_connection(monkeypatch, DAG_ID)
    return ledger, netvisor, severa


@pytest.fixture
def second_company(monkeypatch, netvisor, severa):
    """A second simulator set (Severa and Netvisor) for company "globex"; "acme" uses the session's set. Each
    company has its own connections (severa_<company>, netvisor_<company>)."""
    process, urls = launch("empty", ["severa", "netvisor"])
    try:
        sims = {"acme": {"severa": severa, "netvisor": netvisor}}
        sims["globex"] = {name: SimulatorAdmin(urls[name]) for name in ("severa", "netvisor")}
        for name, sim in sims["globex"].items():
            sim.configure(**SECRETS[name])
        for company, pair in sims.items():
            for name in ("severa", "netvisor"):
                conn = json.loads(os.environ[f"AIRFLOW_CONN_{name.upper()}_DEFAULT"])
                base = pair[name].base + ("/rest-api" if name == "severa" else "")
                monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}_{company.upper()}", json.dumps({**conn, "host": base}))
        yield sims
    finally:
        stop(process, timeout=10)


def customers(company: str) -> Register:
    return Register("customer", ep.SeveraSource(SeveraHook(f"severa_{company}"), "customers"),
                    ep.NetvisorCustomers(NetvisorHook(f"netvisor_{company}")), m.severa_customer_to_netvisor,
                    lambda payload: payload["code"])


def test_two_companies_share_no_id_map_watermark_or_quarantine(ledger, second_company):
    sims = second_company
    sims["acme"]["severa"].seed(customers=[GOOD_CUSTOMERS[0], BAD_CUSTOMERS[1]])
    sims["globex"]["severa"].seed(customers=[GOOD_CUSTOMERS[1], BAD_CUSTOMERS[1]])
    Ledger(ledger, "-").migrate()
    for company in ("acme", "globex"):
        RegistrySync(customers(company), Ledger(ledger, DAG_ID, company=company)).run()

    assert [c["code"] for c in sims["acme"]["netvisor"].state()["customers"]] == ["1001"]
    assert [c["code"] for c in sims["globex"]["netvisor"].state()["customers"]] == ["1002"]
    rows = ledger.execute("SELECT company, source_key FROM quarantine ORDER BY company").fetchall()
    assert rows == [("acme", "-5"), ("globex", "-5")]
    mapped = ledger.execute("SELECT company, target_id FROM id_map ORDER BY company").fetchall()
    assert [company for company, _ in mapped] == ["acme", "globex"]
    assert ledger.execute("SELECT count(DISTINCT company) FROM watermark").fetchone()[0] == 2

    before = {company: pair["severa"].last_seq() for company, pair in sims.items()}
    result = RegistrySync(customers("acme"), Ledger(ledger, DAG_ID, company="acme")).run()
    assert result.counts["rejected"] >= 1 and result.counts["created"] == 0  # acme's own refusal, tried again
    assert ledger.execute("SELECT company, attempts FROM quarantine ORDER BY company").fetchall()[1] == ("globex", 1)
    assert sims["globex"]["severa"].requests(before["globex"]) == []  # nothing of globex's read for acme
    assert sims["globex"]["netvisor"].writes() and sims["acme"]["netvisor"].writes()
