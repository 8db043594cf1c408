"""horizon_payroll_time_import end to end: Severa + CSV staged, reviewed through the HITL step, loaded."""

from __future__ import annotations

import pytest

from tests.flows.dagrun import task_states
from tests.flows.hitl import run_dag_answering

DAG_ID = "horizon_payroll_time_import"
PERIOD = {"period_start": "2026-10-01", "period_end": "2026-10-31"}
EMPLOYEES = [
    {"EmployeeCode": "E1", "FirstName": "Jānis", "LastName": "Bērziņš", "EmploymentStart": "2020-01-01"},
    {"EmployeeCode": "E2", "FirstName": "Łukasz", "LastName": "Żółć", "EmploymentStart": "2021-01-01"},
]
ABSENCES = [{"EmployeeCode": "E2", "DateFrom": "2026-10-12", "DateTo": "2026-10-13", "AbsenceType": "ATV"}]
CSV = (
    "employee_code;date;time_type;hours;comment\n"
    "E1;2026-10-01;WORK;8;regular\n"
    "E1;2026-10-02;WORK;7,5;komentārs ar garumzīmēm\n"
    "E1;2026-10-02;WORK;7,5;komentārs ar garumzīmēm\n"  # duplicate
    "E9;2026-10-03;WORK;8;who is this\n"  # unknown employee
    "E2;2026-10-12;WORK;4;during absence\n"  # absence
    "E2;2026-11-02;WORK;8;next month\n"  # outside the period
    "E2;2026-10-05;WORK;-2;correction\n"  # negative
)


@pytest.fixture
def payroll(airflow_db, ledger, horizon, severa, tmp_path, monkeypatch):
    horizon.seed(employees=EMPLOYEES, absences=ABSENCES)
    users = severa.seed(users=[{"firstName": "Jānis", "lastName": "Bērziņš", "code": "E1"},
                               {"firstName": "Łukasz", "lastName": "Żółć", "code": "E2"}])["users"]
    severa.seed(workhours=[
        {"user": {"guid": users[1]}, "eventDate": "2026-10-06", "quantity": 6.0, "description": "project A"},
        {"user": {"guid": users[1]}, "eventDate": "2026-10-06", "quantity": 2.0, "description": "project B"},
        {"user": {"guid": users[0]}, "eventDate": "2026-10-07", "quantity": 20.0, "description": "long day"},
        {"user": {"guid": users[0]}, "eventDate": "2026-10-07", "quantity": 6.0, "description": "and more"},
    ])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "october.csv").write_text(CSV, encoding="utf-8")
    return ledger, horizon, inbox


def answer_with(option: str, reason: str = ""):
    return lambda asked: ([option], {"reason": reason})


def horizon_totals(horizon) -> dict:
    return {(r["EmployeeCode"], r["Date"], r["TimeType"]): r["Hours"] for r in horizon.state()["time_import"]}


def test_approve_excluding_flagged_loads_exactly_the_clean_rows_and_a_rerun_keeps_totals(payroll):
    ledger, horizon, inbox = payroll
    conf = {**PERIOD, "inbox": str(inbox)}

    run, asked = run_dag_answering(DAG_ID, answer_with("Approve excluding flagged rows"), conf)

    assert run.state == "success", task_states(run)
    body = asked[0]["body"]
    assert asked[0]["options"] == ["Approve", "Approve excluding flagged rows", "Reject"]
    for problem in ("unknown employee code E9", "work on a day of absence (ATV)", "date outside the period",
                    "negative hours", "duplicate of october.csv:3", "more than 24 h on 2026-10-07 (26 h in all)"):
        assert problem in body, problem
    assert "| E1 |" in body and "| E2 |" in body
    expected = {("E1", "2026-10-01", "WORK"): 8.0, ("E1", "2026-10-02", "WORK"): 7.5,
                ("E2", "2026-10-06", "WORK"): 8.0}
    assert horizon_totals(horizon) == expected
    status = ledger.execute("SELECT status, decision FROM payroll_batch").fetchall()
    assert status == [("loaded", "Approve excluding flagged rows")]
    assert not list(inbox.glob("*.csv")), "loaded files are archived"

    rerun, _ = run_dag_answering(DAG_ID, answer_with("Approve excluding flagged rows"), conf)

    assert rerun.state == "success", task_states(rerun)
    assert horizon_totals(horizon) == expected, "a re-sent period replaces, never doubles"
    assert ledger.execute("SELECT count(*) FROM payroll_batch WHERE status = 'loaded'").fetchone()[0] == 2
    actions = ledger.execute("SELECT action, count(*) FROM transfer_log GROUP BY action ORDER BY action").fetchall()
    assert actions == [("created", 3), ("updated", 3)]


def test_reject_loads_nothing_then_a_corrected_batch_is_approved(payroll):
    ledger, horizon, inbox = payroll

    run, asked = run_dag_answering(DAG_ID, answer_with("Reject", "E9 is not ours; fix the CSV"),
                                   {**PERIOD, "inbox": str(inbox)})

    assert run.state == "success", task_states(run)
    assert horizon_totals(horizon) == {}
    assert ledger.execute("SELECT status, reason FROM payroll_batch").fetchall() == [
        ("rejected", "E9 is not ours; fix the CSV")]
    assert ledger.execute("SELECT count(*) FROM payroll_row").fetchone()[0] == 11
    assert (inbox / "october.csv").exists(), "a rejected batch's files stay for correction"

    # corrected and staged again: E9's line removed; a plain approval accepts the warnings (absence day,
    # the 26 h day) but still never loads what cannot be paid (outside the period, negative hours)
    (inbox / "october.csv").write_text(CSV.replace("E9;2026-10-03;WORK;8;who is this\n", ""), encoding="utf-8")
    again, asked = run_dag_answering(DAG_ID, answer_with("Approve"), {**PERIOD, "inbox": str(inbox)})

    assert again.state == "success", task_states(again)
    assert "E9" not in asked[0]["body"]
    assert horizon_totals(horizon) == {
        ("E1", "2026-10-01", "WORK"): 8.0, ("E1", "2026-10-02", "WORK"): 7.5, ("E2", "2026-10-06", "WORK"): 8.0,
        ("E2", "2026-10-12", "WORK"): 4.0}
    assert ledger.execute("SELECT status, reason FROM payroll_batch ORDER BY id").fetchall() == [
        ("rejected", "E9 is not ours; fix the CSV"), ("loaded_with_errors", None)]
    refused = ledger.execute("SELECT DISTINCT error_text FROM payroll_row WHERE status = 'refused'").fetchall()
    assert len(refused) == 1 and "between 0 and 24" in refused[0][0], "Horizon's own words for the 26 h day"
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'rejected'").fetchone()[0] == 1
