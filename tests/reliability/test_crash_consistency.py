"""Crash consistency of a document transfer: the task process is killed (SIGKILL) at random moments
while Envoice documents move to Standard Books; after a clean rerun every document exists exactly once
with one PDF, Envoice knows each transfer, and the ledger agrees with both. `CRASH_TRIALS` scales it."""

from __future__ import annotations

import base64
import random
from collections import Counter

from include.simulators.envoice import minimal_pdf
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.flows.dagrun import run_dag
from tests.reliability.kills import TRIALS, dags_test, kill_mid_run, under_way

DAG_ID = "envoice_standardbooks_purchase_documents"
PER_TRIAL = 2  # new documents published before each trial, so every kill lands in a live transfer


def document(doc_id: int) -> dict:
    number = f"KILL-{doc_id}"
    return {"id": doc_id, "number": number, "supplier": {"code": "2001", "name": "Supplier 2001"},
            "issue_date": "2024-06-01", "due_date": "2024-06-15",
            "lines": [{"description": "Work", "account": "4100", "net": "100.00", "vat_rate": "24",
                       "dimensions": [{"group_code": "DEP", "code": "ADM"}]}],
            "pdf_base64": base64.b64encode(minimal_pdf(number)).decode()}


def _rows(ledger) -> int:
    return ledger.execute("SELECT count(*) FROM document_transfer").fetchone()[0]


def test_kill_9_at_random_points_leaves_no_duplicate_and_no_lost_write_back(airflow_db, ledger, standard_books,
                                                                            envoice):
    standard_books.seed(**SB_DEMO)
    standard_books.faults(latency_ms=120)  # spread the transfer over seconds so the kills land inside it
    envoice.faults(latency_ms=60)
    rng = random.Random(20261123)
    kills = 0
    for trial in range(TRIALS):
        envoice.seed(documents=[document(6000 + trial * PER_TRIAL + i) for i in range(PER_TRIAL)])
        known = _rows(ledger) if trial else 0
        proc = dags_test(DAG_ID)
        kills += kill_mid_run(proc, under_way(proc, lambda: _rows(ledger) > known), rng, 1.5)
    standard_books.admin("DELETE", "faults")
    envoice.admin("DELETE", "faults")

    assert run_dag(DAG_ID).state == "success"

    assert kills >= 1, "no trial was killed mid-run: the test proved nothing"
    records = standard_books.state()["EInvoiceInVc"]
    numbers = Counter(r["InvoiceNr"] for r in records)
    assert numbers == Counter(f"KILL-{6000 + i}" for i in range(TRIALS * PER_TRIAL)), "a duplicate or a missing document"
    assert all(len(r["attachments"]) == 1 for r in records), "a PDF attached twice or not at all"
    key_by_number = {r["InvoiceNr"]: str(r["SerNr"]) for r in records}
    transfers = {d["number"]: d["transfer"] for d in envoice.state()["documents"]}
    assert all(transfers[n] and str(transfers[n]["erp_id"]) == key for n, key in key_by_number.items()), \
        "a status write-back was lost or points at another record"
    stages = ledger.execute("SELECT source_key, stage, target_id FROM document_transfer").fetchall()
    assert {(n, "done", key_by_number[n]) for n, _, _ in stages} == set(stages)
    print(f"crash trials: {TRIALS}, killed mid-run: {kills}")
