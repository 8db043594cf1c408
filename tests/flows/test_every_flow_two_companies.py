"""Every flow of the catalog for two companies (issue 15, Done-when 1): a companies file naming north and south,
north on the session's simulators, south on a second set; each flow's DAG runs for both with records seeded
distinct per company. Each company's target then holds only its own records, the ledger rows carry the
company and its DAG, and a refusal in north waits in north's quarantine only and its retry runs north's DAG."""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import pytest

from erpbridge.catalog import FLOWS
from erpbridge.companies import FILE_VARIABLE, company_flow
from erpbridge.company import dag_id
from include.simulators.client import SimulatorAdmin as Sim
from include.simulators.severa import DEMO_SEED as SEVERA_DEMO
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.accounting_exchange.samples import SETTINGS as EXPORT_SETTINGS
from tests.accounting_exchange.test_accounting_saldeo_registers import card, export_file
from tests.accounting_exchange.test_saldeo_accounting_export import hub_seed
from tests.eservice import company as paying_company
from tests.eservice import payment, position
from tests.flows import test_horizon_payroll_payments as payments_test
from tests.flows.test_horizon_weighing import CHEESE, label, order, posted
from tests.flows import test_netvisor_severa_purchase_invoices as purchases_test
from tests.flows import test_severa_netvisor_hours as hours_test
from tests.flows import test_severa_netvisor_sales_invoices as sales_test
from tests.flows import test_severa_netvisor_travel_invoices as travel_test
from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import ESHOP_WAREHOUSE, Shop
from tests.flows.eshop_shop import seed as shop_seed
from tests.flows.hitl import run_dag_answering
from tests.flows.test_severa_netvisor_registers import BAD_CUSTOMERS, GOOD_CUSTOMERS, severa_api
from tests.flows.test_standardbooks_envoice import doc, envoice_holds, expected_envoice, incoming
from tests.flows.two_companies import COMPANIES, companies_file, connect_all, second_simulators  # noqa: F401
from tests.flows.two_companies import set_variable
from tests.samba_ad import BASE_DN, CERT_NAME, GROUPS

REGISTERS = "severa_netvisor_registers"


@dataclass
class Company:
    """One company's side of a test: its simulators, a folder of its own, and its settings Variables."""

    key: str
    sims: dict[str, Sim]
    folder: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    @property
    def north(self) -> bool:
        return self.key == "north"

    def settings(self, flow_id: str, value: dict) -> None:
        """The company's settings Variable of ``flow_id``, as its companies file names it."""
        variable = company_flow(flow_id, self.key, Path(os.environ[FILE_VARIABLE])).settings_variable
        set_variable(self.monkeypatch, variable, value)


@dataclass
class Case:
    """How one flow is run for a company: ``seed`` gives the company's source its own records and returns what
    the company's target must then hold; ``held`` reads what it holds."""

    seed: Callable[[Company], set]
    held: Callable[[Company], set]
    conf: Callable[[Company], dict] = lambda co: {}
    answer: Callable[[dict], tuple] | None = None  # the review step's answer (human-in-the-loop flows)
    before: tuple[str, ...] = ()  # flows that run first for the company (what this one builds on)


# --- Severa <-> Netvisor ---------------------------------------------------------------------------------------

def registers_seed(co: Company) -> set:
    customer = GOOD_CUSTOMERS[0 if co.north else 1]
    co.sims["severa"].seed(customers=[customer])
    return {str(customer["number"])}


def sales_invoices_seed(co: Company) -> set:
    number = 5001 if co.north else 6001
    co.sims["severa"].seed(**sales_test.severa_seed([sales_test.invoice(number)]))
    co.sims["netvisor"].seed(**sales_test.NETVISOR_SEED)
    return {str(number)}


