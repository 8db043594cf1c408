"""Fault soak for the flows test_fault_soak_flows.py leaves out (issue 7): Severa -> Netvisor hours and travel
invoices, Netvisor -> Severa purchase invoices, Horizon payroll time import (its review answered as a person
would) and Horizon -> Active Directory accounts (a real Samba AD; faults on the Horizon side only).

Each test first runs the flow fault-free on its data: that target state is the reference. Then everything
starts over (simulators reset and seeded again, the ledger emptied), ~20% of the simulators' answers turn
faulty (5xx, 429 with and without Retry-After, timeouts, connection resets, half bodies; Netvisor
TECHNICAL_ERROR and a SYSTEM_MAINTANANCE window), and runs repeat until one succeeds. The target must then
equal the reference exactly (no duplicate, nothing missing, same amounts and fields), and every failed
attempt must be in the transfer log, logged by a task try that failed, for a record that later arrived (or
was refused, as in the fault-free run). The AD accounts flow only reads Horizon, so its faults fail runs
before any record is written: there the check is that the faults hit and that a fault-free run afterwards
changes nothing in AD. Small by default; `SOAK_RECORDS` scales every size (make soak)."""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import sqlite3
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from include.simulators.severa import minimal_pdf
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states
from tests.reliability.test_fault_soak_flows import (FAULTS, MAX_RUNS, SCALE, fast_netvisor, fast_retry,
                                                     fast_severa, no_duplicates, until_success)

