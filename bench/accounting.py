"""P8 (issue 17): the accounting export at volume. Figures, never pass/fail.

    python -m bench.accounting                   # 10,000 documents (the goal: <= 10 s, <= 200 MB)
    python -m bench.accounting --documents 2000

`documents` cost invoices (two VAT rows each) marked for export in the SaldeoSMART simulator, then one run of the
export as the DAG's task runs it (in this process, without Airflow's task start-up): the hub's list read, every
document mapped, the EPP file recorded in the ledger, written, and every document marked in the hub. Reported:
the run's seconds, the process's resident memory before it and at its peak, the file's size. Figures also go to
bench/results/accounting.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench.env import RESULTS, World, cores, setup_airflow_env

CHUNK = 1000
COMPANY = "BENCH-1"
USER, TOKEN = "bench", "bench-saldeo-token"


def resident_mb() -> float:
    """The process's resident set now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed(world: World, count: int) -> None:
    from include.simulators.client import SimulatorAdmin

    hub = SimulatorAdmin(world.urls["saldeo"], timeout=600)
    hub.configure(users={USER: TOKEN})
    hub.seed(companies=[{"program_id": COMPANY, "name": "Bench Sp. z o.o."}])
    started = time.perf_counter()
    for at in range(0, count, CHUNK):
        hub.seed(documents=[{
            "company_program_id": COMPANY, "document_id": 100000 + i, "number": f"FV {i}/2026", "model_type": "INVOICE_COST",
            "issue_date": f"2026-01-{1 + i % 28:02d}", "category": "Usługi",
            "contractor": {"contractor_program_id": f"K-{i % 500}", "short_name": f"Dostawca {i % 500}",
                           "vat_number": "5252344078", "city": "Łódź"},
            "vat_rows": [{"rate": "23", "net": "100.00", "vat": "23.00"}, {"rate": "8", "net": "10.00", "vat": "0.80"}]}
            for i in range(at, min(at + CHUNK, count))])
    print(f"  seeded {count} documents in {time.perf_counter() - started:.1f} s", flush=True)


def export_once(world: World, destination: str) -> dict:
    from erpbridge.flows.accounting_exchange.export import export
    from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings
    from erpbridge.hooks.saldeo import SaldeoHook
    from erpbridge.ledger.store import Ledger

    os.environ["AIRFLOW_CONN_SALDEO_DEFAULT"] = json.dumps(
        {"conn_type": "saldeo", "host": world.urls["saldeo"], "login": USER, "password": TOKEN})
    settings = AccountingExportSettings(company_program_id=COMPANY, destination=destination,
                                        accounts={"Usługi": "402"})
    ledger = Ledger.connect("saldeo_accounting_export")
    before = resident_mb()
    started = time.perf_counter()
    try:
        counts = export(settings, ledger, SaldeoHook("saldeo_default"), "erpbridge_saldeo_accounting")
    finally:
        ledger.close()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in Path(destination).glob("*.epp"))
    return {"exported": counts["exported"], "seconds": round(seconds, 2), "rss_before_mb": round(before),
            "rss_peak_mb": round(peak), "file_mb": round(size / 2**20, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accounting", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10000)
    args = parser.parse_args(argv)
    home = setup_airflow_env()
    print(f"erpbridge bench P8 ({cores()}, python {sys.version.split()[0]})", flush=True)
    world = World(home)
    try:
        world.start_postgres()
        world.start_simulators(("saldeo",))
        world.fresh_ledger()
        seed(world, args.documents)
        with tempfile.TemporaryDirectory(prefix="erpbridge-p8-") as destination:
            result = {"documents": args.documents, **export_once(world, destination)}
    finally:
        world.stop()
    print(f"  export: {json.dumps(result)}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accounting.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