def hours_seed(co: Company) -> set:
    user, day = ("101", "2026-03-02") if co.north else ("102", "2026-03-05")
    seed = copy.deepcopy(SEVERA_DEMO)
    seed["users"] = [{"guid": guid, "firstName": "Person", "lastName": code, "code": code}
                     for code, guid in hours_test.USERS.items()]
    seed["workhours"] = [hours_test.entry(1, user, day, 8)]
    co.sims["severa"].seed(**seed)
    co.sims["netvisor"].seed(employees=[{"number": "101", "name": "Person 101"},
                                        {"number": "102", "name": "Person 102"}])
    return {(user, day)}


def travel_seed(co: Company) -> set:
    number = 1 if co.north else 2
    co.sims["severa"].seed(**travel_test.severa_seed([
        travel_test.travel(number, number, expenses=[travel_test.expense("1300", 10, 0.59)])]))
    co.sims["netvisor"].seed(employees=[{"number": "101", "name": "Person 101"}], wage_types=["1300"])
    return {f"Severa travel invoice {number}"}


def purchases_seed(co: Company) -> set:
    number = "P-N1" if co.north else "P-S1"
    co.sims["severa"].seed(**copy.deepcopy(SEVERA_DEMO))
    co.sims["netvisor"].seed(purchase_invoices=[{**copy.deepcopy(purchases_test.PURCHASES[0]), "number": number}])
    return {f"Hotelli Oy {number}"}


# --- Standard Books <-> Envoice --------------------------------------------------------------------------------

def master_data_seed(co: Company) -> set:
    seed = copy.deepcopy(SB_DEMO)
    if not co.north:  # south's suppliers are not north's
        for supplier in seed["CUVc"]:
            supplier["Name"] = f"{supplier['Name']} (South)"
    co.sims["standard_books"].seed(**seed)
    return set(map(str, expected_envoice(co.sims["standard_books"].state()).items()))


def documents_seed(co: Company) -> set:
    number = "NORTH-1" if co.north else "SOUTH-1"
    co.sims["standard_books"].seed(**SB_DEMO)
    co.sims["envoice"].seed(documents=[doc(5001 if co.north else 5002, number)])
    return {number}


# --- Visma Horizon -------------------------------------------------------------------------------------------

def ad_seed(co: Company) -> set:
    """Each company's accounts go to (and are searched in) an OU of its own in the session's Samba AD."""
    ad = co.request.getfixturevalue("samba_ad")
    ou = f"OU={co.key},{BASE_DN}"
    admin = ad.admin_conn()
    admin.add(ou, ["top", "organizationalUnit"])  # refused as existing on a later test of the session
    admin.unbind()
    co.monkeypatch.setenv(f"AIRFLOW_CONN_ACTIVE_DIRECTORY_{co.key.upper()}", json.dumps({
        "conn_type": "active_directory", "host": ad.host, "port": 636, "login": ad.admin, "password": ad.password,
        "extra": {"base_dn": ou, "users_ou": ou, "groups": GROUPS, "upn_suffix": "test.local",
                  "ca_file": ad.ca_file, "tls_server_name": CERT_NAME, "timeout": 10}}))
    code = f"{co.key[0].upper()}{uuid.uuid4().hex[:8].upper()}"
    co.sims["horizon"].seed(employees=[{
        "EmployeeCode": code, "FirstName": co.key.title(), "LastName": f"Person{code}", "Department": "IT",
        "Position": "Engineer", "EmploymentStart": (date.today() - timedelta(days=1)).isoformat()}])
    return {code}


def ad_held(co: Company) -> set:
    ad = co.request.getfixturevalue("samba_ad")
    conn = ad.admin_conn()
    conn.search(f"OU={co.key},{BASE_DN}", "(objectClass=user)", attributes=["employeeID"])
    codes = {entry.employeeID.value for entry in conn.entries}
    conn.unbind()
    return codes


PERIOD = {"period_start": "2026-10-01", "period_end": "2026-10-31"}


