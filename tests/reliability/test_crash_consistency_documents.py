"""Crash consistency of the Severa -> Netvisor document transfers (issue 7): the task process is killed
(SIGKILL) at random moments while Severa sales invoices, or travel invoices, move to Netvisor; after a clean
rerun every document exists exactly once in Netvisor, every Severa status was written back, and the ledger
says 'done' with the very Netvisor record that holds the document. `CRASH_TRIALS` scales it (make soak)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from erpbridge.hooks.netvisor import transaction_id_for
from erpbridge.ledger.store import Ledger
from tests.conftest import unthrottled
from tests.flows.dagrun import run_dag, task_states
from tests.reliability.kills import TRIALS, kill_mid_run, under_way
from tests.reliability.test_crash_consistency import _rows

PER_TRIAL = 2  # new documents ready before each trial, so every kill lands in a live transfer
ROOT = Path(__file__).resolve().parents[2]
# The task process: it imports first (while the previous trial runs), then waits for "go" and runs what the DAG's
# transfer_documents task runs (flows/severa_netvisor/document_tasks.py: the flow built from the default settings,
# then transfer_in_batches with the ledger). Airflow's own task start-up around it (~5 s a run) is left out: it
# would make each trial several times longer while holding nothing the kill could leave inconsistent. The clean
# rerun at the end is a whole DAG run.
CHILD = """
import sys
from erpbridge.catalog import FLOWS
from erpbridge.companies import company_flow
from erpbridge.engine.run_context import Scope
from erpbridge.flows.severa_netvisor.document_tasks import _build
from erpbridge.engine.batches import transfer_in_batches
from erpbridge.ledger.store import RunContext
kind, trial = sys.argv[1:3]
if sys.stdin.readline().strip() == "go":
    dag_id = next(flow.id for flow in FLOWS.values() if flow.family == "severa_netvisor" and flow.kind == kind)
    scope = Scope.of(company_flow(dag_id).scope())
    flow, section, _ = _build(scope, {}, {})
    ledger = scope.ledger(RunContext(dag_id, f"crash-trial-{trial}", "transfer_documents", 1))
    transfer_in_batches(flow, ledger, batch_size=section.batch_size)
