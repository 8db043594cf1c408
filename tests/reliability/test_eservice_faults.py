"""eservice_payments_horizon under failure (issue 18): a run cut short between Horizon's answer and the ledger,
the task process killed (SIGKILL) at random moments, and ~20% faulty answers from both the e-service portal and
Horizon. After a clean rerun every paid payment has exactly one invoice, every refund one credit note, every payer
one customer: 0 duplicates, 0 lost. `CRASH_TRIALS` scales the kills, `SOAK_RECORDS` the soak (make soak)."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from stdnum.lv import pvn

from tests.conftest import SECRETS
from tests.eservice import API_KEY, company, eservice, payment, person, position  # noqa: F401 (fixture)
from tests.flows.dagrun import run_dag, task_states
from tests.reliability.kills import TRIALS, dags_test, kill_mid_run, under_way
from tests.reliability.test_fault_soak_flows import FAULTS, SCALE, fast_retry, until_success

DAG_ID = "eservice_payments_horizon"
PER_TRIAL = 6
SOAK_PAYMENTS = max(24, SCALE // 10)
SERVICES = {"ZG-IZRAKSTS": "ZG-EXTRACT"}


def personal_code(n: int) -> str:
    base = f"{n % 28 + 1:02d}{n % 12 + 1:02d}{n % 90 + 10:02d}1{n % 1000:03d}"
    return base + pvn.calc_check_digit_pers(base)


def payments(first: int, count: int, refund_every: int = 5) -> list[dict]:
    """``count`` payments; payers repeat (every third is a company of three); every ``refund_every``th refunded."""
    made = []
    for n in range(first, first + count):
        payer = company(["40003521600", "40103001235", "50003012342"][n % 3]) if n % 3 == 0 \
            else person(personal_code(n // 2))
        extra = {"status": "refunded", "refunded_at": "2026-11-05T10:00:00Z"} if n % refund_every == 4 else {}
        made.append(payment(f"ZG-{n:05d}", payer, [position(f"{10 + n % 7}.{n % 100:02d}")], **extra))
    return made


@pytest.fixture
def portal(airflow_db, ledger, horizon, eservice, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON", json.dumps({"services": SERVICES}))
    horizon.seed(articles=[{"Code": "ZG-EXTRACT", "Name": "Land Register extract"}])
    return ledger, horizon, eservice


def assert_exactly_once(horizon, seeded: list[dict]) -> None:
    state = horizon.state()
    refs = Counter(d["ExternalRef"] for d in state["sales_invoices"])
    expected = Counter([p["id"] for p in seeded] + [f"{p['id']}/refund" for p in seeded if p["status"] == "refunded"])
    assert refs == expected, f"duplicates: {sorted(refs - expected)}, lost: {sorted(expected - refs)}"
    payers = {p["payer"].get("personal_code", "").replace("-", "") or p["payer"]["registration_number"]
              for p in seeded}
    assert Counter(c["RegNo"] for c in state["customers"]) == Counter(payers), "not one customer per payer"


def test_a_run_cut_short_after_horizon_made_the_invoice_adopts_it_instead_of_doubling(portal):
    ledger, horizon, eservice = portal
    paid = payments(0, 3)
    eservice.seed(payments=paid)
    # what a run killed right after Horizon's answers left: the customer and the invoice, the ledger knowing neither
    (customer,) = horizon.seed(customers=[{"Name": "SIA", "RegNo": "40003521600", "PersonType": "COMPANY",
                                           "Country": "LV"}])["customers"]
    horizon.seed(sales_invoices=[{"Customer": customer, "DocType": "INVOICE", "DocDate": "2026-11-02",
                                  "Currency": "EUR", "ExternalRef": "ZG-00000",
                                  "Lines": [{"Article": "ZG-EXTRACT", "Amount": "10.00"}]}])

    run = run_dag(DAG_ID)

    assert run.state == "success", task_states(run)
    assert_exactly_once(horizon, paid)
    adopted = ledger.execute("SELECT action, error_text FROM transfer_log WHERE source_id = 'ZG-00000'"
                             " AND entity = 'invoice'").fetchall()
    assert adopted == [("unchanged", f"invoice {horizon.state()['sales_invoices'][0]['pk']} for company 40003521600,"
                                     " 12.10 EUR: found in Horizon (made by a run cut short before the ledger knew),"
                                     " adopted")]


def test_a_customer_whose_create_landed_after_the_lookup_is_adopted_not_doubled(portal):
    """A create whose answer was lost may land after the next run looked the payer up: Horizon then refuses the
    second customer with that RegNo (DUPLICATE_REG_NO), and the run adopts the one that landed."""
    ledger, horizon, eservice = portal
    paid = payments(0, 1)
    eservice.seed(payments=paid)
    horizon.seed(customers=[{"Name": "SIA", "RegNo": paid[0]["payer"]["registration_number"], "PersonType": "COMPANY",
                             "Country": "LV"}])  # the earlier create, landed
    horizon.faults(respond={"path": "/rest/TdmKlBL/query", "method": "GET", "count": 1,
                            "body": "<resource></resource>"})  # this run's lookup came before it landed

    run = run_dag(DAG_ID)

    assert run.state == "success", task_states(run)
    assert_exactly_once(horizon, paid)
    assert len(horizon.state()["customers"]) == 1


def invoices_recorded(ledger) -> int:
    if ledger.execute("SELECT to_regclass('id_map')").fetchone()[0] is None:  # before the run's migration
        return 0
    return ledger.execute("SELECT count(*) FROM id_map WHERE entity = 'invoice'").fetchone()[0]


def test_kill_9_while_invoices_are_made_never_doubles_or_loses_one(portal):
    ledger, horizon, eservice = portal
    horizon.faults(latency_ms=60)  # spread a run over seconds so the kills land inside it
    rng = random.Random(20261130)
    seeded, kills = [], 0
    for trial in range(TRIALS):
        batch = payments(trial * PER_TRIAL, PER_TRIAL)
        eservice.seed(payments=batch)
        seeded += batch
        known = invoices_recorded(ledger)
        proc = dags_test(DAG_ID)
        kills += kill_mid_run(proc, under_way(proc, lambda: invoices_recorded(ledger) > known), rng, 0.8)
    horizon.admin("DELETE", "faults")

    run = run_dag(DAG_ID)

    assert run.state == "success", task_states(run)
    assert kills >= 1, "no trial was killed mid-run: the test proved nothing"
    assert_exactly_once(horizon, seeded)
    print(f"e-service crash trials: {TRIALS}, killed mid-run: {kills}, payments: {len(seeded)}")


def test_under_faults_every_payment_converges_to_exactly_one_invoice_and_credit_note(portal, monkeypatch):
    ledger, horizon, eservice = portal
    seeded = payments(0, SOAK_PAYMENTS, refund_every=4)
    eservice.seed(payments=seeded)
    creds = SECRETS["horizon"]
    fast_retry(monkeypatch, "visma_horizon_default", {"conn_type": "visma_horizon", "host": horizon.base,
                                                      "login": creds["username"], "password": creds["password"]})
    fast_retry(monkeypatch, "eservice_default", {"conn_type": "eservice", "host": eservice.base, "password": API_KEY})
    horizon.faults(**FAULTS, seed=21)
    eservice.faults(**FAULTS, seed=22)

    states = until_success(DAG_ID)

    horizon.admin("DELETE", "faults")
    eservice.admin("DELETE", "faults")
    faulted = sum(1 for sim in (horizon, eservice) for r in sim.requests() if r["status"] is None or r["status"] >= 400)
    assert faulted, "no fault reached the flow: the soak proved nothing"
    assert_exactly_once(horizon, seeded)
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    failures = " ".join(text for (text,) in ledger.execute("SELECT error_text FROM transfer_log WHERE action"
                                                           " IN ('failed', 'skipped')"))
    codes = {p["payer"]["personal_code"] for p in seeded if p["payer"]["type"] == "person"}
    assert "Horizon" in failures and not [code for code in codes if code in failures], "a personal code in an error"
    print(f"e-service soak: {SOAK_PAYMENTS} payments, {faulted} faulty answers, DAG runs {states}")