def payroll_seed(co: Company) -> set:
    code, csv_day, severa_day = ("N1", "2026-10-01", "2026-10-06") if co.north else ("S1", "2026-10-02", "2026-10-07")
    co.settings("horizon_payroll_time_import", {"inbox_roots": [str(co.folder)]})
    co.sims["horizon"].seed(employees=[{"EmployeeCode": code, "FirstName": co.key.title(), "LastName": "Payroll",
                                        "EmploymentStart": "2020-01-01"}])
    severa = co.sims["severa"]
    (user,) = severa.seed(users=[{"firstName": co.key.title(), "lastName": "Payroll", "code": code}])["users"]
    severa.seed(workhours=[{"user": {"guid": user}, "eventDate": severa_day, "quantity": 6.0,
                            "description": "project"}])
    inbox = co.folder / "inbox"
    inbox.mkdir()
    (inbox / "october.csv").write_text(f"employee_code;date;time_type;hours;comment\n{code};{csv_day};WORK;8;csv\n",
                                       encoding="utf-8")
    return {(code, csv_day), (code, severa_day)}


def absences_seed(co: Company) -> set:
    code, start = ("N1", 10) if co.north else ("S1", 20)
    co.settings("horizon_severa_absences", {"absence_types": {"ATV": "VAC"}})
    co.sims["severa"].seed(users=[{"firstName": co.key.title(), "lastName": "Absent", "code": code}])
    co.sims["severa"].seed(activitytypes=[{"name": "Vacation", "code": "VAC", "category": "Absences",
                                           "isPaidLeave": True}])
    day = (date.today() + timedelta(days=start)).isoformat()
    co.sims["horizon"].seed(absences=[{"EmployeeCode": code, "DateFrom": day, "DateTo": day, "AbsenceType": "ATV"}])
    return {(code, day)}


def absences_held(co: Company) -> set:
    state = co.sims["severa"].state()
    users = {u["guid"]: u["code"] for u in state["users"]}
    return {(users[a["ownerUser"]["guid"]], a["startDateTime"][:10]) for a in state["activities"]}


def bank_seed(co: Company) -> set:
    iban = "LV87HABA0551012345678" if co.north else "LV29HABA0551087654321"
    (co.folder / "bank").mkdir()
    co.settings("horizon_payroll_payments", {"bank_folder": str(co.folder / "bank"), "debtor_name": co.key.title()})
    (run,) = co.sims["horizon"].seed(payroll_runs=[payments_test.RUN])["payroll_runs"]
    co.sims["horizon"].seed(payroll_payments=[{
        "Run": run, "EmployeeCode": "E1", "EmployeeName": co.key.title(), "IBAN": iban, "NetAmount": "100.00",
        "PayerIBAN": payments_test.PAYER_A}])
    return {iban}


def bank_held(co: Company) -> set:
    files = payments_test.files(co.folder / "bank") if (co.folder / "bank").is_dir() else {}
    return {iban for document in files.values() for iban in payments_test.summary(document)["ibans"]}


# --- e-shop <-> ERP --------------------------------------------------------------------------------------------

def shop_seed_for(co: Company) -> None:
    shop_seed(co.sims["woocommerce"], co.sims["fakturownia"])
    co.settings("eshop_erp_orders", {"eshop_warehouse_id": ESHOP_WAREHOUSE})


def order_seed(co: Company) -> set:
    shop_seed_for(co)
    sku = "MUG-01" if co.north else "BOOK-01"
    Shop(co.sims["woocommerce"]).order({sku: 1}, email=f"{co.key}@example.pl")
    return {sku}


def erp_codes(co: Company, oid_suffix: str) -> set:
    return {p["code"] for i in co.sims["fakturownia"].state()["invoices"] if i["oid"].endswith(oid_suffix)
            for p in i["positions"] if p["code"]}


