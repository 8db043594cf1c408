"""Fault soak for the flows beyond flow A (issue 7): flow B master data (send_all, then changed), flow B
purchase documents, and Severa -> Netvisor sales invoices (the other flows: test_fault_soak_more_flows.py).
With ~20% of the simulators' answers faulty (5xx, 429 with and without Retry-After, timeouts, connection
resets, half bodies; Netvisor TECHNICAL_ERROR / SYSTEM_MAINTANANCE), runs repeated until one succeeds leave
each target exactly equal to the fault-free result: no duplicate, nothing missing, and the failed attempts
in the transfer log. Small by default; `SOAK_RECORDS` scales every size (make soak)."""

from __future__ import annotations

import base64
import copy
import json
import os
from collections import Counter

import requests

from include.simulators.envoice import minimal_pdf
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.conftest import SECRETS
from tests.flows.dagrun import run_dag

SCALE = int(os.environ.get("SOAK_RECORDS", "300"))
# Sizes: a send_all run rewrites every record and fails on the first record whose three write attempts all
# fail (~0.5% of records under these faults), so it cannot converge for much more than ~300 records a run.
# A document run goes on past a document whose write failed (logged as failed; the task fails at the end) and
# stops only after 3 failures in a row, so most runs move most of what is left; the run cap still grows with
# the count, as it must if a run stopped at its first failure.
MASTER_RECORDS = max(10, SCALE // 30)   # per register: suppliers, accounts, dimensions
DOCUMENTS = max(6, SCALE // 60)
INVOICES = max(8, SCALE // 60)
MAX_RUNS = 30
# Each draw: reset 3%, timeout 3%, 429 5% (with/without Retry-After by flow), 5xx 5%, half body 4%: ~20%.
FAULTS = {"error_rate": 0.05, "rate_429": 0.05, "timeout_rate": 0.03, "timeout_seconds": 1.5, "reset_rate": 0.03,
          "malformed_rate": 0.04}


def fast_retry(monkeypatch, name: str, conn: dict) -> None:
    """The connection with short timeouts and few attempts, so faults reach the task and force reruns."""
    conn = copy.deepcopy(conn)
    conn["extra"] = {**conn.get("extra", {}), "backoff": 0.02, "attempts": 3, "timeout": 1, "rate_per_second": 0}
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps(conn))


def fast_severa(monkeypatch, severa) -> None:
    creds = SECRETS["severa"]
    fast_retry(monkeypatch, "severa_default", {"conn_type": "severa", "host": f"{severa.base}/rest-api",
                                               "login": creds["client_id"], "password": creds["client_secret"]})


def fast_netvisor(monkeypatch, netvisor) -> None:
    nv = SECRETS["netvisor"]
    fast_retry(monkeypatch, "netvisor_default", {
        "conn_type": "netvisor", "host": netvisor.base, "login": nv["customer_id"], "password": nv["customer_key"],
        "extra": {"sender": "erpbridge tests", "partner_id": nv["partner_id"], "partner_key": nv["partner_key"],
                  "organisation_id": nv["organisation_id"], "language": "FI"}})


def until_success(dag_id: str, conf: dict | None = None, max_runs: int = MAX_RUNS, run=run_dag) -> list[str]:
    """Runs (``run(dag_id, conf)``, returning the DagRun) until one succeeds; their states."""
    states = []
    for _ in range(max_runs):
        states.append(str(run(dag_id, conf).state))
        if states[-1] == "success":
            break
    assert states[-1] == "success", f"{dag_id}: no successful run in {max_runs}: {states}"
    return states


def failed_attempts(ledger, flow: str | None = None) -> int:
    if flow is None:
        return ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'failed'").fetchone()[0]
    return ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'failed' AND flow = %s",
                          (flow,)).fetchone()[0]


def no_duplicates(rows, key) -> Counter:
    counts = Counter(key(r) for r in rows)
    assert [k for k, n in counts.items() if n > 1] == [], "duplicates in the target"
    return counts


# --- flow B: master data ---------------------------------------------------------------------------

def sb_master(count: int) -> dict:
    seed = copy.deepcopy(SB_DEMO)
    seed["CUVc"] += [{"Code": f"3{i:04d}", "Name": f"Soak tarnija {i} & Pojad OÜ", "VEType": "1", "CUType": "0",
                      "eMail": f"s{i}@soak.example", "blockedFlag": "1" if i % 17 == 0 else "0"} for i in range(count)]
    seed["AccVc"] += [{"AccNumber": f"6{i:03d}", "Comment": f"Soak account {i}", "AccType": "4"} for i in range(count)]
    seed["ObjVc"] += [{"Code": f"S{i}", "Comment": f"Soak object {i}", "OTCode": "PRJ"} for i in range(count)]
    return seed


def envoice_master(envoice) -> dict:
    state = envoice.state()
    held = {}
    for kind in ("contacts", "accounts", "dimension_groups", "dimensions"):
        no_duplicates(state[kind], lambda r: r["code"])
        held[kind] = sorted((r["code"], r["name"], r["active"]) for r in state[kind])
    return held


def expected_master(sb_state: dict) -> dict:
    return {
        "contacts": sorted((c["Code"], c["Name"], c.get("blockedFlag", "0") != "1") for c in sb_state["CUVc"]
                           if c["VEType"] == "1"),
        "accounts": sorted((a["AccNumber"], a["Comment"], a.get("blockedFlag", "0") != "1") for a in sb_state["AccVc"]),
        "dimension_groups": sorted((t["Code"], t["Comment"], True) for t in sb_state["OTVc"]),
        "dimensions": sorted((o["Code"], o["Comment"], o.get("Closed", "0") != "1") for o in sb_state["ObjVc"]),
    }


def test_flow_b_master_data_under_faults_converges_to_the_fault_free_result(airflow_db, ledger, standard_books,
                                                                             envoice, monkeypatch):
    creds = SECRETS["standard_books"]
    fast_retry(monkeypatch, "standard_books_default", {
        "conn_type": "standard_books", "host": standard_books.base, "login": creds["username"],
        "password": creds["password"], "extra": {"company": creds["company"]}})
    fast_retry(monkeypatch, "envoice_default", {"conn_type": "envoice", "host": envoice.base,
                                                "password": SECRETS["envoice"]["api_key"]})
    standard_books.seed(**sb_master(MASTER_RECORDS))
    standard_books.faults(**FAULTS, retry_after=0.1, error_category="20", seed=21)
    envoice.faults(**FAULTS, seed=22)  # 429 without Retry-After here

    send_all = until_success("standardbooks_envoice_master_data", {"mode": "send_all"})
    assert envoice_master(envoice) == expected_master(standard_books.state())

    # then a user changes a tenth of the accounts (faults off: that is the user's request, not ours) and the
    # scheduled runs ("changed") follow, under faults again
    standard_books.admin("DELETE", "faults")
    changed = list(range(0, MASTER_RECORDS, 10))
    for i in changed:
        requests.patch(f"{standard_books.base}/api/{creds['company']}/AccVc/6{i:03d}",
                       data={"set_field.Comment": f"Soak account {i} (renamed)"},
                       auth=(creds["username"], creds["password"]), timeout=10).raise_for_status()
    standard_books.faults(**FAULTS, retry_after=0.1, error_category="20", seed=23)
    changed_runs = until_success("standardbooks_envoice_master_data", {"mode": "changed"})
    standard_books.admin("DELETE", "faults")
    envoice.admin("DELETE", "faults")

    assert envoice_master(envoice) == expected_master(standard_books.state())
    assert {a[1] for a in envoice_master(envoice)["accounts"]} >= {f"Soak account {i} (renamed)" for i in changed}
    since = envoice.last_seq()
    assert run_dag("standardbooks_envoice_master_data").state == "success"
    assert envoice.writes(since) == [], "a fault-free rerun still had something to write: the state diverged"
    failed = failed_attempts(ledger)
    assert failed >= 1, "failed write attempts left no trace in the transfer log"
    print(f"soak flow B master: {MASTER_RECORDS}/register, runs {send_all} then {changed_runs}, failed logged {failed}")


# --- flow B: purchase documents -----------------------------------------------------------------------

def document(doc_id: int) -> dict:
    number = f"SOAK-{doc_id}"
    return {"id": doc_id, "number": number, "supplier": {"code": "2001", "name": "Supplier 2001"},
            "issue_date": "2024-06-01", "due_date": "2024-06-15",
            "lines": [{"description": f"Work {doc_id} <&>", "account": "4100", "net": "100.00", "vat_rate": "24",
                       "dimensions": [{"group_code": "DEP", "code": "ADM"}]}],
            "pdf_base64": base64.b64encode(minimal_pdf(number)).decode()}


def test_flow_b_purchase_documents_under_faults_move_each_document_exactly_once(airflow_db, ledger, standard_books,
                                                                                envoice, monkeypatch):
    creds = SECRETS["standard_books"]
    fast_retry(monkeypatch, "standard_books_default", {
        "conn_type": "standard_books", "host": standard_books.base, "login": creds["username"],
        "password": creds["password"], "extra": {"company": creds["company"]}})
    fast_retry(monkeypatch, "envoice_default", {"conn_type": "envoice", "host": envoice.base,
                                                "password": SECRETS["envoice"]["api_key"]})
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_STANDARDBOOKS_ENVOICE",
                       json.dumps({"auto_create_purchase_invoice": True}))
    standard_books.seed(**SB_DEMO)
    envoice.seed(documents=[document(7000 + i) for i in range(DOCUMENTS)])
    standard_books.faults(**FAULTS, error_category="20", seed=31)  # 429 without Retry-After
    envoice.faults(**FAULTS, retry_after=0.1, seed=32)

    states = until_success("envoice_standardbooks_purchase_documents", max_runs=MAX_RUNS + 2 * DOCUMENTS)
    standard_books.admin("DELETE", "faults")
    envoice.admin("DELETE", "faults")
    assert run_dag("envoice_standardbooks_purchase_documents").state == "success"  # fault-free: settles nothing new

    expected = {f"SOAK-{7000 + i}" for i in range(DOCUMENTS)}
    state = standard_books.state()
    incoming = no_duplicates(state["EInvoiceInVc"], lambda r: r["InvoiceNr"])
    assert set(incoming) == expected, "missing or extra documents"
    assert all(len(r["attachments"]) == 1 for r in state["EInvoiceInVc"]), "a PDF attached twice or not at all"
    purchase = no_duplicates(state["VIVc"], lambda r: r["InvoiceNr"])
    assert set(purchase) == expected, "missing or extra purchase invoices"
    key_by_number = {r["InvoiceNr"]: str(r["SerNr"]) for r in state["EInvoiceInVc"]}
    documents = {d["number"]: d for d in envoice.state()["documents"]}
    assert all(documents[n]["status"] == "transferred" and str(documents[n]["transfer"]["erp_id"]) == key
               for n, key in key_by_number.items()), "a status write-back lost or pointing elsewhere"
    assert ledger.execute("SELECT count(*) FROM document_transfer WHERE stage <> 'done'").fetchone()[0] == 0
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    failed = failed_attempts(ledger)
    assert failed >= 1, "failed attempts left no trace in the transfer log"
    print(f"soak flow B documents: {DOCUMENTS}, runs {states}, failed logged {failed}")


