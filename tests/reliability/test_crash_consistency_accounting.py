"""Exactly once under kill -9: the export's process is killed (SIGKILL) right after its file is in the folder
while the hub cannot be marked yet, while the mark is on its way (the hub acts, the ledger never hears), and at
random moments; after a clean DAG run every document is in exactly one file, marked in the hub with that file's
name, and 'done' in the ledger. ``CRASH_TRIALS`` scales the random part (make soak)."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.accounting_exchange.test_saldeo_accounting_export import (  # noqa: F401 (fixtures)
    configure, destination, hub_seed, run)
from tests.reliability.kills import TRIALS
from tests.saldeo import saldeo  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
SYNC = "/api/xml/1.13/document/sync"
# What the DAG's export_documents task runs, without Airflow's task start-up: it imports first, then waits for
# "go" so that the kill lands in the export itself.
CHILD = """
import json, os, sys
from erpbridge import settings
from erpbridge.flows.accounting_exchange.export import export
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings
from erpbridge.hooks.saldeo import SaldeoHook
from erpbridge.ledger.store import Ledger, RunContext
config = settings.parse(AccountingExportSettings, json.loads(os.environ["AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING"]), "env")
print("ready", flush=True)
if sys.stdin.readline().strip() == "go":
    flow = "saldeo_accounting_export"
    ledger = Ledger.connect(flow, RunContext(flow, "crash-" + sys.argv[1], "export_documents", 1))
    ledger.migrate()
    export(config, ledger, SaldeoHook(), "erpbridge_saldeo_accounting")
"""


def task_process(trial: str) -> subprocess.Popen:
    """The export in a process of its own session, imported and told to go."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, trial], cwd=ROOT, env=os.environ, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    return proc


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def kill_when(proc: subprocess.Popen, condition, delay: float = 0.0, timeout: float = 60) -> bool:
    """SIGKILL the process ``delay`` seconds after ``condition()`` holds; False when the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            time.sleep(delay)
            kill(proc)
            return True
        time.sleep(0.005)
    proc.wait()
    return False


def exported(folder: Path) -> dict[str, list[str]]:
    """Document number -> the files holding it, read from the EPP headers (field 7, the full number)."""
    holders: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.epp")):
        lines = path.read_bytes().decode("cp1250").split("\r\n")
        for label, row in zip(lines, lines[1:]):
            fields = next(csv.reader([row]))
            if label == "[NAGLOWEK]" and len(fields) > 1:  # a document's header, not a card section's keyword
                holders.setdefault(fields[6], []).append(path.name)
    return holders


def assert_each_document_once(saldeo, ledger, folder: Path, numbers: set[str]) -> None:
    holders = exported(folder)
    assert {n: len(files) for n, files in holders.items()} == {n: 1 for n in numbers}
    documents = {str(d["document_id"]): d for d in saldeo.state()["documents"]}
    assert not [d for d in documents.values() if d["ready"]], "a document was left unmarked in the hub"
    for number, [name] in holders.items():
        assert [d["account_number"] for d in documents.values() if d["number"] == number] == [name]
    assert {stage for (stage,) in ledger.execute("SELECT stage FROM document_transfer")} == {"done"}
    assert not list(folder.glob(".*.tmp")), "a temporary file was left in the folder"


def test_killed_after_the_file_while_the_hub_cannot_be_marked(airflow_db, ledger, saldeo, configure, destination,
                                                              monkeypatch):
    saldeo.seed(documents=[hub_seed(6001), hub_seed(6002)])
    saldeo.faults(respond={"path": SYNC, "status": 503, "count": 1000, "body": "down"})
    conn = json.loads(os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps({**conn, "extra": {**conn["extra"], "backoff": 2}}))
    assert kill_when(task_process("a"), lambda: any(destination.glob("*.epp")))
    assert [d["ready"] for d in saldeo.state()["documents"]] == [True, True]  # in a file, not marked
    saldeo.admin("DELETE", "faults")
    monkeypatch.setenv("AIRFLOW_CONN_SALDEO_DEFAULT", json.dumps(conn))
    run()
    assert_each_document_once(saldeo, ledger, destination, {"FV 6001/01/2026", "FV 6002/01/2026"})


def test_killed_while_the_mark_is_on_its_way(airflow_db, ledger, saldeo, configure, destination):
    saldeo.seed(documents=[hub_seed(6101)])
    saldeo.configure(hold_seconds=1.0)  # every call is held: the kill lands inside the sync call
    assert kill_when(task_process("b"), lambda: any(destination.glob("*.epp")), delay=0.4)
    time.sleep(1.5)  # the hub finishes the call nobody waits for
    assert [d["ready"] for d in saldeo.state()["documents"]] == [False]
    saldeo.configure(hold_seconds=0)
    run()
    assert_each_document_once(saldeo, ledger, destination, {"FV 6101/01/2026"})
    assert len(list(destination.glob("*.epp"))) == 1


def left_by_the_kill(saldeo, ledger, saldeo_ids: list[str]) -> str:
    """Where a trial's documents were when the process died."""
    rows = dict(ledger.execute(
        "SELECT d.source_id, CASE WHEN d.stage = 'done' THEN 'done' WHEN f.written_at IS NULL THEN 'file recorded,"
        " not written' ELSE 'file written, not marked' END FROM document_transfer d JOIN accounting_export_file f"
        " ON f.company = d.company AND f.flow = d.flow AND f.file_name = d.target_id WHERE d.source_id = ANY(%s)",
        (saldeo_ids,)).fetchall())
    marked = {str(d["document_id"]) for d in saldeo.state()["documents"] if not d["ready"]}
    states = {rows.get(i, "not in a file") + (" (hub marked)" if i in marked and rows.get(i) != "done" else "")
              for i in saldeo_ids}
    return " / ".join(sorted(states))


def test_killed_at_random_moments(airflow_db, ledger, saldeo, configure, destination):
    rng = random.Random(17)
    numbers: set[str] = set()
    left: Counter[str] = Counter()
    saldeo.configure(hold_seconds=0.05)
    run(dry_run=True)  # the ledger's tables exist even when the first kill lands before the export migrates them
    for trial in range(TRIALS):
        new = [hub_seed(7000 + trial * 3 + i) for i in range(3)]
        saldeo.seed(documents=new)
        numbers |= {d["number"] for d in new}
        proc = task_process(f"r{trial}")
        time.sleep(rng.uniform(0.0, 0.6))
        kill(proc)
        left[left_by_the_kill(saldeo, ledger, [str(d["document_id"]) for d in new])] += 1
    saldeo.configure(hold_seconds=0)
    run()
    assert_each_document_once(saldeo, ledger, destination, numbers)
    print(f"accounting export, {TRIALS} kills left: {dict(left)}")