def catalog_seed(co: Company) -> set:
    """South's ERP receives 5 mugs before the first run: its shop shows 25, north's 20."""
    from erpbridge.hooks.fakturownia import FakturowniaHook

    shop_seed_for(co)
    stock = {"MUG-01": 20, "BOOK-01": 20, "CAKE-01": 20, "TEE-M": 10, "TEE-L": 10}
    if not co.north:
        mug = next(p for p in co.sims["fakturownia"].state()["products"] if p["code"] == "MUG-01")
        FakturowniaHook(f"fakturownia_{co.key}").create_warehouse_document({  # a PZ typed in south's ERP
            "kind": "pz", "warehouse_id": ESHOP_WAREHOUSE,
            "warehouse_actions": [{"product_id": mug["id"], "quantity": 5}]})
        stock["MUG-01"] = 25
    return set(stock.items())


def shop_stock(co: Company) -> set:
    return {(p["sku"], p["stock_quantity"]) for p in co.sims["woocommerce"].state()["products"] if p["manage_stock"]}


# --- SaldeoSMART -> accounting files ---------------------------------------------------------------------------

def export_seed(co: Company) -> set:
    number = 5001 if co.north else 5002
    (co.folder / "exchange").mkdir()
    co.settings("saldeo_accounting_export", {**EXPORT_SETTINGS.model_dump(mode="json"),
                                             "destination": str(co.folder / "exchange")})
    co.sims["saldeo"].seed(companies=[{"program_id": EXPORT_SETTINGS.company_program_id, "name": co.key.title(),
                                       "vat_number": "7010020030"}])
    co.sims["saldeo"].seed(documents=[hub_seed(number)])
    return {f"FV {number}/01/2026"}


def exported(co: Company) -> set:
    text = "".join(path.read_bytes().decode("cp1250") for path in (co.folder / "exchange").glob("*.epp"))
    return set(re.findall(r"FV \d+/01/2026", text))


def program_registers_seed(co: Company) -> set:
    code = "K-NORTH" if co.north else "K-SOUTH"
    (co.folder / "registers").mkdir()
    (co.folder / "registers" / "export.epp").write_bytes(export_file(card(1, code, co.key, co.key.title(), "5252344078")))
    co.settings("accounting_saldeo_registers", {"company_program_id": EXPORT_SETTINGS.company_program_id,
                                                "source": str(co.folder / "registers")})
    co.sims["saldeo"].seed(companies=[{"program_id": EXPORT_SETTINGS.company_program_id, "name": co.key.title(),
                                       "vat_number": "7010020030"}])
    return {code}


def merged_contractors(co: Company) -> set:
    return set(co.sims["saldeo"].state()["registers"]["contractor"].get(EXPORT_SETTINGS.company_program_id, {}))


def eservice_seed(co: Company) -> set:
    reference = "ZG-N1" if co.north else "ZG-S1"
    co.settings("eservice_payments_horizon", {"services": {"ZG-IZRAKSTS": "ZG-EXTRACT"}})
    co.sims["horizon"].seed(articles=[{"Code": "ZG-EXTRACT", "Name": "ZG-EXTRACT"}])
    co.sims["eservice"].seed(payments=[payment(reference, paying_company("40003521600"), [position("10.00")])])
    return {reference}


def weighing_seed(co: Company) -> set:
    number = 11 if co.north else 12
    header, lines = order(number, (CHEESE, 2, "20.000"))
    co.settings("horizon_weighing", {"tolerance_percent": 5})
    co.sims["horizon"].seed(sales_orders=[header])
    co.sims["horizon"].seed(order_lines=lines)
    co.sims["weighing"].seed(weighings=[posted(f"L{number}1", number, label(CHEESE, "10.000")),
                                        posted(f"L{number}2", number, label(CHEESE, "10.100"))])
    return {f"SO-{number}"}


def delivered(co: Company) -> set:
    state = co.sims["horizon"].state()
    orders = {str(o["pk"]): o["OrderNo"] for o in state["sales_orders"]}
    return {orders[str(note["Order"])] for note in state["delivery_notes"]}


