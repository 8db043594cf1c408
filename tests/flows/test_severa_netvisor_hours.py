"""R-A.8 end to end: dag.test() of severa_netvisor_hours against the Severa and Netvisor simulators over
HTTP, real PostgreSQL ledger."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states

DAG = "severa_netvisor_hours"
PROJECT = {"guid": "e1000000-0000-4000-8000-000000000001"}  # 2001 ERP rollout
USERS = {code: f"u2000000-0000-4000-8000-{n:012d}" for n, code in enumerate(["101", "102", "0103", "104"], 1)}
OT50, OT_BAD = "o1000000-0000-4000-8000-000000000001", "o1000000-0000-4000-8000-000000000002"
WT_DEV, WT_TRAVEL = "w1000000-0000-4000-8000-000000000001", "w1000000-0000-4000-8000-000000000002"
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def entry(n: int, user: str, day: str, hours, **extra) -> dict:
    return {"guid": f"h1000000-0000-4000-8000-{n:012d}", "user": {"guid": USERS[user]}, "eventDate": day,
            "quantity": hours} | extra


HOURS = [
    entry(1, "101", "2026-03-02", 7.5, project=PROJECT, workType={"guid": WT_DEV}, isApproved=True),
    entry(2, "101", "2026-03-02", 1.5, project=PROJECT, overtime={"guid": OT50}, isApproved=True),
    entry(3, "101", "2026-03-03", 4.0, workType={"guid": WT_TRAVEL}, description="Travel to Tampere"),
    entry(4, "101", "2026-03-03", 0.1),
    entry(5, "101", "2026-03-03", 0.2),
    entry(6, "102", "2026-03-02", 8),
    entry(7, "0103", "2026-03-02", 8),
    entry(8, "104", "2026-03-02", 8),
    entry(9, "102", "2026-02-27", 8),  # outside the range
]


@pytest.fixture
def flow(airflow_db, ledger, severa, netvisor, monkeypatch):
    severa.configure(rate_limit_per_second=1000)
    creds = SECRETS["severa"]
    monkeypatch.setenv("AIRFLOW_CONN_SEVERA_DEFAULT", json.dumps({
        "conn_type": "severa", "host": f"{severa.base}/rest-api", "login": creds["client_id"],
        "password": creds["client_secret"], "extra": {"backoff": 0.05, "timeout": 10, "rate_per_second": 0}}))
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps(
        {"hours": {"use_approval": True, "record_types": {"TRAVEL": "5"}}}))
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": guid, "firstName": "Person", "lastName": code, "code": code}
                     for code, guid in USERS.items()]
    seed["overtimes"] = [{"guid": OT50, "name": "Overtime 50 %", "code": "2", "percentage": 50}]
    seed["worktypes"] = [{"guid": WT_DEV, "name": "Development", "code": "DEV"},
                         {"guid": WT_TRAVEL, "name": "Travel", "code": "TRAVEL"}]
    seed["workhours"] = copy.deepcopy(HOURS)
    severa.seed(**seed)
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}, {"number": "102", "name": "Person 102"}])
    return ledger, severa, netvisor


def workdays(netvisor) -> dict[tuple, list]:
    return {(w["employee"], w["date"], w["record_type"]): [(h["hours"], h["acceptance"], h["description"],
                                                           [d["item"] for d in h["dimensions"]]) for h in w["hours"]]
            for w in netvisor.state()["workdays"]}


EXPECTED = {
    ("101", "2026-03-02", "1"): [("7.5", "accepted", "", ["2001 ERP rollout"])],
    ("101", "2026-03-02", "2"): [("1.5", "accepted", "", ["2001 ERP rollout"])],
    ("101", "2026-03-03", "1"): [("0.1", "confirmed", "", []), ("0.2", "confirmed", "", [])],
    ("101", "2026-03-03", "5"): [("4.0", "confirmed", "Travel to Tampere", [])],
    ("102", "2026-03-02", "1"): [("8", "confirmed", "", [])],
}


def patch_hours(severa, guid: str, **changes) -> None:
    """Change an hour entry in Severa as a user would (its own API, not our hook)."""
    creds = SECRETS["severa"]
    token = requests.post(f"{severa.base}/rest-api/v1/token", json={
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]}, timeout=10).json()["access_token"]
    response = requests.patch(f"{severa.base}/rest-api/v1/workhours/{guid}",
                              json=[{"op": "replace", "path": f"/{k}", "value": v} for k, v in changes.items()],
                              headers={"Authorization": f"Bearer {token}", "client_id": creds["client_id"]},
                              timeout=10)
    response.raise_for_status()


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine WHERE flow = %s", (DAG,)).fetchall())


def test_hours_become_workday_records_and_a_changed_day_replaces_never_doubles(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG, RANGE)
    assert run.state == "success", task_states(run)
    assert workdays(netvisor) == EXPECTED
    reasons = quarantine(ledger)
    assert set(reasons) == {"0103 2026-03-02", "104 2026-03-02"}
    assert "employee code 0103 starts with 0" in reasons["0103 2026-03-02"]
    assert reasons["104 2026-03-02"] == "INVALID_DATA :: Data form incorrect:. Employee not found with identifier: 104"
    posts = [w for w in netvisor.writes() if w["path"] == "/workday.nv"]
    assert len(posts) == 4  # 3 moved person-days + the one Netvisor refused

    since = netvisor.last_seq()
    assert run_dag(DAG, RANGE).state == "success"
    assert len(netvisor.writes(since)) == 1  # only the refused day is tried again
    assert workdays(netvisor) == EXPECTED

    patch_hours(severa, HOURS[0]["guid"], quantity=6.0)
    since = netvisor.last_seq()
    assert run_dag(DAG, RANGE).state == "success"
    changed = dict(EXPECTED)
    changed[("101", "2026-03-02", "1")] = [("6.0", "accepted", "", ["2001 ERP rollout"])]
    assert workdays(netvisor) == changed  # replaced, not added
    assert len(netvisor.writes(since)) == 2

    since = netvisor.last_seq()
    assert run_dag(DAG, {**RANGE, "resend": "101 2026-03-02"}).state == "success"
    assert len(netvisor.writes(since)) == 1 and workdays(netvisor) == changed  # re-sent day: same hours


def test_an_unapproved_entry_moves_as_confirmed_then_accepted_once_approved(flow):
    ledger, severa, netvisor = flow
    patch_hours(severa, HOURS[0]["guid"], isApproved=False)
    assert run_dag(DAG, {**RANGE, "document_numbers": ["101"]}).state == "success"
    assert workdays(netvisor)[("101", "2026-03-02", "1")][0][1] == "confirmed"
    assert {key[0] for key in workdays(netvisor)} == {"101"}
    patch_hours(severa, HOURS[0]["guid"], isApproved=True)
    assert run_dag(DAG, {**RANGE, "document_numbers": ["101"]}).state == "success"
    assert workdays(netvisor)[("101", "2026-03-02", "1")] == EXPECTED[("101", "2026-03-02", "1")]


def test_dry_run_reads_only(flow):
    ledger, severa, netvisor = flow
    run = run_dag(DAG, {**RANGE, "dry_run": True})
    assert run.state == "success", task_states(run)
    assert netvisor.requests() == [] and severa.writes() == []
    assert ledger.execute("SELECT count(*) FROM document_transfer").fetchone()[0] == 0
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
