"""Flow B end to end: dag.test() against the Standard Books and Envoice simulators over HTTP, real ledger."""

from __future__ import annotations

import base64
import copy
import hashlib
import json

import pytest
import requests

from erpbridge.errors import ExternalSystemError
from include.simulators.envoice import DEMO_SEED as ENVOICE_DEMO
from include.simulators.envoice import minimal_pdf
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag, task_states

MASTER = "standardbooks_envoice_master_data"
DOCUMENTS = "envoice_standardbooks_purchase_documents"


@pytest.fixture
def flow(airflow_db, ledger, standard_books, envoice):
    standard_books.seed(**SB_DEMO)
    return ledger, standard_books, envoice


def sb_patch(standard_books, register: str, key: str, **fields) -> None:
    """Change a record in Standard Books as a user would (its own API, not our hook)."""
    creds = SECRETS["standard_books"]
    response = requests.patch(f"{standard_books.base}/api/{creds['company']}/{register}/{key}",
                              data={f"set_field.{k}": v for k, v in fields.items()},
                              auth=(creds["username"], creds["password"]), timeout=10)
    response.raise_for_status()


def expected_envoice(sb_state: dict) -> dict:
    """What Envoice must hold after a full send: Standard Books' suppliers, accounts, groups, dimensions."""
    return {
        "contacts": sorted((c["Code"], c["Name"], c["blockedFlag"] != "1") for c in sb_state["CUVc"]
                           if c["VEType"] == "1"),
        "accounts": sorted((a["AccNumber"], a["Comment"], a["blockedFlag"] != "1") for a in sb_state["AccVc"]),
        "dimension_groups": sorted((t["Code"], t["Comment"], True) for t in sb_state["OTVc"]),
        "dimensions": sorted((o["Code"], o["Comment"], o["Closed"] != "1") for o in sb_state["ObjVc"]),
    }


def envoice_holds(envoice) -> dict:
    state = envoice.state()
    return {kind: sorted((r["code"], r["name"], r["active"]) for r in state[kind])
            for kind in ("contacts", "accounts", "dimension_groups", "dimensions")}


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())


# --- master data --------------------------------------------------------------------------------

def test_send_all_makes_envoice_hold_exactly_the_master_data_and_twice_changes_nothing(flow):
    ledger, sb, envoice = flow
    run = run_dag(MASTER, {"mode": "send_all"})
    assert run.state == "success", task_states(run)
    assert envoice_holds(envoice) == expected_envoice(sb.state())
    state = envoice.state()
    assert next(a for a in state["accounts"] if a["code"] == "4999")["active"] is False  # blocked: inactive
    assert next(d for d in state["dimensions"] if d["code"] == "P099")["active"] is False  # closed: inactive
    assert {d["code"]: d["group_code"] for d in state["dimensions"]}["P100"] == "PRJ"
    contact = next(c for c in state["contacts"] if c["code"] == "2001")
    assert (contact["vat_number"], contact["email"], contact["address"]) == (
        "EE100000002", "arved@ehitusremont.ee", "Pärnu mnt 10, 10148 Tallinn, Estonia")

    run = run_dag(MASTER, {"mode": "send_all"})
    assert run.state == "success", task_states(run)
    assert envoice_holds(envoice) == expected_envoice(sb.state())  # updated in place, no duplicates


def test_a_changed_account_is_the_only_write_of_the_next_scheduled_run(flow):
    ledger, sb, envoice = flow
    assert run_dag(MASTER).state == "success"  # first scheduled run: no watermark yet, sends everything
    assert envoice_holds(envoice) == expected_envoice(sb.state())
    sb_patch(sb, "AccVc", "4100", Comment="Subcontracted services")
    since = envoice.last_seq()

    assert run_dag(MASTER).state == "success"
    writes = [(w["method"], w["path"]) for w in envoice.writes(since)]
    assert writes == [("PUT", "/api/v1/accounts/4100")]
    assert next(a for a in envoice.state()["accounts"] if a["code"] == "4100")["name"] == "Subcontracted services"

    since = envoice.last_seq()
    assert run_dag(MASTER).state == "success"
    assert envoice.writes(since) == []