# --- Severa -> Netvisor sales invoices ------------------------------------------------------------------

def test_sales_invoices_under_faults_arrive_once_each_and_all_are_marked_sent(airflow_db, ledger, severa, netvisor,
                                                                             monkeypatch):
    from tests.flows.test_severa_netvisor_sales_invoices import (NETVISOR_SEED, invoice, netvisor_invoices,
                                                                 row, sent, severa_seed)

    severa.configure(rate_limit_per_second=1000)
    fast_severa(monkeypatch, severa)
    fast_netvisor(monkeypatch, netvisor)
    netvisor.seed(**NETVISOR_SEED)
    invoices = [invoice(20000 + n, customer="1001" if n % 2 else "1002",
                        rows=[row("CONS-H", 1 + n % 5, 120.0), row("LIC-Y", 1, 1200.0 + n)]) for n in range(INVOICES)]
    invoices.append(invoice(29999, customer="1003"))  # refused by Netvisor every time: quarantined, not retried
    severa.seed(**severa_seed(invoices))
    # Netvisor: a maintenance window first (SYSTEM_MAINTANANCE), then random TECHNICAL_ERRORs and the rest;
    # its 429s carry Retry-After, Severa's do not
    netvisor.faults(**FAULTS, retry_after=0.1, error_category="TECHNICAL_ERROR", seed=41,
                    next_n={"count": 4, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "maintenance"})
    severa.faults(**FAULTS, error_category="InternalServerError", seed=42)

    states = until_success("severa_netvisor_sales_invoices", max_runs=MAX_RUNS + 2 * INVOICES)
    netvisor.admin("DELETE", "faults")
    severa.admin("DELETE", "faults")
    assert run_dag("severa_netvisor_sales_invoices").state == "success"

    expected = {str(20000 + n) for n in range(INVOICES)}
    held = netvisor.state()["sales_invoices"]
    no_duplicates(held, lambda i: i["number"])
    by_number = netvisor_invoices(netvisor)
    assert set(by_number) == expected, "missing or extra sales invoices"
    for n in range(INVOICES):
        amount = (120 * (1 + n % 5) + 1200 + n) * 1.255
        assert by_number[str(20000 + n)]["amount"] == f"{amount:.2f}"
    marks = {str(number): status for number, status in sent(severa).items()}
    assert {k: v for k, v in marks.items() if k in expected} == {k: "Invoice sent to Netvisor" for k in expected}
    assert marks["29999"] == "Ready to be sent to Netvisor"
    assert set(dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())) == {"29999"}
    assert ledger.execute("SELECT count(*) FROM document_transfer WHERE stage NOT IN ('done')"
                          " AND source_key <> %s", ("29999",)).fetchone()[0] == 0
    failed = failed_attempts(ledger)
    assert failed >= 1, "failed attempts left no trace in the transfer log"
    print(f"soak sales invoices: {INVOICES}, runs {states}, failed logged {failed}")
