"""eservice_payments_horizon end to end over HTTP with the real ledger: paid e-service payments (the e-service
simulator) -> Horizon customers, paid sales invoices and a credit note (the Horizon simulator). Ten payments of
persons and companies with repeat payers, a refund, an unknown service and a personal code with a wrong checksum
give exactly the expected documents and refusals; a second run changes nothing; no personal code appears in any
output, log, XCom or ledger table (the ledger is all the control room shows)."""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.eservice import company, eservice, payment, person, position  # noqa: F401 (fixture)
from tests.flows.dagrun import run_dag, task_states

DAG_ID = "eservice_payments_horizon"
SERVICES = {"ZG-IZRAKSTS": "ZG-EXTRACT", "ZG-NOSTIPR": "ZG-REGISTRATION"}
ANNA, BORIS, DACE, EDGARS = "010190-12349", "150285-11112", "311279-23454", "200700-04567"
WRONG_CHECKSUM = "010190-12348"
SIA_A, SIA_B, SIA_C = "40003521600", "40103001235", "50003012342"
PERSONAL = [ANNA, BORIS, DACE, EDGARS, WRONG_CHECKSUM]
PAYMENTS = [
    payment("ZG-001", person(ANNA, "Anna Kalniņa"), [position("10.00")]),
    payment("ZG-002", person(BORIS, "Boriss Ozols"), [position("14.00", "0", description="State duty"),
                                                      position("17.83")], service="ZG-NOSTIPR", service_step="2"),
    payment("ZG-003", company(SIA_A, "SIA Ābeļziedi"), [position("10.00", quantity="3")]),
    payment("ZG-004", company(SIA_B, "SIA Bērzi"), [position("25.50")], service="ZG-NOSTIPR"),
    payment("ZG-005", person(ANNA, "Anna Kalniņa"), [position("10.00")], channel="latvija_lv"),  # a repeat payer
    payment("ZG-006", company(SIA_A, "SIA Ābeļziedi"), [position("5.00", "0")]),  # a repeat company
    payment("ZG-007", person(DACE, "Dace Liepa"), [position("20.00")]),  # refunded after the first run
    payment("ZG-008", person(EDGARS, "Edgars Kļava"), [position("9.99")], service="ZG-CITS"),  # unknown service
    payment("ZG-009", person(WRONG_CHECKSUM, "Ieva Zariņa"), [position("10.00")]),  # wrong checksum
    payment("ZG-010", company(SIA_C, "SIA Cīrulis"), [position("7.77", "12")]),
]


