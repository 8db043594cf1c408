"""R-A.8 end to end: dag.test() of severa_netvisor_hours against the Severa and Netvisor simulators over
HTTP, real PostgreSQL ledger; and the pure rules of absences (days, hours) and their settings."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
import requests

from erpbridge.flows.severa_netvisor.document_mapping import absence_days
from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
from erpbridge.settings import SettingsError, parse
from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from tests.conftest import SECRETS, unthrottled
from tests.contract.severa_openapi import scope_connection
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
    unthrottled(severa, monkeypatch)
    scope_connection(monkeypatch, DAG)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps(
        {"hours": {"use_approval": True, "record_types": {"TRAVEL": "5"}, "absence_record_types": ABSENCE_TYPES}}))
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
    patch_severa(severa, "workhours", guid, **changes)


def severa_api(severa, method: str, path: str, **kwargs) -> requests.Response:
    """Call Severa as a user would (its own API, not our hook)."""
    creds = SECRETS["severa"]
    token = requests.post(f"{severa.base}/rest-api/v1/token", json=creds, headers={"Client_Id": creds["client_id"]},
                          timeout=10).json()["access_token"]
    response = requests.request(method, f"{severa.base}/rest-api/v1/{path}", timeout=10, **kwargs,
                                headers={"Authorization": f"Bearer {token}", "Client_Id": creds["client_id"]})
    response.raise_for_status()
    return response


def patch_severa(severa, resource: str, guid: str, **changes) -> None:
    severa_api(severa, "PATCH", f"{resource}/{guid}",
               json=[{"op": "Replace", "path": f"/{k}", "value": v} for k, v in changes.items()])


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


def test_a_day_whose_entries_were_all_deleted_in_severa_is_sent_again_and_follows(flow):
    ledger, severa, netvisor = flow
    assert run_dag(DAG, RANGE).state == "success"
    assert workdays(netvisor)[("102", "2026-03-02", "1")] == [("8", "confirmed", "", [])]

    severa_api(severa, "DELETE", f"workhours/{HOURS[5]['guid']}")  # 102's only entry that day
    severa_api(severa, "DELETE", f"workhours/{HOURS[3]['guid']}")  # one of 101's three on 2026-03-03
    since = netvisor.last_seq()
    assert run_dag(DAG, RANGE).state == "success"
    assert workdays(netvisor) == EXPECTED | {("102", "2026-03-02", "1"): [("0", "confirmed", "deleted in Severa", [])],
                                             ("101", "2026-03-03", "1"): [("0.2", "confirmed", "", [])]}
    assert len(netvisor.writes(since)) == 3  # the two changed days, and the day Netvisor refused before

    since = netvisor.last_seq()
    assert run_dag(DAG, RANGE).state == "success"
    assert len(netvisor.writes(since)) == 1  # a deletion moves once


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
    seed_absences(severa)
    run = run_dag(DAG, {**RANGE, "dry_run": True})
    assert run.state == "success", task_states(run)
    assert netvisor.requests() == [] and severa.writes() == []
    assert ledger.execute("SELECT count(*) FROM document_transfer").fetchone()[0] == 0
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


# --- absences ----------------------------------------------------------------------------------------------

ABSENCE_TYPES = {"VAC": "20", "SICK": "21"}  # absence type code -> Netvisor record type
VACATION, SICK, TRAINING, MEETING = (f"a5100000-0000-4000-8000-00000000000{n}" for n in "1234")


def absence(n: int, user: str, start: str, end: str, kind: str, **extra) -> dict:
    return {"guid": f"a5200000-0000-4000-8000-{n:012d}", "name": "Away", "ownerUser": {"guid": USERS[user]},
            "activityType": {"guid": kind}, "startDateTime": start, "endDateTime": end} | extra


ABSENCES = [
    absence(1, "102", "2026-03-06T00:00:00", "2026-03-09T23:59:59", VACATION, isAllDay=True),  # Fri-Mon: 2 days
    absence(2, "102", "2026-03-03T12:00:00", "2026-03-03T16:00:00", SICK),  # half a day, besides 3.5 h of work
    absence(3, "101", "2026-03-04T00:00:00", "2026-03-04T23:59:59", TRAINING, isAllDay=True),  # type not mapped
    absence(4, "102", "2026-03-30T00:00:00", "2026-04-03T00:00:00", VACATION, isAllDay=True),  # past the range
    absence(5, "102", "2026-03-05T09:00:00", "2026-03-05T10:00:00", MEETING),  # a calendar entry, no absence
]
WITH_ABSENCES = EXPECTED | {
    ("102", "2026-03-03", "1"): [("3.5", "confirmed", "", [])],
    ("102", "2026-03-03", "21"): [("4.00", "confirmed", "Sick leave", [])],
    **{("102", day, "20"): [("7.5", "confirmed", "Vacation", [])]
       for day in ("2026-03-06", "2026-03-09", "2026-03-30", "2026-03-31")},
}
TRAINING_REFUSED = ("absence of 101 (Person 101) on 2026-03-04: absence type 'Training' (code TRN) has no Netvisor "
                    "record type; add its code to hours.absence_record_types")


def seed_absences(severa) -> None:
    severa.seed(activitytypes=[{"guid": VACATION, "name": "Vacation", "code": "VAC", "category": "Absences"},
                               {"guid": SICK, "name": "Sick leave", "code": "SICK", "category": "Absences"},
                               {"guid": TRAINING, "name": "Training", "code": "TRN", "category": "Absences"},
                               {"guid": MEETING, "name": "Meeting", "code": "MTG", "category": "CalendarEntry"}],
                activities=copy.deepcopy(ABSENCES), workhours=[entry(10, "102", "2026-03-03", 3.5)])


def test_absences_join_the_person_days_hours_with_their_record_types_and_replace_when_changed(flow):
    ledger, severa, netvisor = flow
    seed_absences(severa)
    people = {**RANGE, "document_numbers": ["101", "102"]}
    run = run_dag(DAG, people)
    assert run.state == "success", task_states(run)
    assert workdays(netvisor) == WITH_ABSENCES  # weekends, the calendar entry and April stay out
    assert quarantine(ledger) == {"101 2026-03-04": TRAINING_REFUSED}

    since = netvisor.last_seq()
    assert run_dag(DAG, people).state == "success"
    assert netvisor.writes(since) == []  # nothing changed: nothing written (the refused day is refused again)

    patch_severa(severa, "activities", ABSENCES[1]["guid"], endDateTime="2026-03-03T14:30:00")
    since = netvisor.last_seq()
    assert run_dag(DAG, people).state == "success"
    assert len(netvisor.writes(since)) == 1
    assert workdays(netvisor) == WITH_ABSENCES | {("102", "2026-03-03", "21"): [("2.50", "confirmed", "Sick leave",
                                                                                 [])]}  # replaced, not added

    since = netvisor.last_seq()
    assert run_dag(DAG, {**RANGE, "resend": "102 2026-03-06"}).state == "success"
    assert len(netvisor.writes(since)) == 1 and workdays(netvisor)[("102", "2026-03-06", "20")] == [
        ("7.5", "confirmed", "Vacation", [])]


def test_a_refused_absence_day_moves_once_its_type_is_mapped(flow, monkeypatch):
    ledger, severa, netvisor = flow
    seed_absences(severa)
    assert run_dag(DAG, {**RANGE, "document_numbers": ["101"]}).state == "success"
    assert ("101", "2026-03-04", "22") not in workdays(netvisor) and "101 2026-03-04" in quarantine(ledger)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps(
        {"hours": {"use_approval": True, "absence_record_types": {**ABSENCE_TYPES, "TRN": "22"}}}))
    since = netvisor.last_seq()
    assert run_dag(DAG, {**RANGE, "document_numbers": ["101"]}).state == "success"
    assert [w["path"] for w in netvisor.writes(since)] == ["/workday.nv"]  # only that day: 101's others are done
    assert workdays(netvisor)[("101", "2026-03-04", "22")] == [("7.5", "confirmed", "Training", [])]
    assert quarantine(ledger) == {}
    assert {employee for employee, _, _ in workdays(netvisor)} == {"101"}  # 102's absences wait for their run


HOURS_SETTINGS = SeveraNetvisorSettings()


def days(start: str, end: str, all_day: bool = False, settings=HOURS_SETTINGS) -> dict[str, str]:
    found = absence_days({"startDateTime": start, "endDateTime": end, "isAllDay": all_day}, settings)
    return {day: str(hours) for day, hours in found.items()}


def test_an_absence_counts_on_the_weekdays_it_covers():
    assert days("2026-03-06T00:00:00", "2026-03-10T00:00:00", all_day=True) == {  # an end at midnight: day before
        "2026-03-06": "7.5", "2026-03-09": "7.5"}
    assert days("2026-03-07T00:00:00", "2026-03-08T23:59:59", all_day=True) == {}  # a weekend
    every_day = parse(SeveraNetvisorSettings, {"hours": {"absence_weekdays": [1, 2, 3, 4, 5, 6, 7],
                                                         "absence_day_hours": "8"}}, "test")
    assert days("2026-03-07T00:00:00", "2026-03-07T00:00:00", all_day=True, settings=every_day) == {
        "2026-03-07": "8"}  # an all-day absence may start and end at the same moment


def test_a_part_day_absence_counts_its_duration_and_one_over_days_whole_days():
    assert days("2026-03-02T08:00:00Z", "2026-03-02T11:20:00Z") == {"2026-03-02": "3.33"}  # to the cent
    assert days("2026-03-02T12:00:00", "2026-03-03T00:00:00") == {"2026-03-02": "12.00"}
    assert days("2026-03-02T13:00:00", "2026-03-03T12:00:00") == {"2026-03-02": "7.5", "2026-03-03": "7.5"}
    assert days("2026-03-02T13:00:00", "2026-03-02T13:00:00") == {}  # no time: no hours
    assert isinstance(absence_days({"startDateTime": "2026-03-02T08:00:00", "endDateTime": "2026-03-02T08:10:00"},
                                    HOURS_SETTINGS)["2026-03-02"], Decimal)


@pytest.mark.parametrize("hours, named", [
    ({"absence_record_types": {"VAC": "vacation"}}, r"hours\.absence_record_types\.VAC: String should match"),
    ({"absence_day_hours": 0}, r"hours\.absence_day_hours: Input should be greater than 0"),
    ({"absence_weekdays": [0]}, r"hours\.absence_weekdays\.0: Input should be greater than or equal to 1"),
    ({"absence_weekdays": []}, r"hours\.absence_weekdays: List should have at least 1 item"),
])
def test_bad_absence_settings_are_named(hours, named):
    with pytest.raises(SettingsError, match=named):
        parse(SeveraNetvisorSettings, {"hours": hours}, "erpbridge_severa_netvisor")