"""


def task_process(kind: str, trial: int) -> subprocess.Popen:
    """A process that will run the transfer when told to; in its own session, so the kill takes all of it."""
    return subprocess.Popen([sys.executable, "-c", CHILD, kind, str(trial)], cwd=ROOT, env=os.environ,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, text=True)


@dataclass
class Flow:
    dag_id: str
    setup: Callable  # (severa, netvisor) -> None: the data every document needs
    documents: Callable  # (severa, first number, count) -> None: that many new documents, ready to move
    held: Callable  # netvisor -> [(document number, Netvisor key)]
    statuses: Callable  # severa -> {document number: Severa status}
    moved_status: str


def sales_setup(severa, netvisor) -> None:
    from tests.flows.test_severa_netvisor_sales_invoices import NETVISOR_SEED, severa_seed

    netvisor.seed(**NETVISOR_SEED)
    severa.seed(**severa_seed([]))


def sales_documents(severa, first: int, count: int) -> None:
    from tests.flows.test_severa_netvisor_sales_invoices import documents_seed, invoice, row

    invoices = [invoice(first + n, customer="1001" if n % 2 else "1002",
                        rows=[row("CONS-H", 1 + n % 3, 120.0), row("LIC-Y", 1, 1200.0)]) for n in range(count)]
    severa.seed(**documents_seed(invoices))


def travel_setup(severa, netvisor) -> None:
    from tests.flows.test_severa_netvisor_travel_invoices import severa_seed

    severa.seed(**severa_seed([]))
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1502", "1300"])


def travel_documents(severa, first: int, count: int) -> None:
    from tests.flows.test_severa_netvisor_travel_invoices import PROJECT, expense, travel

    made = [travel(first + n, first + n, expenses=[
        expense("1502", 1, 58.0, description="Per diem", guid=f"x5000000-0000-4000-8000-{2 * (first + n):012d}"),
        expense("1300", 10 + n, 0.59, project=PROJECT, description="Mileage",
                guid=f"x5000000-0000-4000-8000-{2 * (first + n) + 1:012d}")]) for n in range(count)]
    severa.seed(travelreimbursements=[t for t, _ in made],
                projecttravelexpenses=[e for _, lines in made for e in lines])


FLOWS = {
    "sales_invoices": Flow(
        "severa_netvisor_sales_invoices", sales_setup, sales_documents,
        lambda netvisor: [(i["number"], str(i["key"])) for i in netvisor.state()["sales_invoices"]],
        lambda severa: {str(i["number"]): i["status"]["name"] for i in severa.state()["invoices"]},
        "Invoice sent to Netvisor"),
    "travel_invoices": Flow(
        "severa_netvisor_travel_invoices", travel_setup, travel_documents,
        lambda netvisor: [(t["header"].rsplit(" ", 1)[-1], str(t["key"])) for t in netvisor.state()["trip_expenses"]],
        lambda severa: {str(t["number"]): t["travelReimbursementStatus"]["name"]
                        for t in severa.state()["travelreimbursements"]},
        "Transferred to Netvisor"),
}


def unfinished(ledger, flow: Flow, netvisor, severa) -> list[str]:
    """Where the kill left each unfinished document: its ledger stage, and whether Netvisor already held it
    (killed between the post and the ledger write) or Severa's status was already written back."""
    held = {number for number, _ in flow.held(netvisor)}
    statuses = flow.statuses(severa)
    return [f"{stage}{' (in Netvisor)' if stage == 'in_flight' and key in held else ''}"
            f"{' (Severa status written)' if statuses.get(key) == flow.moved_status else ''}"
            for key, stage in ledger.execute("SELECT source_key, stage FROM document_transfer WHERE stage <> 'done'")]


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_kill_9_during_a_severa_netvisor_transfer_leaves_one_document_each_and_every_status_written_back(
        kind, airflow_db, ledger, severa, netvisor, monkeypatch):
    flow = FLOWS[kind]
    unthrottled(severa, monkeypatch)
    flow.setup(severa, netvisor)
    netvisor.faults(latency_ms=120)  # spread the transfer over seconds so the kills land inside it
    severa.faults(latency_ms=40)
    migrator = Ledger.connect("-")  # what the DAG's first task does
    migrator.migrate()
    migrator.close()
    rng = random.Random(f"{kind}-20261123")
    kills, caught = 0, Counter()
    ready = task_process(kind, 0)
    for trial in range(TRIALS):
        flow.documents(severa, 30000 + trial * PER_TRIAL, PER_TRIAL)
        proc, ready = ready, task_process(kind, trial + 1)  # the next trial's process warms up meanwhile
        known = _rows(ledger)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        # the two documents take ~1 s from the first one in flight
        if kill_mid_run(proc, under_way(proc, lambda: _rows(ledger) > known), rng, 0.9):
            kills += 1
            caught.update(unfinished(ledger, flow, netvisor, severa))
    ready.stdin.close()
    ready.wait()
    netvisor.admin("DELETE", "faults")
    severa.admin("DELETE", "faults")

    rerun = run_dag(flow.dag_id)

    assert rerun.state == "success", task_states(rerun)
    assert kills >= 1 and caught, "no kill caught a document mid-transfer: the test proved nothing"
    numbers = {str(30000 + n) for n in range(TRIALS * PER_TRIAL)}
    held = flow.held(netvisor)
    assert Counter(number for number, _ in held) == Counter(numbers), "a duplicate or a missing document"
    assert flow.statuses(severa) == {n: flow.moved_status for n in numbers}, "a status write-back was lost"
    key_by_number = dict(held)
    # a travel expense whose answer a kill lost is found again by its TransactionId: the ledger names that
    adopted = {f"transaction:{transaction_id_for(t['description'])}": str(t["key"])
               for t in netvisor.state()["trip_expenses"]}
    stages = [(key, stage, adopted.get(target, target)) for key, stage, target in
              ledger.execute("SELECT source_key, stage, target_id FROM document_transfer").fetchall()]
    assert sorted(stages) == sorted((n, "done", key_by_number[n]) for n in numbers), \
        "the ledger does not agree with Netvisor"
    print(f"crash trials {kind}: {TRIALS}, killed mid-run: {kills}, documents left unfinished by the kills (by"
          f" ledger stage): {dict(caught)}")