def test_retry_records_sends_just_that_record_and_keeps_the_watermarks(flow):
    ledger, sb, envoice = flow
    assert run_dag(MASTER).state == "success"
    watermarks = ledger.execute("SELECT stream, value FROM watermark ORDER BY stream").fetchall()
    sb_patch(sb, "AccVc", "4100", Comment="Subcontracted services")
    sb_patch(sb, "AccVc", "4999", Comment="Not part of the retry")
    since = envoice.last_seq()

    run = run_dag(MASTER, {"retry_records": [{"entity": "account", "source_id": "4100"}]})  # the control room's
    assert run.state == "success", task_states(run)
    assert [(w["method"], w["path"]) for w in envoice.writes(since)] == [("PUT", "/api/v1/accounts/4100")]
    assert ledger.execute("SELECT stream, value FROM watermark ORDER BY stream").fetchall() == watermarks


def test_delete_and_resend_leaves_envoice_equal_to_standard_books(flow):
    ledger, sb, envoice = flow
    envoice.seed(contacts=[{"code": "OLD1", "name": "Gone supplier"}], accounts=[{"code": "9999", "name": "Old"}],
                 dimension_groups=[{"code": "OLDG", "name": "Old group"}],
                 dimensions=[{"code": "OLDD", "group_code": "OLDG", "name": "Old dimension"}])
    assert run_dag(MASTER, {"mode": "send_all"}).state == "success"
    sb.seed(AccVc=[{"AccNumber": "4400", "Comment": "Travel"}])

    run = run_dag(MASTER, {"mode": "delete_and_resend"})
    assert run.state == "success", task_states(run)
    assert envoice_holds(envoice) == expected_envoice(sb.state())
    deletes = [w for w in envoice.writes() if w["method"] == "DELETE"]
    assert "/api/v1/contacts/OLD1" in {w["path"] for w in deletes}

    since = envoice.last_seq()
    assert run_dag(MASTER).state == "success"  # the id map was rebuilt: the next run writes nothing
    assert envoice.writes(since) == []


def test_dry_run_writes_nothing_in_any_mode(flow):
    ledger, sb, envoice = flow
    envoice.seed(accounts=[{"code": "9999", "name": "Old"}])
    for mode in ("changed", "send_all", "delete_and_resend"):
        run = run_dag(MASTER, {"mode": mode, "dry_run": True})
        assert run.state == "success", task_states(run)
    assert envoice.writes() == []
    assert ledger.execute("SELECT count(*) FROM id_map").fetchone()[0] == 0
    assert ledger.execute("SELECT count(*) FROM watermark").fetchone()[0] == 0


# --- purchase documents -------------------------------------------------------------------------

def set_settings(monkeypatch, **settings) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_STANDARDBOOKS_ENVOICE", json.dumps(settings))


def incoming(sb_state: dict) -> dict[str, dict]:
    return {r["InvoiceNr"]: r for r in sb_state["EInvoiceInVc"]}


def test_published_documents_arrive_with_their_pdf_and_move_once(flow, monkeypatch):
    ledger, sb, envoice = flow
    set_settings(monkeypatch, auto_create_purchase_invoice=True)
    envoice.seed(**ENVOICE_DEMO)

    run = run_dag(DOCUMENTS)
    assert run.state == "success", task_states(run)
    state = sb.state()
    records = incoming(state)
    assert sorted(records) == ["ER-2024-117", "R-5531", "SÕJ-0042"]  # not the draft KT-889, not ER-2024-120
    invoice = records["ER-2024-117"]
    assert (invoice["SupplierCode"], invoice["InvDate"], invoice["DueDate"], invoice["CurncyCode"],
            invoice["TotSum"], invoice["VATSum"], invoice["DocType"], invoice["ExternalId"]) == (
        "2001", "2024-05-02", "2024-05-16", "EUR", "178.50", "28.50", "invoice", "envoice-1001")
    assert [(r["AccNumber"], r["Objects"], r["Sum"], r["VATCode"], r["VATSum"]) for r in invoice["rows"]] == [
        ("4100", "ADM,P100", "100.00", "24", "24.00"), ("4300", "SALES", "50.00", "9", "4.50")]
    assert "Project P100, see contract 7/2024" in invoice["Comment"]
    envoice_docs = {d["id"]: d for d in envoice.state()["documents"]}
    assert [a["sha256"] for a in invoice["attachments"]] == [envoice_docs[1001]["pdf_sha256"]]  # byte-identical
    assert records["R-5531"]["DocType"] == "receipt"

    purchase = {v["InvoiceNr"]: v for v in state["VIVc"]}
    assert sorted(purchase) == ["ER-2024-117", "SÕJ-0042"]  # invoices only; receipts stay in the register
    assert purchase["ER-2024-117"]["OKFlag"] == "0"
    assert purchase["ER-2024-117"]["EInvoiceSerNr"] == invoice["SerNr"]

    archive = {e["number"]: e for e in requests.get(
        f"{envoice.base}/api/v1/archive", headers={"Authorization": f"Bearer {SECRETS['envoice']['api_key']}"},
        timeout=10).json()["data"]}
    assert archive["ER-2024-117"]["transfer_status"] == "transferred"
    assert archive["ER-2024-117"]["transfer"]["erp_id"] == invoice["SerNr"]
    assert archive["KT-889"]["transfer_status"] == "not_transferred"
    assert archive["ER-2024-120"]["transfer_status"] == "not_transferred"

    sb_since, envoice_since = sb.last_seq(), envoice.last_seq()
    assert run_dag(DOCUMENTS).state == "success"
    assert sb.writes(sb_since) == [] and envoice.writes(envoice_since) == []

    envoice.admin("POST", "purchase-documents/1004/status", {"status": "published"})
    assert run_dag(DOCUMENTS).state == "success"
    assert sorted(incoming(sb.state())) == ["ER-2024-117", "ER-2024-120", "R-5531", "SÕJ-0042"]


