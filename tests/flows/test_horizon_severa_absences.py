"""horizon_severa_absences end to end: Horizon absences -> Severa activities of category Absences, every Severa
exchange held to Severa's OpenAPI (the severa fixture); a vacation, a change of its dates and a cancellation
each reflected exactly once; unmapped types wait; activities left by a crash are never doubled."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.conftest import unthrottled
from tests.contract.severa_openapi import scope_connection
from tests.flows.dagrun import ledger_contents, returned, run_dag, task_states

DAG_ID = "horizon_severa_absences"
TODAY = date.today()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@pytest.fixture
def absences(airflow_db, ledger, horizon, severa, monkeypatch):
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG_ID)  # exactly the scopes the README lists for it
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_SEVERA_ABSENCES",
                       json.dumps({"absence_types": {"ATV": "VAC", "SLIM": "Sick leave"}}))
    users = severa.seed(users=[{"firstName": "Jānis", "lastName": "Bērziņš", "code": "E1"},
                               {"firstName": "Līga", "lastName": "Ozoliņa", "code": "E2"}])["users"]
    types = severa.seed(activitytypes=[
        {"name": "Vacation", "code": "VAC", "category": "Absences", "isPaidLeave": True},
        {"name": "Sick leave", "code": "SICK", "category": "Absences", "isPaidLeave": True}])["activitytypes"]
    return ledger, horizon, severa, users, types


def severa_absences(severa) -> list[tuple]:
    users = {u["guid"]: u["code"] for u in severa.state()["users"]}
    return sorted((users[a["ownerUser"]["guid"]], a["activityType"]["name"], a["startDateTime"][:19],
                   a["endDateTime"][:19], a["isAllDay"], a["name"]) for a in severa.state()["activities"])


def actions(ledger) -> list[tuple]:
    return ledger.execute("SELECT action, count(*) FROM transfer_log WHERE entity = 'absence' GROUP BY action"
                          " ORDER BY action").fetchall()


def synced(expected_state: str = "success"):
    run = run_dag(DAG_ID)
    assert run.state == expected_state, task_states(run)


def test_a_vacation_its_new_dates_and_its_cancellation_each_reach_severa_exactly_once(absences):
    ledger, horizon, severa, _, _ = absences
    (pk,) = horizon.seed(absences=[{"EmployeeCode": "E1", "DateFrom": day(10), "DateTo": day(14),
                                    "AbsenceType": "ATV"}])["absences"]

    synced()
    synced()

    assert severa_absences(severa) == [("E1", "Vacation", f"{day(10)}T00:00:00", f"{day(15)}T00:00:00", True,
                                        f"Vacation [Horizon absence {pk}]")]
    guid = severa.state()["activities"][0]["guid"]
    assert actions(ledger) == [("created", 1), ("unchanged", 1)]

    horizon.seed(absences=[{"pk": pk, "EmployeeCode": "E1", "DateFrom": day(12), "DateTo": day(16),
                            "AbsenceType": "ATV"}])
    synced()

    assert [a["guid"] for a in severa.state()["activities"]] == [guid], "moved, not doubled"
    assert severa_absences(severa)[0][2:4] == (f"{day(12)}T00:00:00", f"{day(17)}T00:00:00")
    assert actions(ledger) == [("created", 1), ("unchanged", 1), ("updated", 1)]

    horizon.seed(delete={"absences": [pk]})
    synced()
    synced()

    assert severa.state()["activities"] == []
    assert actions(ledger) == [("created", 1), ("gone", 1), ("unchanged", 1), ("updated", 1)]


def test_an_unmapped_type_or_unknown_person_waits_and_a_crash_left_activity_is_adopted_not_doubled(absences):
    ledger, horizon, severa, users, types = absences
    sick, unmapped, stranger = horizon.seed(absences=[
        {"EmployeeCode": "E2", "DateFrom": day(-3), "DateTo": day(-1), "AbsenceType": "SLIM"},
        {"EmployeeCode": "E1", "DateFrom": day(30), "DateTo": day(30), "AbsenceType": "MACIBAS"},
        {"EmployeeCode": "E9", "DateFrom": day(5), "DateTo": day(5), "AbsenceType": "ATV"}])["absences"]
    # as if an earlier run was killed after Severa created the activity (twice) and before the ledger knew
    left = {"ownerUser": {"guid": users[1]}, "activityType": {"guid": types[1]}, "startDateTime": f"{day(-3)}T00:00:00",
            "endDateTime": f"{day(0)}T00:00:00", "isAllDay": True, "name": f"Sick leave [Horizon absence {sick}]"}
    severa.seed(activities=[left, left])

    synced()

    assert severa_absences(severa) == [("E2", "Sick leave", f"{day(-3)}T00:00:00", f"{day(0)}T00:00:00", True,
                                        f"Sick leave [Horizon absence {sick}]")]
    waiting = dict(ledger.execute("SELECT source_id, reason FROM quarantine WHERE entity = 'absence'").fetchall())
    assert waiting == {
        str(unmapped): "absence type 'MACIBAS' is not mapped (absence_types in the Variable"
                       " erpbridge_horizon_severa_absences)",
        str(stranger): "Severa has no user with code 'E9'"}

    horizon.seed(delete={"absences": [unmapped]})
    synced()

    assert len(severa.state()["activities"]) == 1
    assert [r[0] for r in ledger.execute("SELECT source_id FROM quarantine").fetchall()] == [str(stranger)]


def test_a_dry_run_counts_what_would_be_created_patched_removed_or_wait_and_writes_nothing(absences):
    ledger, horizon, severa, _, _ = absences
    moved, cancelled, _ = horizon.seed(absences=[
        {"EmployeeCode": "E1", "DateFrom": day(10), "DateTo": day(14), "AbsenceType": "ATV"},
        {"EmployeeCode": "E2", "DateFrom": day(20), "DateTo": day(20), "AbsenceType": "SLIM"},
        {"EmployeeCode": "E1", "DateFrom": day(40), "DateTo": day(41), "AbsenceType": "ATV"}])["absences"]
    synced()
    horizon.seed(absences=[{"pk": moved, "EmployeeCode": "E1", "DateFrom": day(12), "DateTo": day(16),
                            "AbsenceType": "ATV"},
                           {"EmployeeCode": "E2", "DateFrom": day(50), "DateTo": day(50), "AbsenceType": "SLIM"},
                           {"EmployeeCode": "E1", "DateFrom": day(60), "DateTo": day(60), "AbsenceType": "MACIBAS"}])
    horizon.seed(delete={"absences": [cancelled]})
    activities, ledger_before, since = severa.state()["activities"], ledger_contents(ledger), severa.last_seq()

    run = run_dag(DAG_ID, {"dry_run": True})

    assert run.state == "success", task_states(run)
    assert returned(run, "sync_absences") == {"dry_run": True, "created": 1, "updated": 1, "unchanged": 1,
                                              "removed": 1, "waiting": 1}
    assert severa.writes(since) == [] and severa.state()["activities"] == activities, "nothing posted to Severa"
    assert ledger_contents(ledger) == ledger_before, "nothing in the ledger"
