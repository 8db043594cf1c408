"""horizon_payroll_time_import end to end: Severa + CSV staged, reviewed through the HITL step, loaded;
and what an attacker or a hurried operator could do to it (issue 14): inboxes outside the roots, symbolic
links, a mistyped inbox that would zero loaded hours, markdown in a CSV cell, unreadable files and values."""

from __future__ import annotations

import copy
import json
import os

import pytest
from markdown_it import MarkdownIt

from include.simulators import horizon as horizon_sim
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

    run, asked = run_dag_answering(DAG_ID, answer_with("Approve excluding flagged rows", "flagged rows wait"), conf)

    assert run.state == "success", task_states(run)
    body = asked[0]["body"].replace("\\", "")  # source text is markdown-escaped
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

    rerun, _ = run_dag_answering(DAG_ID, answer_with("Approve excluding flagged rows", "same again"), conf)

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


def answers(*given):
    """Answer each request in turn with the next (option, params) pair."""
    queue = list(given)
    return lambda asked: ([queue[0][0]], queue.pop(0)[1])


def test_approve_needs_no_reason_but_reject_without_one_is_refused_and_asked_again(payroll):
    ledger, horizon, inbox = payroll
    conf = {**PERIOD, "inbox": str(inbox), "use_severa": False}

    run, asked = run_dag_answering(DAG_ID, answers(("Reject", {}), ("Reject", {"reason": "wrong month"})), conf,
                                   retries=True)

    assert run.state == "success", task_states(run)
    assert len(asked) == 2, "the answer without a reason was refused and the review asked again"
    assert ledger.execute("SELECT status, reason FROM payroll_batch").fetchall() == [("rejected", "wrong month")]
    assert asked[0]["params"]["reason"]["schema"]["type"] == ["null", "string"], "the form submits without one"

    approved, _ = run_dag_answering(DAG_ID, answers(("Approve", {})), conf)
    assert approved.state == "success", task_states(approved)
    assert ("E1", "2026-10-01", "WORK") in horizon_totals(horizon)


def test_an_inbox_outside_the_configured_roots_is_refused(payroll, tmp_path, monkeypatch):
    ledger, horizon, inbox = payroll
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYROLL", json.dumps({"inbox_roots": [str(inbox)]}))
    other = tmp_path / "other"
    other.mkdir()
    (other / "salaries.csv").write_text("E1;2026-10-01;WORK;8;LV80BANK0000435195001\n", encoding="utf-8")

    for outside in (str(other), "../other", "/etc"):
        run, asked = run_dag_answering(DAG_ID, answer_with("Approve"), {**PERIOD, "inbox": outside,
                                                                         "use_severa": False})
        assert run.state == "failed" and not asked, outside
    assert ledger.execute("SELECT count(*) FROM payroll_row").fetchone()[0] == 0
    assert (other / "salaries.csv").exists() and horizon_totals(horizon) == {}


def test_symbolic_links_are_not_followed_and_only_the_files_read_are_archived(payroll, tmp_path):
    ledger, horizon, inbox = payroll
    os.symlink("/etc/passwd", inbox / "passwd.csv")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "iban.csv").write_text("E1;2026-10-09;WORK;8;LV80BANK0000435195001\n", encoding="utf-8")
    os.symlink(outside / "iban.csv", inbox / "iban.csv")

    (inbox / "changed.csv").write_text("E2;2026-10-21;WORK;8;read\n", encoding="utf-8")

    def approve_after_a_new_file_arrives(asked):
        (inbox / "late.csv").write_text("E1;2026-10-20;WORK;8;arrived during the review\n", encoding="utf-8")
        with open(inbox / "changed.csv", "a", encoding="utf-8") as changed:
            changed.write("E2;2026-10-22;WORK;8;added during the review\n")
        return ["Approve"], {}

    run, asked = run_dag_answering(DAG_ID, approve_after_a_new_file_arrives, {**PERIOD, "inbox": str(inbox),
                                                                              "use_severa": False})

    assert run.state == "success", task_states(run)
    body = asked[0]["body"]
    assert "root:" not in body and "LV80BANK" not in body
    assert "passwd.csv (a symbolic link: not read)" in body.replace("\\", "")
    refs = [r[0] for r in ledger.execute("SELECT source_ref FROM payroll_row")]
    assert refs and all(ref.startswith(("october.csv:", "changed.csv:")) for ref in refs)
    archive = inbox / "archive" / "2026-10-01_2026-10-31"
    assert sorted(p.name for p in archive.iterdir()) == ["october.csv"]
    assert (inbox / "late.csv").exists(), "a file the batch did not read stays in the inbox"
    assert (inbox / "changed.csv").exists(), "a file changed after the batch read it stays in the inbox"
    assert (inbox / "passwd.csv").is_symlink() and (outside / "iban.csv").exists()


