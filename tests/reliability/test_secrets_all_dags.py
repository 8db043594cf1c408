"""Issue 7, secrets: every DAG in dags/ runs once against the seeded simulators (one run fails on purpose on
a refused credential, so the error paths log too), then all task output, the Airflow log files, every XCom
and every ledger table are searched for each secret the connections hold (SECRET_VALUES): none may appear.

horizon_ad_accounts needs a Samba AD domain controller, which only the identity suite starts: it is left out
here, and its secrets are checked there (tests/identity/test_horizon_ad_accounts.py, the run's output and
logs). A DAG added to dags/ without a run here fails this test until it is added or explicitly left out."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
from datetime import date
from pathlib import Path

from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.conftest import SECRET_VALUES, SECRETS
from tests.eservice import API_KEY as ESERVICE_KEY
from tests.eservice import eservice  # noqa: F401 (fixture)
from tests.flows.dagrun import DAGS, run_dag, task_states
from tests.flows.hitl import run_dag_answering
from tests.saldeo import TOKEN as SALDEO_TOKEN
from tests.saldeo import USER as SALDEO_USER
from tests.saldeo import saldeo  # noqa: F401 (fixture)

LEFT_OUT = {"horizon_ad_accounts": "needs the Samba AD of the identity suite; its secrets are checked there"}


def fresh(sim, name: str) -> None:
    sim.reset()
    sim.configure(**SECRETS[name])


def test_no_secret_in_any_dags_output_logs_xcom_or_ledger(airflow_db, ledger, netvisor, severa, standard_books,
                                                         envoice, horizon, woocommerce, fakturownia, saldeo,
                                                         eservice, weighing, tmp_path, monkeypatch, capfd):
    from tests.flows import test_netvisor_severa_purchase_invoices as purchases
    from tests.flows import test_severa_netvisor_hours as hours
    from tests.flows import test_severa_netvisor_sales_invoices as sales
    from tests.flows import test_severa_netvisor_travel_invoices as travel
    from tests.flows.test_horizon_payroll_time_import import ABSENCES, CSV, EMPLOYEES, PERIOD
    from tests.flows.test_standardbooks_envoice import doc

    creds = SECRETS["severa"]
    monkeypatch.setenv("AIRFLOW_CONN_SEVERA_DEFAULT", json.dumps({
        "conn_type": "severa", "host": f"{severa.base}/rest-api", "login": creds["client_id"],
        "password": creds["client_secret"], "extra": {"backoff": 0.05, "timeout": 10, "rate_per_second": 0}}))
    states: dict[str, list[str]] = {}

    def ran(dag_id: str, run, expected: str = "success") -> None:
        assert run.state == expected, f"{dag_id}: {task_states(run)}"
        states.setdefault(dag_id, []).append(str(run.state))

    def severa_with(seed: dict) -> None:
        fresh(severa, "severa")
        severa.configure(rate_limit_per_second=1000)
        severa.seed(**seed)

    # flow A: registers, with a refused record and a maintenance window (retried)
    severa_with({"customers": [{"number": 1001, "name": "Visible Oy"}, {"number": -2, "name": "Refused Oy"}],
                 "businessunits": [{"name": "Helsinki", "code": "HEL"}]})
    netvisor.faults(next_n={"count": 2, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "maintenance"})
    ran("severa_netvisor_registers", run_dag("severa_netvisor_registers"))

    # Severa -> Netvisor documents
    fresh(netvisor, "netvisor")
    netvisor.seed(**sales.NETVISOR_SEED)
    severa_with(sales.severa_seed([sales.invoice(5101), sales.invoice(5102, customer="1003")]))
    ran("severa_netvisor_sales_invoices", run_dag("severa_netvisor_sales_invoices"))

    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps(
        {"hours": {"use_approval": True, "record_types": {"TRAVEL": "5"}}}))
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": g, "firstName": "Person", "lastName": c, "code": c} for c, g in hours.USERS.items()]
    seed["overtimes"] = [{"guid": hours.OT50, "name": "Overtime 50 %", "code": "2", "percentage": 50}]
    seed["worktypes"] = [{"guid": hours.WT_DEV, "name": "Development", "code": "DEV"},
                         {"guid": hours.WT_TRAVEL, "name": "Travel", "code": "TRAVEL"}]
    seed["workhours"] = copy.deepcopy(hours.HOURS)
    severa_with(seed)
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}, {"number": "102", "name": "Person 102"}])
    ran("severa_netvisor_hours", run_dag("severa_netvisor_hours", hours.RANGE))
    monkeypatch.delenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR")

    severa_with(travel.severa_seed(travel.TRAVELS))
    netvisor.seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1502", "1300"])
    ran("severa_netvisor_travel_invoices", run_dag("severa_netvisor_travel_invoices"))

    severa_with(copy.deepcopy(SEVERA_DEMO))
    netvisor.seed(purchase_invoices=copy.deepcopy(purchases.PURCHASES))
    ran("netvisor_severa_purchase_invoices", run_dag("netvisor_severa_purchase_invoices", purchases.RANGE))

    # flow B
    standard_books.seed(**SB_DEMO)
    envoice.seed(documents=[doc(4001, "SECRET-TEST"), doc(4002, "REFUSED", supplier="9999")])
    ran("standardbooks_envoice_master_data", run_dag("standardbooks_envoice_master_data", {"mode": "send_all"}))
    ran("envoice_standardbooks_purchase_documents", run_dag("envoice_standardbooks_purchase_documents"))

    # Horizon payroll, answered through its human-in-the-loop step
    horizon.seed(employees=EMPLOYEES, absences=ABSENCES)
    severa_with({"users": [{"firstName": "Jānis", "lastName": "Bērziņš", "code": "E1"}]})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "october.csv").write_text(CSV, encoding="utf-8")
    run, _ = run_dag_answering("horizon_payroll_time_import",
                               lambda asked: (["Approve excluding flagged rows"], {"reason": "flagged rows wait"}),
                               {**PERIOD, "inbox": str(inbox)})
    ran("horizon_payroll_time_import", run)

    # Horizon payroll payments -> pain.001 files in the bank folder
    from tests.flows.test_horizon_payroll_payments import PAYMENTS, RUN

    bank = tmp_path / "bank"
    bank.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_PAYMENTS", json.dumps({"bank_folder": str(bank)}))
    run_pk = horizon.seed(payroll_runs=[RUN])["payroll_runs"][0]
    horizon.seed(payroll_payments=[{**p, "Run": run_pk} for p in PAYMENTS])
    ran("horizon_payroll_payments", run_dag("horizon_payroll_payments"))

    # Horizon absences -> Severa activities
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_SEVERA_ABSENCES", json.dumps({"absence_types": {"ATV": "VAC"}}))
    severa_with({"users": [{"firstName": "Jānis", "lastName": "Bērziņš", "code": "E1"}],
                 "activitytypes": [{"name": "Vacation", "code": "VAC", "category": "Absences"}]})
    horizon.seed(absences=[{"EmployeeCode": "E1", "DateFrom": date.today().isoformat(),
                            "DateTo": date.today().isoformat(), "AbsenceType": "ATV"}])
    ran("horizon_severa_absences", run_dag("horizon_severa_absences"))

    # e-service payments -> Horizon customers and invoices (one payment refused: its service is not mapped)
    from include.simulators.eservice import DEMO_SEED as ESERVICE_DEMO

    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESERVICE_PAYMENTS_HORIZON",
                       json.dumps({"services": {"ZG-IZRAKSTS": "ZG-EXTRACT", "ZG-NOSTIPR": "ZG-EXTRACT"}}))
    horizon.seed(articles=[{"Code": "ZG-EXTRACT", "Name": "Extract"}])
    eservice.seed(**ESERVICE_DEMO)
    ran("eservice_payments_horizon", run_dag("eservice_payments_horizon"))

    # Horizon weighed goods -> weighing system -> delivery notes, one of them after a person's review
    from tests.flows.test_horizon_weighing import ORDERS, WEIGHINGS

    horizon.seed(sales_orders=[header for header, _ in ORDERS])
    horizon.seed(order_lines=[line for _, lines in ORDERS for line in lines])
    weighing.seed(weighings=WEIGHINGS)
    run, _ = run_dag_answering("horizon_weighing", lambda asked: (["Create the delivery notes"], {}))
    ran("horizon_weighing", run)

    # e-shop <-> ERP: an order with a NIP through orders, payments and the catalog; then a refused consumer secret
    from tests.flows.eshop_shop import ESHOP_WAREHOUSE, NIP_COMPANY, Shop
    from tests.flows.eshop_shop import seed as eshop_seed

    eshop_seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE}))
    Shop(woocommerce).order({"MUG-01": 1}, nip=NIP_COMPANY, company="ABC Sp. z o.o.")
    for dag_id in ("eshop_erp_orders", "eshop_erp_payments", "erp_eshop_catalog"):
        ran(dag_id, run_dag(dag_id))
    woocommerce.configure(consumer_secret="rotated-elsewhere")
    ran("erp_eshop_catalog", run_dag("erp_eshop_catalog", {"full": True}), "failed")
    monkeypatch.delenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP")

    # SaldeoSMART <-> accounting program: an export and the registers back, then the API token rotated elsewhere
    from tests.accounting_exchange.samples import SETTINGS as ACCOUNTING
    from tests.accounting_exchange.test_saldeo_accounting_export import DOCUMENTS as HUB_DOCUMENTS

    (tmp_path / "exchange").mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING", json.dumps(
        {**ACCOUNTING.model_dump(mode="json"), "destination": str(tmp_path / "exchange")}))
    saldeo.seed(documents=HUB_DOCUMENTS)
    ran("saldeo_accounting_export", run_dag("saldeo_accounting_export"))
    from tests.accounting_exchange.test_accounting_saldeo_registers import ODBIORCA, PAPIERNIK, export_file

    (tmp_path / "registers").mkdir()
    (tmp_path / "registers" / "program.epp").write_bytes(export_file(PAPIERNIK, ODBIORCA))
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS", json.dumps(
        {"company_program_id": ACCOUNTING.company_program_id, "source": str(tmp_path / "registers")}))
    ran("accounting_saldeo_registers", run_dag("accounting_saldeo_registers"))
    saldeo.configure(users={SALDEO_USER: "rotated-elsewhere"})
    ran("saldeo_accounting_export", run_dag("saldeo_accounting_export"), "failed")
    changed = ODBIORCA.replace("Odbiorca SA", "Odbiorca S.A.")  # a card to merge, which meets the rotated token
    (tmp_path / "registers" / "program2.epp").write_bytes(export_file(changed))
    ran("accounting_saldeo_registers", run_dag("accounting_saldeo_registers"), "failed")

    # and a refused credential: the failure is logged without the secret
    severa.configure(client_secret="rotated-elsewhere")
    ran("severa_netvisor_registers", run_dag("severa_netvisor_registers", {"full_resync": True}), "failed")

    assert set(states) | set(LEFT_OUT) == {p.stem for p in DAGS.glob("*.py")}, "a DAG is neither run nor left out"

    output = capfd.readouterr()
    console = output.out + output.err
    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT dag_id, key, value FROM xcom"))
    tables = [t for (t,) in ledger.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
    ledger_dump = " ".join(str(row) for table in tables for row in ledger.execute(f'SELECT * FROM "{table}"'))

    # the places searched do hold what the runs did
    assert "Visible Oy" not in xcoms and "SECRET-TEST" in ledger_dump and "0002" in ledger_dump
    assert {d for d in states} <= {d for d in states if d in xcoms}, "a DAG left no XCom to search"
    assert "Invalid client_id or client_secret" in console + logs, "the refused credential left no trace"
    assert "signature does not match" in console + logs, "the refused consumer secret left no trace"
    for secret in [*SECRET_VALUES, SALDEO_TOKEN, ESERVICE_KEY]:
        for place, text in {"task output": console, "log files": logs, "xcom": xcoms, "ledger": ledger_dump}.items():
            assert secret not in text, f"a secret appears in the {place}"
    print(f"secrets: searched {len(console)} chars of output, {len(logs)} of logs, {len(xcoms)} of XCom, "
          f"{len(ledger_dump)} of ledger ({len(tables)} tables) after {states}")
