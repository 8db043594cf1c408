"""Horizon outbound flows under failure (issue 18): payroll payment files with the task process killed (SIGKILL)
at random moments, and both flows under ~20% faulty simulator answers. After a clean rerun every payroll run
and paying account has exactly one file, byte for byte what the ledger recorded, XSD-valid, its control sum
the net total; every Horizon absence exactly one Severa activity. `CRASH_TRIALS` scales the kills,
`SOAK_RECORDS` the soaks (make soak)."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from lxml import etree
from sepaxml.validation import try_valid_xml

from tests.flows.hitl import run_dag_answering
from tests.flows.test_horizon_payroll_payments import NS, never_asked
from tests.reliability.kills import TRIALS, dags_test, kill_mid_run, under_way
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, fast_retry, fast_severa, until_success
from tests.conftest import SECRETS

PAYMENTS_DAG = "horizon_payroll_payments"
ABSENCES_DAG = "horizon_severa_absences"
RUNS_PER_TRIAL = 2
SOAK_RUNS = max(20, SCALE // 15)  # payroll runs, 6 payments each
SOAK_ABSENCES = max(8, SCALE // 30)
PAYERS = ("LV11RIKO0002013001234", "LV50UNLA0050001234567")
EMPLOYEE_IBANS = ("LV87HABA0551012345678", "LV29HABA0551087654321", "DE89370400440532013000")


def seed_runs(horizon, count: int, first_period: int) -> dict[str, Decimal]:
    """``count`` confirmed runs, 6 payments each over the two paying accounts; {run pk: net total}."""
    totals = {}
    for n in range(count):
        period = f"{2020 + (first_period + n) // 12}-{(first_period + n) % 12 + 1:02d}"
        (pk,) = horizon.seed(payroll_runs=[{"Period": period, "PayDate": date.today().isoformat(), "Currency": "EUR",
                                            "Status": "CONFIRMED"}])["payroll_runs"]
        payments = [{"Run": pk, "EmployeeCode": f"E{i}", "EmployeeName": f"Darbinieks {i}",
                     "IBAN": EMPLOYEE_IBANS[i % 3], "NetAmount": f"{1000 + 37 * i + n}.{i:02d}",
                     "PayerIBAN": PAYERS[i % 2]} for i in range(6)]
        horizon.seed(payroll_payments=payments)
        totals[str(pk)] = sum(Decimal(p["NetAmount"]) for p in payments)
    return totals


def bank_setup(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    bank.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS", json.dumps({"bank_folder": str(bank)}))
    return bank


def assert_each_run_paid_once(ledger, bank, totals: dict[str, Decimal]) -> None:
    assert sorted(p.name for p in bank.iterdir() if not p.name.endswith(".xml")) == [], "a temporary file left"
    recorded = ledger.execute("SELECT run_pk, payer_iban, version, file_name, file_sha256 FROM payment_file").fetchall()
    assert Counter((run, payer) for run, payer, *_ in recorded) == Counter(
        (run, payer) for run in totals for payer in PAYERS), "a run and account without exactly one file"
    assert {version for _, _, version, _, _ in recorded} == {1}, "a second file without anyone confirming it"
    assert sorted(p.name for p in bank.iterdir()) == sorted(name for *_, name, _ in recorded)
    paid: dict[str, Decimal] = Counter()
    for run, _, _, name, sha in recorded:
        document = (bank / name).read_bytes()
        assert hashlib.sha256(document).hexdigest() == sha, f"{name} is not the file the ledger recorded"
        try_valid_xml(document, "pain.001.001.03")
        root = etree.fromstring(document)
        paid[run] += Decimal(root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS))
    assert paid == totals, "control sums differ from the runs' net totals"


def test_kill_9_while_payment_files_are_written_leaves_each_run_paid_once(airflow_db, ledger, horizon, tmp_path,
                                                                         monkeypatch):
    bank = bank_setup(tmp_path, monkeypatch)
    horizon.faults(latency_ms=80)  # spread a run over seconds so the kills land inside it
    rng = random.Random(20261130)
    totals, kills = {}, 0
    for trial in range(TRIALS):
        totals |= seed_runs(horizon, RUNS_PER_TRIAL, trial * RUNS_PER_TRIAL)
        known = ledger.execute("SELECT count(*) FROM payment_file").fetchone()[0] if trial else 0
        proc = dags_test(PAYMENTS_DAG)
        started = under_way(proc, lambda: ledger.execute("SELECT count(*) FROM payment_file").fetchone()[0] > known)
        kills += kill_mid_run(proc, started, rng, 0.6)
    horizon.admin("DELETE", "faults")

    run, _ = run_dag_answering(PAYMENTS_DAG, never_asked)

    assert run.state == "success"
    assert kills >= 1, "no trial was killed mid-run: the test proved nothing"
    assert_each_run_paid_once(ledger, bank, totals)
    print(f"payment crash trials: {TRIALS}, killed mid-run: {kills}, files: {len(list(bank.iterdir()))}")


def fast_horizon(monkeypatch, horizon) -> None:
    creds = SECRETS["horizon"]
    fast_retry(monkeypatch, "visma_horizon_default", {"conn_type": "visma_horizon", "host": horizon.base,
                                                      "login": creds["username"], "password": creds["password"]})


def test_payment_files_under_faults_converge_to_one_file_per_run_and_account(airflow_db, ledger, horizon, tmp_path,
                                                                             monkeypatch):
    bank = bank_setup(tmp_path, monkeypatch)
    totals = seed_runs(horizon, SOAK_RUNS, 0)
    fast_horizon(monkeypatch, horizon)
    horizon.faults(**FAULTS, seed=7)

    states = until_success(PAYMENTS_DAG, run=lambda dag_id, conf: run_dag_answering(dag_id, never_asked)[0])

    horizon.admin("DELETE", "faults")
    faulted = sum(1 for r in horizon.requests() if r["status"] is None or r["status"] >= 400)
    assert faulted, "no fault reached the flow: the soak proved nothing"
    assert_each_run_paid_once(ledger, bank, totals)
    print(f"payment soak: {SOAK_RUNS} payroll runs, {faulted} faulty answers, DAG runs {states}")


def test_absences_under_faults_reach_severa_exactly_once_through_changes_and_cancellations(airflow_db, ledger, horizon,
                                                                                         severa, monkeypatch):
    from tests.contract.severa_openapi import scope_connection

    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_SEVERA_ABSENCES", json.dumps({"absence_types": {"ATV": "VAC"}}))
    severa.configure(rate_limit_per_second=1000)
    codes = [f"E{i}" for i in range(SOAK_ABSENCES)]
    severa.seed(users=[{"firstName": "Person", "lastName": code, "code": code} for code in codes],
                activitytypes=[{"name": "Vacation", "code": "VAC", "category": "Absences"}])
    day = lambda n: (date.today() + timedelta(days=n)).isoformat()  # noqa: E731
    pks = horizon.seed(absences=[{"EmployeeCode": code, "DateFrom": day(3 * i), "DateTo": day(3 * i + 1),
                                  "AbsenceType": "ATV"} for i, code in enumerate(codes)])["absences"]
    fast_horizon(monkeypatch, horizon)
    fast_severa(monkeypatch, severa)
    scope_connection(monkeypatch, ABSENCES_DAG)
    horizon.faults(**FAULTS, seed=11)
    severa.faults(**FAULTS, seed=12)

    moved, cancelled = SOAK_ABSENCES // 3, SOAK_ABSENCES // 4
    first = until_success(ABSENCES_DAG)
    horizon.seed(absences=[{"pk": pk, "EmployeeCode": codes[i], "DateFrom": day(3 * i + 1), "DateTo": day(3 * i + 2),
                            "AbsenceType": "ATV"} for i, pk in enumerate(pks[:moved])],
                 delete={"absences": pks[moved:moved + cancelled]})
    second = until_success(ABSENCES_DAG)

    horizon.admin("DELETE", "faults")
    severa.admin("DELETE", "faults")
    users = {u["guid"]: u["code"] for u in severa.state()["users"]}
    activities = sorted((users[a["ownerUser"]["guid"]], a["startDateTime"][:10], a["endDateTime"][:10])
                        for a in severa.state()["activities"])
    expected = sorted([(codes[i], day(3 * i + 1), day(3 * i + 3)) for i in range(moved)]
                      + [(codes[i], day(3 * i), day(3 * i + 2)) for i in range(moved + cancelled, SOAK_ABSENCES)])
    assert activities == expected, "an absence missing, doubled, or not moved / removed"
    print(f"absence soak: {SOAK_ABSENCES} absences, DAG runs {first} then ({moved} moved, {cancelled} cancelled)"
          f" {second}")