def test_a_rerun_that_would_zero_loaded_hours_asks_and_is_refused_unless_confirmed(payroll):
    ledger, horizon, inbox = payroll
    conf = {**PERIOD, "inbox": str(inbox), "use_severa": False}
    first, _ = run_dag_answering(DAG_ID, answer_with("Approve"), conf)
    assert first.state == "success", task_states(first)
    loaded = horizon_totals(horizon)
    assert loaded[("E1", "2026-10-01", "WORK")] == 8.0

    mistyped, asked = run_dag_answering(DAG_ID, answer_with("Approve"), {**conf, "inbox": str(inbox / "octobr")})
    assert mistyped.state == "failed" and not asked, "a mistyped inbox stages nothing"

    empty = inbox / "empty"
    empty.mkdir()
    refused, asked = run_dag_answering(DAG_ID, answer_with("Approve"), {**conf, "inbox": str(empty)})
    assert refused.state == "failed", task_states(refused)
    body = asked[0]["body"].replace("\\", "")
    assert f"Removed from Horizon: {len(loaded)} entries" in body and "| E1 | 2026-10-01 | WORK |" in body
    assert asked[0]["subject"].endswith(f"{len(loaded)} to remove")
    assert horizon_totals(horizon) == loaded, "nothing removed without confirmation"
    status, reason = ledger.execute("SELECT status, reason FROM payroll_batch ORDER BY id DESC").fetchone()
    assert status == "rejected" and "removal was not confirmed" in reason and "E1 2026-10-01 WORK" in reason

    confirmed, _ = run_dag_answering(DAG_ID, answers(("Approve", {"confirm_removal": True})),
                                     {**conf, "inbox": str(empty)})
    assert confirmed.state == "success", task_states(confirmed)
    assert horizon_totals(horizon) == {}


BAD_CSV = (
    "[Approve here](https://evil.example/a);2026-10-01;WORK;8;![x](https://evil.example/i.png)\n"
    "<img src=x onerror=alert(1)>;2026-10-02;WORK;8;www.evil.example\n"
    "E1;2026-10-03;WORK;7.555;three decimals\n"
    "E1;2026-10-04;WORK;NaN;not a number\n"
    "E1;2026-10-05;WORK;1e9999;too big\n"
    "E1;2026-10-06;WORK;Infinity;infinite\n"
    "E1\x00;2026-10-07;WORK;8;NUL in the code\n"
    f"{'E' * 1_000_000};2026-10-08;WORK;8;a 1 MB code\n"
    "E2;2026-10-09;WORK;6;fine\n"
)


def test_bad_csv_values_are_flagged_escaped_and_the_rest_goes_on(payroll):
    ledger, horizon, inbox = payroll
    (inbox / "october.csv").unlink()
    (inbox / "bad.csv").write_text(BAD_CSV, encoding="utf-8")
    (inbox / "latin1.csv").write_bytes("E1;2026-10-10;WORK;8;Jānis".encode("utf-16"))

    run, asked = run_dag_answering(DAG_ID, answer_with("Approve"), {**PERIOD, "inbox": str(inbox),
                                                                     "use_severa": False})

    assert run.state == "success", task_states(run)
    html = MarkdownIt("gfm-like").render(asked[0]["body"])
    assert "<a " not in html and "<img" not in html and "evil.example" in html, "shown, never rendered"
    assert len(asked[0]["body"]) < 20_000
    flags = dict(ledger.execute("SELECT source_ref, array_to_string(flags, '; ') FROM payroll_row"))
    assert "more than two decimals" in flags["bad.csv:3"]
    for ref in ("bad.csv:4", "bad.csv:5", "bad.csv:6"):
        assert "unreadable hours" in flags[ref], ref
    assert "employee_code contains a NUL character" in flags["bad.csv:7"]
    assert "unreadable line: field larger than field limit" in flags["bad.csv:8"]
    assert flags["latin1.csv"].startswith("unreadable file latin1.csv")
    assert horizon_totals(horizon) == {("E2", "2026-10-09", "WORK"): 6.0}, "the rest of the batch goes on"


def test_the_demo_seed_gives_the_default_review_rows_and_a_flag_of_each_kind(airflow_db, ledger, horizon, severa,
                                                                             tmp_path):
    """make demo: the inbox file and Horizon's seed cover the period the review covers by default (last month)."""
    horizon.seed(**copy.deepcopy(horizon_sim.DEMO_SEED))
    name, text = horizon_sim.demo_work_time()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / name).write_text(text, encoding="utf-8")

    run, asked = run_dag_answering(DAG_ID, answers(("Approve", {})), {"inbox": str(inbox)})

    assert run.state == "success", task_states(run)
    body = asked[0]["body"].replace("\\", "")
    for flag in ("unknown employee code E9999", "work on a day of absence (ATV)", "date outside the period",
                 "negative hours", f"duplicate of {name}:2", "more than 24 h", "unreadable hours",
                 "employee code and time type are required"):
        assert flag in body, flag
    assert "| E1001 |" in body and "| E1002 |" in body
    assert {code for code, _, _ in horizon_totals(horizon)} == {"E1001", "E1002"}