def never_asked(asked: dict):
    raise AssertionError(f"nothing should wait for a person: {asked['subject']}")


CASES: dict[str, Case] = {
    REGISTERS: Case(registers_seed, lambda co: {c["code"] for c in co.sims["netvisor"].state()["customers"]}),
    "severa_netvisor_sales_invoices": Case(
        sales_invoices_seed, lambda co: {str(n) for n in sales_test.netvisor_invoices(co.sims["netvisor"])}),
    "severa_netvisor_hours": Case(hours_seed, lambda co: {key[:2] for key in hours_test.workdays(co.sims["netvisor"])},
                                  conf=lambda co: hours_test.RANGE),
    "severa_netvisor_travel_invoices": Case(
        travel_seed, lambda co: {t["header"] for t in co.sims["netvisor"].state()["trip_expenses"]}),
    "netvisor_severa_purchase_invoices": Case(
        purchases_seed, lambda co: {f["description"].split(":")[0] for f in co.sims["severa"].state()["projectfees"]},
        conf=lambda co: purchases_test.RANGE),
    "standardbooks_envoice_master_data": Case(
        master_data_seed, lambda co: set(map(str, envoice_holds(co.sims["envoice"]).items())),
        conf=lambda co: {"mode": "send_all"}),
    "envoice_standardbooks_purchase_documents": Case(
        documents_seed, lambda co: set(incoming(co.sims["standard_books"].state()))),
    "horizon_ad_accounts": Case(ad_seed, ad_held),
    "horizon_payroll_time_import": Case(
        payroll_seed, lambda co: {(r["EmployeeCode"], r["Date"]) for r in co.sims["horizon"].state()["time_import"]},
        conf=lambda co: {**PERIOD, "inbox": str(co.folder / "inbox")}, answer=lambda asked: (["Approve"], {})),
    "horizon_severa_absences": Case(absences_seed, absences_held),
    "horizon_payroll_payments": Case(bank_seed, bank_held, answer=never_asked),
    "eshop_erp_orders": Case(order_seed, lambda co: erp_codes(co, "")),
    "eshop_erp_payments": Case(order_seed, lambda co: erp_codes(co, "/sale"), before=("eshop_erp_orders",)),
    "erp_eshop_catalog": Case(catalog_seed, shop_stock),
    "saldeo_accounting_export": Case(export_seed, exported),
    "accounting_saldeo_registers": Case(program_registers_seed, merged_contractors),
    "horizon_weighing": Case(weighing_seed, delivered, answer=never_asked),
    "eservice_payments_horizon": Case(
        eservice_seed, lambda co: {d["ExternalRef"] for d in co.sims["horizon"].state()["sales_invoices"]}),
}


def test_every_flow_of_the_catalog_has_a_case():
    assert set(CASES) == set(FLOWS)


def test_every_hook_outside_the_tests_is_given_its_connection_id():
    """A hook built without one would use its type's default connection whatever the company (issue 15)."""
    import ast

    root = Path(__file__).resolve().parents[2]
    unnamed = []
    for folder in ("plugins", "dags", "include", "bench"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")).endswith(
                        "Hook") and not node.args and not any("conn_id" in (k.arg or "") for k in node.keywords)):
                    unnamed.append(f"{path.relative_to(root)}:{node.lineno}")
    assert unnamed == []


@pytest.fixture
def companies(request, airflow_db, ledger, simulators, second_simulators, companies_file, tmp_path, monkeypatch):
    """company -> its side: north on the session's simulators, south on the second set. No default connection
    exists and every default settings Variable is unreadable, so a flow that reads either fails. At the end every
    exchange with either Severa is held to Severa's OpenAPI, as the severa fixture does."""
    from tests.contract import severa_openapi

    for flow in FLOWS.values():
        monkeypatch.setenv(f"AIRFLOW_VAR_{flow.settings_variable.upper()}", "not a company's settings")
    sims = connect_all(simulators, second_simulators, monkeypatch)
    sides = {}
    for key in COMPANIES:
        (tmp_path / key).mkdir()
        sides[key] = Company(key, sims[key], tmp_path / key, monkeypatch, request)
    yield sides
    for side in sides.values():
        violations = severa_openapi.problems(side.sims["severa"].admin("GET", "exchanges"))
        assert not violations, f"{side.key}'s Severa traffic off the contract:\n" + "\n".join(dict.fromkeys(violations))