@pytest.fixture
def portal(airflow_db, ledger, horizon, eservice, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON", json.dumps({"services": SERVICES}))
    return ledger, horizon, eservice


def synced(expected: str = "success", **conf):
    run = run_dag(DAG_ID, conf)
    assert run.state == expected, task_states(run)
    return run


def documents(horizon) -> dict[str, dict]:
    """Horizon's sales documents by ExternalRef, with their customer's RegNo."""
    state = horizon.state()
    customers = {c["pk"]: c["RegNo"] for c in state["customers"]}
    return {d["ExternalRef"]: {**d, "RegNo": customers[d["Customer"]]} for d in state["sales_invoices"]}


def test_payments_become_customers_invoices_a_credit_note_and_refusals_exactly_once(portal, capfd, caplog):
    ledger, horizon, eservice = portal
    horizon.seed(articles=[{"Code": code, "Name": code} for code in SERVICES.values()],
                 customers=[{"Name": "Boriss Ozols", "RegNo": BORIS.replace("-", ""), "PersonType": "PERSON",
                             "Country": "LV"}])  # already Horizon's customer: found, not created
    eservice.seed(payments=PAYMENTS)

    synced()

    customers = sorted((c["RegNo"], c["PersonType"]) for c in horizon.state()["customers"])
    assert customers == sorted([(ANNA.replace("-", ""), "PERSON"), (BORIS.replace("-", ""), "PERSON"),
                                (DACE.replace("-", ""), "PERSON"), (SIA_A, "COMPANY"), (SIA_B, "COMPANY"),
                                (SIA_C, "COMPANY")]), "one customer per payer, the known one found"
    made = documents(horizon)
    assert sorted(made) == ["ZG-001", "ZG-002", "ZG-003", "ZG-004", "ZG-005", "ZG-006", "ZG-007", "ZG-010"]
    assert made["ZG-001"]["Customer"] == made["ZG-005"]["Customer"], "a repeat payer is one customer"
    assert made["ZG-003"]["Customer"] == made["ZG-006"]["Customer"]
    two = made["ZG-002"]
    assert (two["DocType"], two["DocDate"], two["PaidDate"], two["Total"], two["VatTotal"]) == (
        "INVOICE", "2026-11-02", "2026-11-02", "35.57", "3.74")
    assert [(line["Article"], line["Amount"], line["Vat"], line["VatRate"]) for line in two["Lines"]] == [
        ("ZG-REGISTRATION", "14.00", "0.00", "0"), ("ZG-REGISTRATION", "17.83", "3.74", "21")]
    assert "step 2" in two["Lines"][0]["Description"]
    assert made["ZG-003"]["Lines"][0]["Quantity"] == "3" and made["ZG-003"]["Total"] == "36.30"
    waiting = dict(ledger.execute("SELECT source_id, reason FROM quarantine WHERE entity = 'payment'").fetchall())
    assert waiting == {
        "ZG-008": "service_code: 'ZG-CITS' is not mapped to a Horizon article (services in the Variable"
                  " erpbridge_eservice_payments_horizon)",
        "ZG-009": "payer.personal_code: *********48 is not a valid LV personal code (the number's checksum or check"
                  " digit is invalid)"}

    eservice.admin("POST", "payments/ZG-007/refund")
    synced()
    synced()  # and once more: nothing changes

    made = documents(horizon)
    credit = made.pop("ZG-007/refund")
    assert (credit["DocType"], credit["CreditedInvoice"], credit["Customer"], credit["Total"]) == (
        "CREDIT_NOTE", made["ZG-007"]["pk"], made["ZG-007"]["Customer"], "-24.20")
    assert [line["Amount"] for line in credit["Lines"]] == ["-20.00"]
    assert len(made) == 8 and len(horizon.state()["customers"]) == 6
    created = dict(ledger.execute("SELECT entity, count(*) FROM transfer_log WHERE action = 'created'"
                                  " GROUP BY entity").fetchall())
    assert created == {"customer": 5, "invoice": 8, "credit_note": 1}
    assert sum(Decimal(d["Total"]) for d in made.values()) == sum(
        Decimal(p["amount"]) for p in PAYMENTS if p["id"] not in ("ZG-008", "ZG-009"))

    # no personal code anywhere a person can read: output, log files, XCom, every ledger table
    captured = capfd.readouterr()
    output = captured.out + captured.err + caplog.text
    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT value FROM xcom WHERE dag_id = ?", (DAG_ID,)))
    tables = [t for (t,) in ledger.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
    ledger_dump = " ".join(str(row) for table in tables for row in ledger.execute(f'SELECT * FROM "{table}"'))
    assert "credit note" in ledger_dump and "invoices" in xcoms and "ZG-009" in output + logs
    for code in PERSONAL:
        for form in (code, code.replace("-", "")):
            for place, text in {"output": output, "logs": logs, "xcom": xcoms,
                                "ledger": ledger_dump}.items():
                assert form not in text, f"a personal code in the {place}"


def test_a_dry_run_counts_what_a_run_would_do_and_writes_nothing(portal, caplog):
    ledger, horizon, eservice = portal
    horizon.seed(articles=[{"Code": code, "Name": code} for code in SERVICES.values()])
    eservice.seed(payments=PAYMENTS)
    before = horizon.state()
    run = synced(dry_run=True)
    assert run.get_task_instance("invoice_payments").xcom_pull() == {
        "dry_run": True, "invoices": 8, "credit_notes": 0, "customers_created": 0, "customers_found": 0,
        "unchanged": 0, "waiting": 2, "not_paid": 0}
    assert horizon.state() == before
    tables = [t for (t,) in ledger.execute("SELECT table_name FROM information_schema.tables"
                                           " WHERE table_schema = 'public' AND table_name <> 'schema_migration'")]
    assert {t: ledger.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables} == {t: 0 for t in tables}
    assert "would wait in quarantine: payment ZG-009: payer.personal_code: *********48" in caplog.text
    assert WRONG_CHECKSUM not in caplog.text and WRONG_CHECKSUM.replace("-", "") not in caplog.text


def test_each_kind_of_bad_input_waits_naming_the_field_and_the_rest_goes_on(portal, monkeypatch):
    ledger, horizon, eservice = portal
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON",  # the second run reads what waits by id
                       json.dumps({"services": SERVICES, "watermark_overlap_minutes": 0}))
    good = payment("OK-1", company(SIA_A), [position("10.00")])
    bad = [
        payment("BAD-1", company("40003521601"), [position("10.00")]),  # registration number checksum
        payment("BAD-2", person(SIA_B), [position("10.00")]),  # a company's number as a personal code
        payment("BAD-3", person("", "No Code"), [position("10.00")]),
        payment("BAD-4", person(ANNA, country="FI"), [position("10.00")]),
        {**payment("BAD-5", person(ANNA), [position("10.00")]), "amount": "12.00"},  # does not add up
        payment("BAD-6", person(ANNA), [{**position("10.00"), "vat_amount": "1.00", "total": "11.00"}]),
        payment("BAD-7", person(ANNA), []),
        payment("BAD-8", person(ANNA), [position("10.00")], currency="USD"),
        payment("BAD-9", company(SIA_B), [position("10.00")], service="ZG-NOSTIPR"),  # Horizon: no such article
        payment("BAD 10", company(SIA_A), [position("10.00")]),  # not an id Horizon's criteria can carry
    ]
    eservice.seed(payments=[good, *bad, payment("PENDING-1", person(ANNA), [position("1.00")], status="pending")])
    horizon.seed(articles=[{"Code": "ZG-EXTRACT", "Name": "Extract"}])

    synced()

    assert sorted(documents(horizon)) == ["OK-1"], "the good payment went on; pending ones are never invoiced"
    waiting = dict(ledger.execute("SELECT source_id, reason FROM quarantine").fetchall())
    assert waiting == {
        "BAD-1": "payer.registration_number: 40003521601 is not a valid LV registration number (the number's"
                 " checksum or check digit is invalid)",
        "BAD-2": "payer.personal_code: *********35 is a company code, not a personal code",
        "BAD-3": "payer.personal_code: missing",
        "BAD-4": "payer.personal_code: no check for persons of country 'FI' (checked: LV, EE, LT)",
        "BAD-5": "amount: 12.00 paid, but the positions add up to 12.10",
        "BAD-6": "positions[1].vat_amount: 1.00, but 21 % of 10.00 is 2.10",
        "BAD-7": "positions: none",
        "BAD-8": "currency: 'USD': only EUR payments are invoiced",
        "BAD-9": "Horizon refused it: UNKNOWN_ARTICLE: line 1: no article 'ZG-REGISTRATION'",
        "BAD 10": "id: 'BAD 10' is not a payment id (letters, digits, . _ -; at most 64)"}
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'rejected'").fetchone()[0] == 10

    horizon.seed(articles=[{"Code": "ZG-REGISTRATION", "Name": "Registration"}])  # fixed in Horizon
    eservice.seed(payments=[{**bad[4], "amount": "12.10"}])  # corrected at the portal
    synced()

    assert sorted(documents(horizon)) == ["BAD-5", "BAD-9", "OK-1"]
    still = [r[0] for r in ledger.execute("SELECT source_id FROM quarantine ORDER BY source_id").fetchall()]
    assert still == ["BAD 10", "BAD-1", "BAD-2", "BAD-3", "BAD-4", "BAD-6", "BAD-7", "BAD-8"]
    assert ledger.execute("SELECT max(attempts) FROM quarantine").fetchone()[0] == 2, "each read again by its id"


def test_the_demo_invoices_two_payments_and_shows_one_refusal(portal, monkeypatch, tmp_path):
    """What `make demo` shows: its settings (include/sandbox.py) over the two simulators' demo seeds."""
    from include.sandbox import outbound_settings
    from include.simulators import eservice as eservice_sim
    from include.simulators import horizon as horizon_sim

    ledger, horizon, eservice = portal
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON",
                       outbound_settings(tmp_path)["AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON"])
    horizon.seed(**horizon_sim.DEMO_SEED)
    eservice.seed(**eservice_sim.DEMO_SEED)

    synced()

    assert sorted(documents(horizon)) == ["ZG-2026-000101", "ZG-2026-000102"]
    assert [r[0] for r in ledger.execute("SELECT source_id FROM quarantine").fetchall()] == ["ZG-2026-000103"]