def test_without_auto_create_no_purchase_invoice_and_dry_run_moves_nothing(flow):
    ledger, sb, envoice = flow
    envoice.seed(**ENVOICE_DEMO)
    assert run_dag(DOCUMENTS, {"dry_run": True}).state == "success"
    assert sb.writes() == [] and envoice.writes() == []
    assert run_dag(DOCUMENTS, {"document_numbers": ["SÕJ-0042"]}).state == "success"
    state = sb.state()
    assert sorted(incoming(state)) == ["SÕJ-0042"] and state["VIVc"] == []


def doc(doc_id: int, number: str, supplier: str = "2001", account: str = "4100", objects=("ADM",), **extra) -> dict:
    return {"id": doc_id, "number": number, "supplier": {"code": supplier, "name": f"Supplier {supplier}"},
            "issue_date": "2024-06-01", "due_date": "2024-06-15",
            "lines": [{"description": "Work", "account": account, "net": "100.00", "vat_rate": "24",
                       "dimensions": [{"group_code": "DEP", "code": c} for c in objects]}],
            "pdf_base64": base64.b64encode(minimal_pdf(number)).decode()} | extra


REFUSED = [
    doc(2001, "UNKNOWN-SUPPLIER", supplier="9999"),
    doc(2002, "UNKNOWN-ACCOUNT", account="4888"),
    doc(2003, "UNKNOWN-OBJECT", objects=("X1",)),
    doc(2004, "BAD-TOTAL", total="130.00"),
    doc(2005, "NO-PDF", pdf_base64=None),
    doc(2006, "NOT-A-PDF", pdf_base64=base64.b64encode(b"<html>not a pdf</html>").decode()),
]


def test_refusals_wait_in_quarantine_with_a_clear_reason_and_move_once_when_fixed(flow):
    ledger, sb, envoice = flow
    envoice.seed(documents=[*copy.deepcopy(REFUSED), doc(2010, "GOOD")])

    run = run_dag(DOCUMENTS)
    assert run.state == "success", task_states(run)
    assert sorted(incoming(sb.state())) == ["GOOD"]
    reasons = quarantine(ledger)
    assert reasons["UNKNOWN-SUPPLIER"] == "Supplier 9999 does not exist"  # Standard Books' own words
    assert reasons["UNKNOWN-ACCOUNT"] == "Account 4888 does not exist"
    assert reasons["UNKNOWN-OBJECT"] == "Object X1 does not exist"
    assert "totals do not add up" in reasons["BAD-TOTAL"] and "130.00" in reasons["BAD-TOTAL"]
    assert "no PDF" in reasons["NO-PDF"]
    assert "not a readable PDF" in reasons["NOT-A-PDF"]
    assert ledger.execute("SELECT count(*) FROM document_transfer WHERE stage <> 'done'").fetchone()[0] == 0

    # fix the data where it lives: Standard Books' registers, and the documents in Envoice
    sb.seed(CUVc=[{"Code": "9999", "Name": "New supplier OÜ", "VEType": "1"}],
            AccVc=[{"AccNumber": "4888", "Comment": "Consulting"}], ObjVc=[{"Code": "X1", "OTCode": "DEP"}])
    envoice.reset()
    envoice.configure(**SECRETS["envoice"])
    fixed = [doc(2001, "UNKNOWN-SUPPLIER", supplier="9999"), doc(2002, "UNKNOWN-ACCOUNT", account="4888"),
             doc(2003, "UNKNOWN-OBJECT", objects=("X1",)), doc(2004, "BAD-TOTAL"), doc(2005, "NO-PDF"),
             doc(2006, "NOT-A-PDF")]
    envoice.seed(documents=fixed)
    assert run_dag(DOCUMENTS).state == "success"
    assert run_dag(DOCUMENTS).state == "success"
    numbers = sorted(r["InvoiceNr"] for r in sb.state()["EInvoiceInVc"])
    assert numbers == sorted(["GOOD", *(d["number"] for d in fixed)])  # each exactly once
    assert quarantine(ledger) == {}
    assert all(d["status"] == "transferred" for d in envoice.state()["documents"])