def run(flow_id: str, co: Company, case: Case):
    conf = case.conf(co)
    if case.answer:
        result, _ = run_dag_answering(dag_id(flow_id, co.key), case.answer, conf)
    else:
        result = run_dag(dag_id(flow_id, co.key), conf)
    assert result.state == "success", (flow_id, co.key, task_states(result))


def ledger_companies(ledger) -> dict[str, set[str]]:
    """Every ledger table with a company column -> the companies its rows carry."""
    tables = [t for (t,) in ledger.execute(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'company' AND table_schema = 'public'")]
    return {t: {c for (c,) in ledger.execute(f"SELECT DISTINCT company FROM {t}")} for t in tables}


@pytest.mark.parametrize("flow_id", list(CASES))
def test_a_flow_runs_for_both_companies_each_on_its_own_systems(flow_id, companies, ledger):
    case = CASES[flow_id]
    expected = {key: case.seed(co) for key, co in companies.items()}
    assert expected["north"] != expected["south"]
    for co in companies.values():
        for earlier in case.before:
            run(earlier, co, CASES[earlier])
        run(flow_id, co, case)

    assert {key: case.held(co) for key, co in companies.items()} == expected
    logged = set(ledger.execute("SELECT DISTINCT company, dag_id FROM transfer_log WHERE flow = %s", (flow_id,)))
    assert logged == {(key, dag_id(flow_id, key)) for key in COMPANIES}
    assert {table: found for table, found in ledger_companies(ledger).items() if found - set(COMPANIES)} == {}


def test_a_refusal_in_one_company_waits_in_its_quarantine_and_its_retry_runs_its_dag(companies, ledger):
    from erpbridge.control_room import queries
    from erpbridge.control_room.retry import retry_conf

    north, south = companies["north"], companies["south"]
    (refused,) = north.sims["severa"].seed(customers=[BAD_CUSTOMERS[1]])["customers"]  # code -5: Netvisor's refusal
    south.sims["severa"].seed(customers=[GOOD_CUSTOMERS[1]])
    for co in (north, south):
        run(REGISTERS, co, CASES[REGISTERS])
    waiting = [(company, records) for (company, _), records in queries.quarantine(ledger)]
    assert [(company, [(r["source_id"], r["dag_id"]) for r in records]) for company, records in waiting] == [
        ("north", [(refused, f"{REGISTERS}__north")])]

    severa_api(north.sims["severa"], "PATCH", f"customers/{refused}",
               json=[{"op": "Replace", "path": "/number", "value": 1777}])  # fixed in north's Severa
    record = queries.quarantined_record(ledger, waiting[0][1][0])
    south_since = {name: sim.last_seq() for name, sim in south.sims.items()}
    retried = run_dag(record["dag_id"], retry_conf(record["dag_id"], record))

    assert retried.dag_id == f"{REGISTERS}__north" and retried.state == "success", task_states(retried)
    assert [c["code"] for c in north.sims["netvisor"].state()["customers"]] == ["1777"]
    assert [c["code"] for c in south.sims["netvisor"].state()["customers"]] == ["1002"]
    assert {name: sim.requests(south_since[name]) for name, sim in south.sims.items()} == {
        name: [] for name in south.sims}  # the retry touched none of south's systems
    assert queries.quarantine(ledger) == []
    assert set(ledger.execute("SELECT DISTINCT company, dag_id FROM transfer_log")) == {
        ("north", f"{REGISTERS}__north"), ("south", f"{REGISTERS}__south")}
