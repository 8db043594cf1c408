"""horizon_payroll_payments end to end: a confirmed payroll run in the Horizon simulator -> pain.001.001.03 files in
the bank folder, checked against the official XSD by a second validator (sepaxml's, xmlschema) besides ours;
a rerun writes the identical file; changed payments ask a person first; a bad or missing IBAN holds the file."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sepaxml.validation import try_valid_xml

from tests.flows.dagrun import ledger_contents, returned, task_states
from tests.flows.hitl import run_dag_answering

DAG_ID = "horizon_payroll_payments"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
PAYER_A, PAYER_B = "LV11RIKO0002013001234", "LV50UNLA0050001234567"
RUN = {"Period": "2026-10", "PayDate": (date.today() + timedelta(days=5)).isoformat(), "Currency": "EUR",
       "Status": "CONFIRMED"}
PAYMENTS = [
    {"EmployeeCode": "E1", "EmployeeName": "Jānis Bērziņš", "IBAN": "LV87HABA0551012345678", "NetAmount": "1234.56",
     "PayerIBAN": PAYER_A},
    {"EmployeeCode": "E2", "EmployeeName": "Łukasz Żółć", "IBAN": "DE89 3704 0044 0532 0130 00",
     "NetAmount": "987.65", "PayerIBAN": PAYER_A},
    {"EmployeeCode": "E3", "EmployeeName": "Līga Ozoliņa <Grāmatvede>", "IBAN": "LV29HABA0551087654321",
     "NetAmount": "1500.00", "PayerIBAN": PAYER_B},
    {"EmployeeCode": "E4", "EmployeeName": "Unpaid Leave", "IBAN": "LV51PARX0012345670001", "NetAmount": "0.00",
     "PayerIBAN": PAYER_B},
]


@pytest.fixture
def payroll(airflow_db, ledger, horizon, tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    bank.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS",
                       json.dumps({"bank_folder": str(bank), "debtor_name": "SIA Ābeļziedi"}))
    long_ago = (date.today() - timedelta(days=93)).isoformat()  # before the default lookback_days
    run_pk, draft_pk, old_pk = horizon.seed(payroll_runs=[RUN, {**RUN, "Period": "2026-11", "Status": "DRAFT"},
                                                          {**RUN, "Period": "2026-07", "PayDate": long_ago}]
                                            )["payroll_runs"]
    horizon.seed(payroll_payments=[{**p, "Run": run_pk} for p in PAYMENTS]
                 + [{**PAYMENTS[0], "Run": pk, "NetAmount": "99.00"} for pk in (draft_pk, old_pk)])
    return ledger, horizon, bank, run_pk


def never_asked(asked):
    raise AssertionError(f"nothing should wait for a person: {asked['subject']}")


def files(bank) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(bank.iterdir())}


def summary(document: bytes) -> dict:
    root = etree.fromstring(document)
    text = lambda path: root.findtext(path, namespaces=NS)  # noqa: E731
    return {"msg_id": text("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId"),
            "count": int(text("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs")),
            "sum": Decimal(text("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum")),
            "payer": text("p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAcct/p:Id/p:IBAN"),
            "amounts": sorted(Decimal(a.text) for a in root.iterfind(".//p:InstdAmt", NS)),
            "names": sorted(n.text for n in root.iterfind(".//p:Cdtr/p:Nm", NS)),
            "ibans": sorted(i.text for i in root.iterfind(".//p:CdtrAcct/p:Id/p:IBAN", NS))}


def test_one_valid_file_per_paying_account_and_a_rerun_writes_the_identical_files(payroll):
    ledger, horizon, bank, run_pk = payroll

    run, asked = run_dag_answering(DAG_ID, never_asked)

    assert run.state == "success", task_states(run)
    written = files(bank)
    assert sorted(written) == [f"payroll_2026-10_run{run_pk}_{PAYER_A}_v1.xml",
                               f"payroll_2026-10_run{run_pk}_{PAYER_B}_v1.xml"]
    for document in written.values():
        try_valid_xml(document, "pain.001.001.03")  # the official XSD, through sepaxml's own validator
    a, b = (summary(written[name]) for name in sorted(written))
    assert (a["payer"], a["count"], a["sum"]) == (PAYER_A, 2, Decimal("2222.21"))
    assert a["amounts"] == [Decimal("987.65"), Decimal("1234.56")] and sum(a["amounts"]) == a["sum"]
    assert a["names"] == ["Janis Berzins", "Lukasz Zolc"], "names in SEPA characters"
    assert a["ibans"] == ["DE89370400440532013000", "LV87HABA0551012345678"]
    assert (b["payer"], b["count"], b["sum"]) == (PAYER_B, 1, Decimal("1500.00"))
    assert b["names"] == ["Liga Ozolina Gramatvede"]
    net_total = sum(Decimal(p["NetAmount"]) for p in PAYMENTS)
    assert a["sum"] + b["sum"] == net_total, "control sums = the run's net total to the cent"
    rows = ledger.execute("SELECT payer_iban, version, msg_id, control_sum, file_sha256 IS NOT NULL FROM payment_file"
                          " ORDER BY payer_iban").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (PAYER_A, 1, a["msg_id"], Decimal("2222.21"), True), (PAYER_B, 1, b["msg_id"], Decimal("1500.00"), True)]

    rerun, _ = run_dag_answering(DAG_ID, never_asked)
    (bank / sorted(written)[1]).unlink()  # the bank software took one file away: a rerun writes it again, identical
    third, _ = run_dag_answering(DAG_ID, never_asked)

    assert rerun.state == third.state == "success"
    assert files(bank) == written, "same run -> the same bytes, message ids included"
    actions = ledger.execute("SELECT action, count(*) FROM transfer_log WHERE entity = 'payment_file'"
                             " GROUP BY action ORDER BY action").fetchall()
    assert actions == [("created", 2), ("unchanged", 4)]
    assert ledger.execute("SELECT count(*) FROM payment_file").fetchone()[0] == 2


def test_changed_payments_of_a_paid_run_ask_first_and_write_a_second_file_only_when_confirmed(payroll):
    ledger, horizon, bank, run_pk = payroll
    run_dag_answering(DAG_ID, never_asked)
    first = files(bank)
    horizon.seed(payroll_payments=[{**PAYMENTS[0], "Run": run_pk, "NetAmount": "1300.00"}])  # a correction in Horizon

    declined, asked = run_dag_answering(DAG_ID, lambda asked: (["Do not write"], {}))

    assert declined.state == "success", task_states(declined)
    assert len(asked) == 1 and asked[0]["options"] == ["Write the new files", "Do not write"]
    assert "1 payroll run account(s) already paid" in asked[0]["subject"]
    assert f"payroll_2026-10_run{run_pk}_{PAYER_A}_v1.xml" in asked[0]["body"] and "2287.65" in asked[0]["body"]
    assert "LV87HABA0551012345678" not in asked[0]["body"], "no employee account in the question"
    assert files(bank) == first, "nothing written without a confirmation"

    confirmed, asked = run_dag_answering(DAG_ID, lambda asked: (["Write the new files"], {}))

    assert confirmed.state == "success", task_states(confirmed)
    assert len(asked) == 1
    now = files(bank)
    second = f"payroll_2026-10_run{run_pk}_{PAYER_A}_v2.xml"
    assert set(now) == set(first) | {second} and all(now[name] == first[name] for name in first)
    new = summary(now[second])
    assert (new["count"], new["sum"]) == (2, Decimal("2287.65"))
    assert new["msg_id"] != summary(first[f"payroll_2026-10_run{run_pk}_{PAYER_A}_v1.xml"])["msg_id"]
    try_valid_xml(now[second], "pain.001.001.03")
    assert ledger.execute("SELECT version, confirmed_by FROM payment_file WHERE payer_iban = %s ORDER BY version",
                          (PAYER_A,)).fetchall() == [(1, None), (2, "Test Reviewer")]

    again, _ = run_dag_answering(DAG_ID, never_asked)  # the confirmed file is now the one a rerun reproduces
    assert again.state == "success" and files(bank) == now


def test_an_invalid_or_missing_iban_refuses_that_payment_and_holds_its_file(payroll):
    ledger, horizon, bank, run_pk = payroll
    horizon.seed(payroll_payments=[{**PAYMENTS[1], "Run": run_pk, "IBAN": "DE89370400440532013001"},  # checksum
                                   {"EmployeeCode": "E5", "EmployeeName": "Anna Kalniņa", "IBAN": "",
                                    "NetAmount": "800.00", "PayerIBAN": PAYER_A, "Run": run_pk}])

    run, _ = run_dag_answering(DAG_ID, never_asked)

    assert run.state == "success", task_states(run)
    assert sorted(files(bank)) == [f"payroll_2026-10_run{run_pk}_{PAYER_B}_v1.xml"], "account A's file is held"
    waiting = dict(ledger.execute("SELECT source_id, reason FROM quarantine WHERE entity = 'payroll_payment'"
                                  " ORDER BY source_id").fetchall())
    assert waiting == {f"{run_pk}/E2": "IBAN DE…3001 invalid: Invalid checksum digits",
                       f"{run_pk}/E5": "IBAN missing"}
    held = ledger.execute("SELECT error_text FROM transfer_log WHERE entity = 'payment_file' AND action = 'skipped'"
                          ).fetchone()[0]
    assert "2 payment(s) refused" in held and "DE89370400440532013001" not in held
    assert ledger.execute("SELECT count(*) FROM payment_file WHERE payer_iban = %s", (PAYER_A,)).fetchone()[0] == 0

    horizon.seed(payroll_payments=[{**PAYMENTS[1], "Run": run_pk},
                                   {"EmployeeCode": "E5", "EmployeeName": "Anna Kalniņa",
                                    "IBAN": "LV51PARX0012345670001", "NetAmount": "800.00", "PayerIBAN": PAYER_A,
                                    "Run": run_pk}])
    fixed, _ = run_dag_answering(DAG_ID, never_asked)

    assert fixed.state == "success", task_states(fixed)
    document = files(bank)[f"payroll_2026-10_run{run_pk}_{PAYER_A}_v1.xml"]
    try_valid_xml(document, "pain.001.001.03")
    assert (summary(document)["count"], summary(document)["sum"]) == (3, Decimal("3022.21"))
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_a_confirmation_writes_nothing_when_horizon_changed_again_after_the_question(payroll):
    ledger, horizon, bank, run_pk = payroll
    run_dag_answering(DAG_ID, never_asked)
    first = files(bank)
    horizon.seed(payroll_payments=[{**PAYMENTS[0], "Run": run_pk, "NetAmount": "1300.00"}])

    def changed_while_asking(asked):
        horizon.seed(payroll_payments=[{**PAYMENTS[0], "Run": run_pk, "NetAmount": "1400.00"}])
        return ["Write the new files"], {}

    run, asked = run_dag_answering(DAG_ID, changed_while_asking)

    assert run.state == "failed" and task_states(run)["write_confirmed_files"] == "failed"
    assert "2287.65" in asked[0]["body"], "the person saw the first change"
    assert files(bank) == first, "what the person did not see is not written"
    assert ledger.execute("SELECT max(version) FROM payment_file").fetchone()[0] == 1


def test_a_dry_run_names_every_file_it_would_write_hold_or_ask_for_and_writes_nothing(payroll):
    """A new run's file would be written, a paid account's unchanged file is already written, a bad IBAN would
    hold its file, changed payments of a paid account would need a confirmation: counted and listed, with no
    file, no ledger row and no question."""
    ledger, horizon, bank, run_pk = payroll
    run_dag_answering(DAG_ID, never_asked)
    written, ledger_before = files(bank), ledger_contents(ledger)
    horizon.seed(payroll_payments=[{**PAYMENTS[0], "Run": run_pk, "NetAmount": "1300.00"}])  # account A changed
    (new_pk,) = horizon.seed(payroll_runs=[{**RUN, "Period": "2026-11"}])["payroll_runs"]
    horizon.seed(payroll_payments=[{**PAYMENTS[0], "Run": new_pk}, {**PAYMENTS[2], "Run": new_pk, "IBAN": ""}])

    run, _ = run_dag_answering(DAG_ID, never_asked, {"dry_run": True})

    assert run.state == "success", task_states(run)
    counts = returned(run, "write_payment_files")
    assert (counts["created"], counts["unchanged"], counts["held"]) == (1, 1, 1), counts
    assert [item["key"] for item in counts["to_confirm"]] == [f"{run_pk}/{PAYER_A}"]
    assert task_states(run)["confirm_second_files"] == "skipped", "a dry run asks no one"
    assert files(bank) == written, "no file written"
    assert ledger_contents(ledger) == ledger_before, "no ledger row written"