# Sizes follow test_fault_soak_flows.py: documents scale with SOAK_RECORDS / 60, each carrying many records
HOUR_ENTRIES = max(120, SCALE)               # Severa hour entries ...
PERSON_DAYS = max(6, SCALE // 60)            # ... in this many workdays (one document each)
TRAVELS = max(6, SCALE // 60)                # travel invoices, 5 expense lines each
PURCHASES = max(6, SCALE // 60)              # purchase invoices, 3 lines (costs) each
NETVISOR_FAULTS = {**FAULTS, "retry_after": 0.1, "error_category": "TECHNICAL_ERROR",
                   "next_n": {"count": 4, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "maintenance"}}
SEVERA_FAULTS = {**FAULTS, "error_category": "InternalServerError"}  # its 429s carry no Retry-After


def fresh(sim, name: str, **config) -> None:
    sim.reset()
    sim.configure(**SECRETS[name], **config)


def wipe_ledger(ledger) -> None:
    """Back to a ledger that has seen nothing (the schema stays)."""
    tables = [t for (t,) in ledger.execute("SELECT table_name FROM information_schema.tables WHERE table_schema ="
                                           " 'public' AND table_name <> 'schema_migration'")]
    ledger.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())


def reference_then_soak(ledger, dag_id: str, conf: dict | None, setup, target, faults: list, *, max_runs: int,
                        run=run_dag):
    """``setup()`` gives the simulators the flow's data; ``target()`` reads the target state. One fault-free
    run gives the reference (target state, quarantine); then all starts over under ``faults`` ((sim, faults)
    pairs) and runs repeat until one succeeds. Returns (reference, reference quarantine, run states)."""
    setup()
    first = run(dag_id, conf)
    assert first.state == "success", f"the fault-free reference run failed: {task_states(first)}"
    reference, refused = target(), quarantine(ledger)
    wipe_ledger(ledger)
    setup()
    for sim, settings in faults:
        sim.faults(**copy.deepcopy(settings))
    try:
        states = until_success(dag_id, conf, max_runs, run)
    finally:
        for sim, _ in faults:
            sim.admin("DELETE", "faults")
    return reference, refused, states


def failed_attempts(ledger, dag_id: str) -> tuple[int, set[str]]:
    """Failed attempts in the transfer log: there must be some, each logged by a task try that failed."""
    rows = ledger.execute("SELECT source_id, run_id, task_id, try_number FROM transfer_log WHERE action = 'failed'"
                          " AND dag_id = %s", (dag_id,)).fetchall()
    assert rows, "failed attempts left no trace in the transfer log"
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    failed_tries = set(metadata.execute(  # earlier tries are kept in the history, the last one in task_instance
        "SELECT run_id, task_id, try_number FROM task_instance_history WHERE dag_id = ? AND state IN ('failed',"
        " 'up_for_retry') UNION SELECT run_id, task_id, try_number FROM task_instance WHERE dag_id = ?"
        " AND state = 'failed'", (dag_id, dag_id)))
    metadata.close()
    logged_by = {tuple(row[1:]) for row in rows}
    assert logged_by <= failed_tries, f"failures logged by task tries that did not fail: {logged_by - failed_tries}"
    return len(rows), {row[0] for row in rows}


def documents_done(ledger, dag_id: str, failed: set[str], refused: dict) -> None:
    """The ledger agrees: every document 'done' but the refused ones (the same as in the fault-free run), and
    each one that failed has since moved or been refused."""
    stages = dict(ledger.execute("SELECT source_id, stage FROM document_transfer WHERE flow = %s",
                                 (dag_id,)).fetchall())
    assert {sid for sid, stage in stages.items() if stage != "done"} == set(), "a transfer left unfinished"
    assert quarantine(ledger) == refused, "refusals differ from the fault-free run"
    waiting = {sid for (sid,) in ledger.execute("SELECT source_id FROM quarantine WHERE flow = %s", (dag_id,))}
    assert failed <= set(stages) | waiting, "a document that failed was neither moved nor refused afterwards"


def report(name: str, count, states: list[str], failed: int) -> None:
    print(f"soak {name}: {count}, runs to converge {len(states)} {states}, failed attempts logged {failed}")


@pytest.fixture
def severa_netvisor(airflow_db, ledger, severa, netvisor, monkeypatch):
    fast_severa(monkeypatch, severa)
    fast_netvisor(monkeypatch, netvisor)
    return ledger, severa, netvisor


# --- Severa -> Netvisor hours ----------------------------------------------------------------------

HOURS_DAG = "severa_netvisor_hours"
HOURS_RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
PROJECT = {"guid": "e1000000-0000-4000-8000-000000000001"}  # 2001 ERP rollout (Severa demo data)
OVERTIME = "o2000000-0000-4000-8000-000000000001"


def hours_seed() -> tuple[dict, dict]:
    """Severa and Netvisor data: HOUR_ENTRIES entries over PERSON_DAYS person-days, and one more person-day
    of an employee Netvisor does not know (refused every time)."""
    people = [f"2{n:02d}" for n in range(max(3, PERSON_DAYS // 10))]
    users = {code: f"u4000000-0000-4000-8000-{n:012d}" for n, code in enumerate(people + ["299"], 1)}
    days = [(people[n % len(people)], f"2026-03-{1 + n // len(people):02d}") for n in range(PERSON_DAYS)]
    entries = []
    for n in range(HOUR_ENTRIES):
        person, day = days[n % PERSON_DAYS]
        entry = {"guid": f"h4000000-0000-4000-8000-{n:012d}", "user": {"guid": users[person]}, "eventDate": day,
                 "quantity": float(Decimal("0.05") * (1 + n % 4)), "description": f"Soak entry {n} <&>"}
        if n % 3 == 0:
            entry["project"] = PROJECT
        if n % 7 == 0:
            entry["overtime"] = {"guid": OVERTIME}
        entries.append(entry)
    entries.append({"guid": "h4000000-0000-4000-8000-999999999999", "user": {"guid": users["299"]},
                    "eventDate": "2026-03-02", "quantity": 8.0})
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": g, "firstName": "Soak", "lastName": c, "code": c} for c, g in users.items()]
    seed["overtimes"] = [{"guid": OVERTIME, "name": "Overtime 50 %", "code": "2", "percentage": 50}]
    seed["workhours"] = entries
    return seed, {"employees": [{"number": c, "name": f"Soak {c}"} for c in people]}


def test_hours_under_faults_equal_the_fault_free_workdays(severa_netvisor):
    ledger, severa, netvisor = severa_netvisor
    severa_data, netvisor_data = hours_seed()

    def setup():
        fresh(severa, "severa", rate_limit_per_second=1000)
        fresh(netvisor, "netvisor")
        severa.seed(**copy.deepcopy(severa_data))
        netvisor.seed(**netvisor_data)

    def workdays():
        return netvisor.state()["workdays"]

    reference, refused, states = reference_then_soak(
        ledger, HOURS_DAG, HOURS_RANGE, setup, workdays,
        [(netvisor, {**NETVISOR_FAULTS, "seed": 51}), (severa, {**SEVERA_FAULTS, "seed": 52})],
        max_runs=MAX_RUNS + 2 * PERSON_DAYS)

    held = workdays()
    assert held == reference, "the workdays differ from the fault-free run"
    lines = Counter(line["description"] for day in held for line in day["hours"])
    assert [d for d, n in lines.items() if n > 1] == [], "an hour entry arrived twice"
    assert len(lines) == HOUR_ENTRIES, "an hour entry is missing"
    assert sum(Decimal(line["hours"]) for day in held for line in day["hours"]) == sum(
        Decimal("0.05") * (1 + n % 4) for n in range(HOUR_ENTRIES))
    assert set(refused) == {"299 2026-03-02"}
    failed, failed_ids = failed_attempts(ledger, HOURS_DAG)
    documents_done(ledger, HOURS_DAG, failed_ids, refused)
    report("hours", f"{HOUR_ENTRIES} entries in {PERSON_DAYS} workdays", states, failed)


# --- Severa -> Netvisor travel invoices ------------------------------------------------------------

TRAVEL_DAG = "severa_netvisor_travel_invoices"
TRAVEL_STATUSES = {name: f"a2400000-0000-4000-8000-00000000000{n}" for n, name in
                   enumerate(["Draft", "Approved", "Rejected", "Transferred to Netvisor"], 1)}
TRAVELLER = "a3400000-0000-4000-8000-000000000001"
EXPENSE_TYPES = {code: f"a8400000-0000-4000-8000-00000000{code}" for code in ("1300", "1310", "1502", "1999", "9999")}
REFUSED_TRAVEL = 9999


def travel_seed() -> dict:
    """TRAVELS approved travel reimbursements of employee 101 with five lines each (two per-diems, mileage on a
    project, a meal, one cost not reimbursed), and number 9999 whose wage type Netvisor does not know."""
    def expense(travel: str, code: str, quantity, unit: float, reimbursed: bool = True, **extra) -> dict:
        return {"travelReimbursement": {"guid": travel}, "user": {"guid": TRAVELLER},
                "travelExpense": {"guid": EXPENSE_TYPES[code]}, "quantity": quantity,
                "unitCost": {"amount": unit, "currencyCode": "EUR"}, "travelReimbursementRequired": reimbursed,
                "eventDate": "2026-03-04"} | extra

    travels, expenses = [], []  # every record with a fixed guid: the same order in both phases
    for n in range(TRAVELS + 1):
        guid = f"a7400000-0000-4000-8000-{n:012d}"
        number = n + 1 if n < TRAVELS else REFUSED_TRAVEL
        travels.append({"guid": guid, "number": number, "user": {"guid": TRAVELLER}, "date": "2026-03-05T00:00:00",
                        "travelReimbursementStatus": {"guid": TRAVEL_STATUSES["Approved"]}})
        if n == TRAVELS:
            expenses.append(expense(guid, "9999", 1, 10.0))
            continue
        expenses += [expense(guid, "1502", 1, 58.0, description=f"Per diem {n} Sweden"),
                     expense(guid, "1502", 1, 58.0, description=f"Per diem {n} Norway"),
                     expense(guid, "1300", 100 + n, 0.59, project=PROJECT, description=f"Mileage {n} <&>"),
                     expense(guid, "1310", 1, 12.4 + n, description=f"Meal {n}"),
                     expense(guid, "1999", 1, 30.0, reimbursed=False)]
    for n, item in enumerate(expenses):
        item["guid"] = f"a7500000-0000-4000-8000-{n:012d}"
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": TRAVELLER, "firstName": "Soak", "lastName": "Traveller", "code": "101",
                      "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000001"}}]
    seed["travelreimbursementstatuses"] = [{"guid": g, "name": name} for name, g in TRAVEL_STATUSES.items()]
    seed["travelexpensetypes"] = [{"guid": g, "name": f"type {code}", "code": code} for code, g in EXPENSE_TYPES.items()]
    seed["travelreimbursements"] = travels
    seed["projecttravelexpenses"] = expenses
    return seed


def test_travel_invoices_under_faults_equal_the_fault_free_travel_expenses(severa_netvisor):
    ledger, severa, netvisor = severa_netvisor
    severa_data = travel_seed()

    def setup():
        fresh(severa, "severa", rate_limit_per_second=1000)
        fresh(netvisor, "netvisor")
        severa.seed(**copy.deepcopy(severa_data))
        netvisor.seed(employees=[{"number": "101", "name": "Soak Traveller"}], wage_types=["1502", "1300", "1310"])

    def held():
        expenses = sorted(({**{k: v for k, v in t.items() if k not in ("key", "netvisor_key")},
                            "number": t["header"].rsplit(" ", 1)[-1],  # "Severa travel invoice T-1"
                            "attachments": [a for line in t["lines"] for a in line["attachments"]]}
                           for t in netvisor.state()["trip_expenses"]), key=lambda t: t["number"])
        statuses = {t["number"]: t["travelReimbursementStatus"]["name"] for t in severa.state()["travelreimbursements"]}
        return expenses, statuses

    reference, refused, states = reference_then_soak(
        ledger, TRAVEL_DAG, None, setup, held,
        [(netvisor, {**NETVISOR_FAULTS, "seed": 61}), (severa, {**SEVERA_FAULTS, "seed": 62})],
        max_runs=MAX_RUNS + 2 * TRAVELS)

    expenses, statuses = held()
    differ = [(a, b) for a, b in zip(expenses, reference[0]) if a != b]
    assert not differ, f"{len(differ)} travel expense(s) differ from the fault-free run, the first: {differ[0]}"
    assert (expenses, statuses) == reference, "the travel expenses or Severa statuses differ from the fault-free run"
    numbers = no_duplicates(expenses, lambda t: t["number"])
    assert set(numbers) == {str(n + 1) for n in range(TRAVELS)}, "missing or extra travel expenses"
    assert all(len(t["lines"]) == 4 and len(t["attachments"]) == 1 for t in expenses)
    assert [a["sha256"] for t in expenses for a in t["attachments"]] == [
        hashlib.sha256(minimal_pdf(f"Travel invoice {t['number']}")).hexdigest() for t in expenses]
    assert statuses == {**{int(n): "Transferred to Netvisor" for n in numbers}, REFUSED_TRAVEL: "Approved"}
    assert set(refused) == {str(REFUSED_TRAVEL)}
    failed, failed_ids = failed_attempts(ledger, TRAVEL_DAG)
    documents_done(ledger, TRAVEL_DAG, failed_ids, refused)
    report("travel invoices", f"{TRAVELS} travel invoices, {4 * TRAVELS} reimbursable lines", states, failed)


def test_a_travel_invoice_pdf_served_cut_in_half_is_read_again_and_never_sent(severa_netvisor):
    """What the soak found at full size: a half body (HTTP 200) of the PDF went to Netvisor as the attachment.
    Here the first answer for one PDF is cut, on purpose, with no other fault."""
    ledger, severa, netvisor = severa_netvisor
    severa.configure(rate_limit_per_second=1000)
    severa.seed(**travel_seed())
    netvisor.seed(employees=[{"number": "101", "name": "Soak Traveller"}], wage_types=["1502", "1300", "1310"])
    whole = minimal_pdf("Travel invoice 1")
    path = "/rest-api/v1/travelreimbursements/a7400000-0000-4000-8000-000000000000/pdf"
    severa.faults(respond={"path": path, "count": 1, "body": whole[:len(whole) // 2].decode(),
                           "content_type": "application/pdf"})

    run = run_dag(TRAVEL_DAG, {"document_numbers": ["1"]})

    assert run.state == "success", task_states(run)
    [sent] = netvisor.state()["trip_expenses"]
    assert [a["sha256"] for line in sent["lines"] for a in line["attachments"]] == [hashlib.sha256(whole).hexdigest()]
    assert [r["status"] for r in severa.requests() if r["path"] == path] == [200, 200], "not read again"


# --- Netvisor -> Severa purchase invoices ----------------------------------------------------------

PURCHASE_DAG = "netvisor_severa_purchase_invoices"
PURCHASE_RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def purchase_seed() -> list[dict]:
    """PURCHASES approved invoices, three lines each on the open project 2001 (one with a re-billing product),
    and P-REFUSED whose project is closed in Severa."""
    def line(project: str, quantity: str, price: str, description: str, product: str = "") -> dict:
        return {"quantity": quantity, "unit_price": price, "description": description, "product_code": product,
                "dimensions": [{"name": "Projekti", "item": project}]}

    invoices = [{"number": f"P-{n + 1}", "date": f"2026-03-{1 + n % 28:02d}", "vendor": f"Soak vendor {n} & Co",
                 "lines": [line("2001 ERP rollout", "2", f"{89 + n}.90", f"Hotel night {n}", product="LIC-Y"),
                           line("2001 ERP rollout", "1", "0.10", f"Rounding {n}"),
                           line("2001 ERP rollout", str(1 + n % 5), "12.35", f"Taxi {n} <&>")]}
                for n in range(PURCHASES)]
    return invoices + [{"number": "P-REFUSED", "date": "2026-03-04", "vendor": "Closed Oy",
                        "lines": [line("2002 Support", "1", "10", "x")]}]


def test_purchase_invoices_under_faults_equal_the_fault_free_project_costs(severa_netvisor):
    ledger, severa, netvisor = severa_netvisor
    invoices = purchase_seed()

    def setup():
        fresh(severa, "severa", rate_limit_per_second=1000)
        fresh(netvisor, "netvisor")
        severa.seed(**copy.deepcopy(SEVERA_DEMO))
        netvisor.seed(purchase_invoices=copy.deepcopy(invoices))

    def costs():
        return sorted(((f["project"]["name"], f["quantity"], f["unitCost"]["amount"],
                        (f.get("product") or {}).get("name"), (f.get("unitPrice") or {}).get("amount"),
                        f.get("eventDate"), f["description"]) for f in severa.state()["projectfees"]),
                      key=lambda c: c[-1])

    reference, refused, states = reference_then_soak(
        ledger, PURCHASE_DAG, PURCHASE_RANGE, setup, costs,
        [(netvisor, {**NETVISOR_FAULTS, "seed": 71}), (severa, {**SEVERA_FAULTS, "seed": 72})],
        max_runs=MAX_RUNS + 2 * PURCHASES)

    held = costs()
    assert held == reference, "the project costs differ from the fault-free run"
    tags = no_duplicates(held, lambda c: c[-1].rsplit(" [", 1)[1])
    assert len(tags) == 3 * PURCHASES, "a cost is missing"
    assert set(refused) == {"P-REFUSED"}
    failed, failed_ids = failed_attempts(ledger, PURCHASE_DAG)
    documents_done(ledger, PURCHASE_DAG, failed_ids, refused)
    report("purchase invoices", f"{PURCHASES} invoices, {3 * PURCHASES} costs", states, failed)


# --- Horizon payroll time import (reviewed through its human-in-the-loop step) --------------------------

PAYROLL_DAG = "horizon_payroll_time_import"
PAYROLL_PERIOD = {"period_start": "2026-10-01", "period_end": "2026-10-31"}
PAYROLL_KEYS = max(6, SCALE // 60)      # employee + day rows sent to Horizon ...
PAYROLL_ROWS = max(120, SCALE)          # ... summed from this many Severa hour entries, and a CSV file


def run_payroll(dag_id: str, conf: dict | None = None):
    """One run with its review answered "Approve" as a person would (tests/flows/hitl.py), under the DAG's own
    retry policy (2 retries a task) without the minute's wait: a failed load is retried by Airflow on the same
    reviewed batch, while a new run would stage the period again and ask the reviewer again."""
    from tests.flows.hitl import run_dag_answering

    return run_dag_answering(dag_id, lambda asked: (["Approve"], {"reason": ""}), conf, retries=True)[0]


def payroll_seed() -> tuple[dict, list[dict], str]:
    """Horizon employees, Severa users and PAYROLL_ROWS hour entries over PAYROLL_KEYS employee-days, and a
    CSV with one more row per employee-day (summed with Severa's) plus one for an unknown employee."""
    people = [f"S{n}" for n in range(max(3, PAYROLL_KEYS // 10))]
    keys = [(people[n % len(people)], f"2026-10-{1 + n // len(people):02d}") for n in range(PAYROLL_KEYS)]
    users = {code: f"u4200000-0000-4000-8000-{n:012d}" for n, code in enumerate(people, 1)}
    entries = [{"guid": f"h4200000-0000-4000-8000-{n:012d}", "user": {"guid": users[keys[n % PAYROLL_KEYS][0]]},
                "eventDate": keys[n % PAYROLL_KEYS][1], "quantity": float(Decimal("0.05") * (1 + n % 4)),
                "description": f"Soak entry {n}"} for n in range(PAYROLL_ROWS)]
    severa = {"users": [{"guid": g, "firstName": "Soak", "lastName": c, "code": c} for c, g in users.items()],
              "workhours": entries}
    horizon = [{"EmployeeCode": c, "FirstName": "Soak", "LastName": c, "EmploymentStart": "2020-01-01"} for c in people]
    csv = "employee_code;date;time_type;hours;comment\n" + "".join(
        f"{code};{day};WORK;1,5;extra {code} {day}\n" for code, day in keys) + "X9;2026-10-03;WORK;8;unknown\n"
    return severa, horizon, csv


def test_payroll_time_import_under_faults_equals_the_fault_free_import(airflow_db, ledger, severa, horizon,
                                                                       tmp_path, monkeypatch):
    severa_data, employees, csv = payroll_seed()
    fast_severa(monkeypatch, severa)
    creds = SECRETS["horizon"]
    fast_retry(monkeypatch, "visma_horizon_default", {"conn_type": "visma_horizon", "host": horizon.base,
                                                      "login": creds["username"], "password": creds["password"]})
    inbox = tmp_path / "inbox"

    def setup():
        fresh(severa, "severa", rate_limit_per_second=1000)
        fresh(horizon, "horizon")
        severa.seed(**copy.deepcopy(severa_data))
        horizon.seed(employees=employees)
        shutil.rmtree(inbox, ignore_errors=True)
        inbox.mkdir()
        (inbox / "october.csv").write_text(csv, encoding="utf-8")

    def imported():
        return sorted((r["EmployeeCode"], r["Date"], r["TimeType"], r["Hours"]) for r in horizon.state()["time_import"])

    conf = {**PAYROLL_PERIOD, "inbox": str(inbox)}
    reference, refused, states = reference_then_soak(
        ledger, PAYROLL_DAG, conf, setup, imported,
        [(horizon, {**FAULTS, "retry_after": 0.1, "error_category": "SERVER_ERROR", "seed": 81}),
         (severa, {**SEVERA_FAULTS, "seed": 82})],
        max_runs=MAX_RUNS, run=run_payroll)

    held = imported()
    assert held == reference, "the payroll time import differs from the fault-free run"
    no_duplicates(held, lambda r: r[:3])
    assert len(held) == PAYROLL_KEYS, "an employee-day is missing"
    assert sum(Decimal(str(r[3])) for r in held) == sum(
        Decimal("0.05") * (1 + n % 4) for n in range(PAYROLL_ROWS)) + Decimal("1.5") * PAYROLL_KEYS
    last = ledger.execute("SELECT status FROM payroll_batch ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert last == "loaded"
    failed, failed_ids = failed_attempts(ledger, PAYROLL_DAG)
    assert failed_ids <= {f"{code}/{day}/{kind}" for code, day, kind, _ in held}, "a failed row never arrived"
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    tries = metadata.execute("SELECT try_number FROM task_instance WHERE dag_id = ? AND task_id = 'load_work_time'"
                             " ORDER BY start_date DESC LIMIT 1", (PAYROLL_DAG,)).fetchone()[0]
    metadata.close()
    report("payroll time import", f"{PAYROLL_ROWS} Severa entries + {PAYROLL_KEYS} CSV rows in {PAYROLL_KEYS} "
                                  f"employee-days (the last run's load took {tries} tries)", states, failed)


# --- Horizon -> Active Directory accounts (a real Samba AD; faults on the Horizon side only) ---------------

AD_DAG = "horizon_ad_accounts"
AD_EMPLOYEES = max(10, SCALE // 30)
AD_ATTRIBUTES = ["employeeID", "sAMAccountName", "userPrincipalName", "cn", "givenName", "sn", "displayName",
                 "department", "title", "manager", "userAccountControl", "description", "memberOf"]


def ad_employees(token: str, today) -> list[dict]:
    """AD_EMPLOYEES cards, managers first: one boss, team leads reporting to the boss, the rest to a lead; one
    in ten starts next month (disabled until then), one in ten has left (disabled)."""
    cards = []
    for n in range(AD_EMPLOYEES):
        card = {"EmployeeCode": f"AD{token}{n:04d}", "FirstName": f"Soak{n}", "LastName": f"Person{token}",
                "Department": f"Dept {n % 4}", "Position": "Engineer", "EmploymentStart": "2020-01-01"}
        if n:
            card["ManagerCode"] = cards[0 if n < 4 else 1 + n % 3]["EmployeeCode"]
        if n % 10 == 7:
            card["EmploymentStart"] = (today + timedelta(days=30)).isoformat()
        if n % 10 == 9:
            card |= {"EmploymentEnd": (today - timedelta(days=3)).isoformat(), "TerminationRegistered": True}
        cards.append(card)
    return cards


def ad_changes(cards: list[dict], today) -> list[dict]:
    """What happens next in Horizon: moves and promotions, leavers, a rehire and a change of name."""
    changed = []
    for n, card in enumerate(cards):
        if n % 3 == 2:
            changed.append({**card, "Department": "Sales", "Position": "Account manager"})
        elif n % 5 == 4:
            changed.append({**card, "EmploymentEnd": today.isoformat()})
        elif n == 9:
            changed.append({**card, "EmploymentEnd": "", "TerminationRegistered": False,
                            "EmploymentStart": today.isoformat(), "Department": "Rehired"})
        elif n == 8:
            changed.append({**card, "LastName": f"{card['LastName']}-Kalniņa"})
    return changed


def test_ad_accounts_under_horizon_faults_equal_the_fault_free_accounts(airflow_db, ledger, horizon,
                                                                        active_directory, monkeypatch):
    from datetime import date

    from erpbridge.ledger.store import Ledger

    samba = active_directory
    creds = SECRETS["horizon"]
    fast_retry(monkeypatch, "visma_horizon_default", {"conn_type": "visma_horizon", "host": horizon.base,
                                                      "login": creds["username"], "password": creds["password"]})
    migrator = Ledger.connect("-")
    migrator.migrate()
    migrator.close()
    today = date.today()
    token = os.urandom(2).hex()
    cards = ad_employees(token, today)
    codes = {c["EmployeeCode"] for c in cards}

    def entries():
        found = [e for e in samba.users(f"(employeeID=AD{token}*)", AD_ATTRIBUTES)]
        no_duplicates(found, lambda e: e.employeeID.value)
        return found

    def accounts() -> dict:
        def one(e) -> tuple:
            return (e.entry_dn.lower(), *(e[a].value for a in AD_ATTRIBUTES[1:8]),
                    (e.manager.value or "").lower(), int(e.userAccountControl.value) & 2, e.description.value,
                    sorted(g.lower() for g in e.memberOf.values))
        return {e.employeeID.value: one(e) for e in entries()}

    def phase(seed: list[dict], faults: dict | None) -> list[str]:
        horizon.seed(employees=seed)
        if faults:
            horizon.faults(**copy.deepcopy(faults))
        try:
            return until_success(AD_DAG, None, MAX_RUNS)
        finally:
            horizon.admin("DELETE", "faults")

    fresh(horizon, "horizon")
    phase(cards, None)
    reference_hired = accounts()
    phase(ad_changes(cards, today), None)
    reference_changed = accounts()
    assert set(reference_changed) == codes and reference_hired != reference_changed

    admin = samba.admin_conn()  # start over: no accounts, an empty ledger, Horizon as it was
    for e in entries():
        assert admin.delete(e.entry_dn), admin.result
    admin.unbind()
    wipe_ledger(ledger)
    fresh(horizon, "horizon")
    faults = {**FAULTS, "retry_after": 0.1, "error_category": "SERVER_ERROR",
              "next_n": {"count": 3, "status": 503, "category": "MAINTENANCE", "message": "maintenance"}}
    hired_runs = phase(cards, {**faults, "seed": 91})
    assert accounts() == reference_hired, "the accounts differ from the fault-free run"
    changed_runs = phase(ad_changes(cards, today), {**faults, "seed": 92})
    assert accounts() == reference_changed, "the accounts differ from the fault-free run after the changes"

    before = {e.employeeID.value: e.uSNChanged.value for e in samba.users(f"(employeeID=AD{token}*)", ["employeeID",
                                                                                                      "uSNChanged"])}
    assert run_dag(AD_DAG).state == "success"
    after = {e.employeeID.value: e.uSNChanged.value for e in samba.users(f"(employeeID=AD{token}*)", ["employeeID",
                                                                                                     "uSNChanged"])}
    assert after == before, "a fault-free run still changed AD: the faulted runs left something undone"
    created = Counter(sid for (sid,) in ledger.execute("SELECT source_id FROM transfer_log WHERE action = 'created'"))
    assert created == Counter(codes), "an account was created twice or not at all"
    faulted = [r for r in horizon.requests() if r["status"] is None or r["status"] >= 429]
    assert "failed" in hired_runs + changed_runs and faulted, "the faults never reached a run"
    # Horizon is only read: a fault there fails the run before any record is written, so the transfer log has
    # no failed record to show (failed attempts of writes are covered by the other soaks)
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'failed'").fetchone()[0] == 0
    print(f"soak AD accounts: {AD_EMPLOYEES} employees, runs to converge {len(hired_runs)} {hired_runs} (hires) and"
          f" {len(changed_runs)} {changed_runs} (changes), faulty Horizon answers {len(faulted)}")