def test_a_crash_after_the_post_is_resolved_by_lookup_never_a_second_post(flow):
    from erpbridge.engine.documents import DocumentTransfer
    from erpbridge.flows.standardbooks_envoice.settings import StandardBooksEnvoiceSettings
    from erpbridge.flows.standardbooks_envoice.sync import document_flow
    from erpbridge.hooks.envoice import EnvoiceHook
    from erpbridge.hooks.standard_books import StandardBooksHook
    from erpbridge.ledger.store import Ledger

    ledger_conn, sb, envoice = flow
    envoice.seed(documents=[doc(3001, "CRASH-1")])
    ledger = Ledger.connect("envoice_standardbooks_documents")
    ledger.migrate()
    hooks = EnvoiceHook("envoice_default"), StandardBooksHook("standard_books_default")
    flow_ = document_flow(StandardBooksEnvoiceSettings(), *hooks)
    real_post = flow_.target.post

    def post_then_crash(payload):
        real_post(payload)
        raise ExternalSystemError("Standard Books", "connection lost after the request was sent")

    flow_.target.post = post_then_crash
    with pytest.raises(ExternalSystemError):
        DocumentTransfer(flow_, ledger).run()
    assert ledger_conn.execute("SELECT stage FROM document_transfer").fetchone()[0] == "in_flight"

    result = DocumentTransfer(document_flow(StandardBooksEnvoiceSettings(), *hooks), ledger).run()
    ledger.close()
    assert result.counts["updated"] == 1  # adopted, not created
    records = sb.state()["EInvoiceInVc"]
    assert [r["InvoiceNr"] for r in records] == ["CRASH-1"]
    assert len(records[0]["attachments"]) == 1
    assert hashlib.sha256(minimal_pdf("CRASH-1")).hexdigest() == records[0]["attachments"][0]["sha256"]
    assert envoice.state()["documents"][0]["transfer"]["erp_id"] == records[0]["SerNr"]


def test_resend_redoes_one_transfer_without_a_second_record(flow):
    ledger, sb, envoice = flow
    envoice.seed(**ENVOICE_DEMO)
    assert run_dag(DOCUMENTS).state == "success"
    sb_since = sb.last_seq()
    run = run_dag(DOCUMENTS, {"resend": "SÕJ-0042"})
    assert run.state == "success", task_states(run)
    assert [w for w in sb.writes(sb_since) if w["method"] == "POST"] == []  # adopted: no post, no second PDF
    assert sorted(incoming(sb.state())) == ["ER-2024-117", "R-5531", "SÕJ-0042"]


def test_no_secret_in_logs_xcom_or_ledger(flow, capfd):
    import os
    import sqlite3
    from pathlib import Path

    from tests.conftest import SECRET_VALUES

    ledger, sb, envoice = flow
    envoice.seed(documents=[doc(4001, "SECRET-TEST"), doc(4002, "REFUSED", supplier="9999")])
    assert run_dag(MASTER, {"mode": "send_all"}).state == "success"
    assert run_dag(DOCUMENTS).state == "success"
    sb.configure(password="changed-elsewhere")
    assert run_dag(DOCUMENTS).state == "failed"  # auth refused: a system error, the task fails

    output = capfd.readouterr()
    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT value FROM xcom"))
    ledger_dump = " ".join(str(row) for table in ("transfer_log", "quarantine", "id_map", "document_transfer")
                           for row in ledger.execute(f"SELECT * FROM {table}"))
    assert "SECRET-TEST" in ledger_dump and "Invalid username or password" in output.out + output.err + logs
    for secret in SECRET_VALUES:
        for place, text in {"task output": output.out + output.err, "log files": logs, "xcom": xcoms,
                            "ledger": ledger_dump}.items():
            assert secret not in text, f"a secret appears in the {place}"
