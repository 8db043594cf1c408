"""severa_netvisor_registers end to end: dag.test() against the simulators over HTTP and a real ledger."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from tests.conftest import SECRETS
from tests.contract.severa_openapi import scope_connection
from tests.flows.dagrun import run_dag, task_states

DAG_ID = "severa_netvisor_registers"

GOOD_CUSTOMERS = [
    {"number": 1001, "name": 'Smith & Sons <Ltd> "Quoted"', "vatNumber": "FI12345678", "email": "ap@smith.example",
     "headquarterAddress": {"addressline": "Mannerheimintie 1", "postalCode": "00100", "city": "Helsinki",
                            "country": "FI"}},
    {"number": 1002, "name": "ООО Ромашка", "isActive": True},
    {"number": 1003, "name": "Kylmäkönen Äijälä Öljy Oy", "isActive": False},
]
BAD_CUSTOMERS = [  # Severa's numbers are integers: a leading 0 or a letter cannot occur there any more
    {"number": 12345678901234567, "name": "Long Number Oy"},
    {"number": -5, "name": "Negative Ab"},
]
PRODUCTS = [
    {"code": "CONSULT", "name": "Consulting hour", "unitPrice": {"amount": 120.5, "currencyCode": "EUR"},
     "vatRate": 25.5, "measurementUnit": "h"},
    {"code": "LIC-1", "name": "Licence <annual> & support", "unitPrice": {"amount": 0.1, "currencyCode": "EUR"},
     "vatRate": 24, "measurementUnit": "pcs"},
]


def severa_api(severa, method: str, path: str, **kwargs):
    """Call the Severa simulator's public API as another Severa user would (not through our hook)."""
    creds = SECRETS["severa"]
    token = requests.post(f"{severa.base}/rest-api/v1/token", json={**creds, "scope": ""},
                          headers={"Client_Id": creds["client_id"]}, timeout=10).json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Client_Id": creds["client_id"]}
    response = requests.request(method, f"{severa.base}/rest-api/v1/{path}", headers=headers, timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


def set_settings(monkeypatch, settings: dict) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", json.dumps(settings))


def transfer_log(ledger) -> list[tuple]:
    return ledger.execute("SELECT entity, source_key, action, error_text FROM transfer_log ORDER BY id").fetchall()


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())


@pytest.fixture
def flow(airflow_db, ledger, netvisor, severa, monkeypatch):
    scope_connection(monkeypatch, DAG_ID)
    return ledger, netvisor, severa


def test_valid_records_arrive_exactly_and_bad_codes_wait_in_quarantine(flow):
    ledger, netvisor, severa = flow
    severa.seed(customers=GOOD_CUSTOMERS + BAD_CUSTOMERS, products=PRODUCTS)

    run = run_dag(DAG_ID)

    assert run.state == "success", task_states(run)
    customers = {c["code"]: c for c in netvisor.state()["customers"]}
    assert sorted(customers) == ["1001", "1002", "1003"]
    smith = customers["1001"]
    assert smith["name"] == 'Smith & Sons <Ltd> "Quoted"'
    assert (smith["business_id"], smith["email"], smith["street_address"], smith["post_number"], smith["city"],
            smith["country"]) == ("1234567-8", "ap@smith.example", "Mannerheimintie 1", "00100", "Helsinki", "FI")
    assert customers["1002"]["name"] == "ООО Ромашка"
    assert customers["1003"]["is_active"] is False
    products = {p["code"]: p for p in netvisor.state()["products"]}
    assert sorted(products) == ["CONSULT", "LIC-1"]
    assert Decimal(str(products["CONSULT"]["unit_price"]).replace(",", ".")) == Decimal("120.5")
    assert products["LIC-1"]["name"] == "Licence <annual> & support"

    assert quarantine(ledger) == {
        "12345678901234567": "customer code '12345678901234567' is longer than 16 digits",
        "-5": "customer code '-5' is not numeric; this integration gives Netvisor digits-only customer codes",
    }
    actions = {(entity, key): action for entity, key, action, _ in transfer_log(ledger)}
    assert actions == {("customer", "1001"): "created", ("customer", "1002"): "created",
                       ("customer", "1003"): "created", ("customer", "12345678901234567"): "rejected",
                       ("customer", "-5"): "rejected", ("product", "CONSULT"): "created",
                       ("product", "LIC-1"): "created"}


def test_a_second_run_with_nothing_changed_makes_no_write(flow):
    ledger, netvisor, severa = flow
    severa.seed(customers=GOOD_CUSTOMERS, products=PRODUCTS,
                businessunits=[{"name": "Helsinki", "code": "HEL"}])
    assert run_dag(DAG_ID).state == "success"
    before_nv, before_sv = netvisor.last_seq(), severa.last_seq()

    assert run_dag(DAG_ID).state == "success"

    assert netvisor.writes(since=before_nv) == []
    assert severa.writes(since=before_sv) == []
    assert len(netvisor.state()["customers"]) == 3


def test_changed_customer_is_updated_and_deleted_one_stays(flow):
    ledger, netvisor, severa = flow
    guids = severa.seed(customers=GOOD_CUSTOMERS)["customers"]
    assert run_dag(DAG_ID).state == "success"

    severa_api(severa, "PATCH", f"customers/{guids[1]}", json=[{"op": "Replace", "path": "/name", "value": "Ромашка Ltd"}])
    before = netvisor.last_seq()
    assert run_dag(DAG_ID).state == "success"

    writes = netvisor.writes(since=before)
    assert len(writes) == 1 and "edit" in writes[0]["query"]
    assert {c["code"]: c["name"] for c in netvisor.state()["customers"]}["1002"] == "Ромашка Ltd"

    severa.reset()
    severa.configure(**SECRETS["severa"])
    severa.seed(customers=GOOD_CUSTOMERS[:2])  # 1003 deleted in Severa
    assert run_dag(DAG_ID, {"full_resync": True}).state == "success"
    assert sorted(c["code"] for c in netvisor.state()["customers"]) == ["1001", "1002", "1003"]


def test_a_fixed_record_leaves_quarantine_on_the_next_run(flow):
    ledger, netvisor, severa = flow
    guids = severa.seed(customers=BAD_CUSTOMERS)["customers"]
    assert run_dag(DAG_ID).state == "success"
    assert set(quarantine(ledger)) == {"12345678901234567", "-5"}

    severa_api(severa, "PATCH", f"customers/{guids[0]}", json=[{"op": "Replace", "path": "/number", "value": 1777}])
    assert run_dag(DAG_ID).state == "success"

    assert set(quarantine(ledger)) == {"-5"}
    assert [c["code"] for c in netvisor.state()["customers"]] == ["1777"]
    assert ("customer", "1777", "created", None) in transfer_log(ledger)


def test_a_refusal_by_netvisor_reaches_the_log_in_netvisors_words(flow):
    ledger, netvisor, severa = flow
    severa.seed(customers=[GOOD_CUSTOMERS[0], {"number": 1004, "name": "Lowercase Country Oy",
                                                "headquarterAddress": {"country": "fi"}}])
    assert run_dag(DAG_ID).state == "success"

    refused = [row for row in transfer_log(ledger) if row[2] == "rejected"]
    assert len(refused) == 1 and refused[0][1] == "1004"
    assert refused[0][3].startswith("INVALID_DATA :: ")
    assert quarantine(ledger)["1004"] == refused[0][3]
    assert [c["code"] for c in netvisor.state()["customers"]] == ["1001"]


def test_direction_netvisor_to_severa(flow, monkeypatch):
    ledger, netvisor, severa = flow
    set_settings(monkeypatch, {"customers": {"direction": "netvisor_to_severa"},
                               "products": {"direction": "netvisor_to_severa"}})
    netvisor.seed(
        customers=[{"code": "2001", "name": "Nordic & Co", "city": "Turku", "country": "FI", "business_id": "7654321-0"}],
        products=[{"code": "NV-1", "name": "Widget", "unit_price": "19.90", "unit": "pcs", "vat_percent": "25.5",
                   "product_group": "Goods"},
                  {"code": "", "name": "Uncoded service", "unit_price": "5.00", "unit": "h", "vat_percent": "24",
                   "product_group": "Goods"}])

    assert run_dag(DAG_ID).state == "success"

    state = severa.state()
    # the address is read-only in Severa's CustomerModel: it does not move this way
    assert [(c["number"], c["name"], c.get("headquarterAddress")) for c in state["customers"]] == \
        [(2001, "Nordic & Co", None)]
    assert [(p["code"], p["name"], p["unitPrice"]["amount"]) for p in state["products"]] == [("NV-1", "Widget", 19.9)]
    skipped = [row for row in transfer_log(ledger) if row[2] == "skipped"]
    assert len(skipped) == 1 and "no product code" in skipped[0][3]
    assert quarantine(ledger) == {}

    before = severa.last_seq()
    assert run_dag(DAG_ID).state == "success"
    assert severa.writes(since=before) == []


def test_dimensions_appear_under_the_configured_headings(flow, monkeypatch):
    ledger, netvisor, severa = flow
    set_settings(monkeypatch, {"dimensions": {"business_unit_heading": "Yksikkö", "project_heading": "Projektit"}})
    units = severa.seed(businessunits=[{"name": "Helsinki", "code": "HEL"}, {"name": "Tampere", "code": "TRE"}])
    customer = severa.seed(customers=[{"number": 1001, "name": "Asiakas Oy"}])["customers"][0]
    severa.seed(projects=[{"number": 2001, "name": "Website", "customer": {"guid": customer},
                           "businessUnit": {"guid": units["businessunits"][0]}}])

    assert run_dag(DAG_ID).state == "success"

    headings = {d["name"]: sorted(i["name"] for i in d["items"]) for d in netvisor.state()["dimensions"]}
    assert headings == {"Yksikkö": ["Helsinki", "Tampere"], "Projektit": ["2001 Website"]}


def test_an_empty_heading_creates_nothing(flow, monkeypatch):
    ledger, netvisor, severa = flow
    set_settings(monkeypatch, {"dimensions": {"business_unit_heading": "Yksikkö", "project_heading": ""}})
    units = severa.seed(businessunits=[{"name": "Helsinki", "code": "HEL"}])
    customer = severa.seed(customers=[{"number": 1001, "name": "Asiakas Oy"}])["customers"][0]
    severa.seed(projects=[{"number": 2001, "name": "Website", "customer": {"guid": customer},
                           "businessUnit": {"guid": units["businessunits"][0]}}])

    assert run_dag(DAG_ID).state == "success"

    assert [d["name"] for d in netvisor.state()["dimensions"]] == ["Yksikkö"]


def test_temp_mode_needs_the_temp_customer_and_transfers_nothing(flow, monkeypatch):
    ledger, netvisor, severa = flow
    set_settings(monkeypatch, {"customers": {"use_temp": True}})
    severa.seed(customers=GOOD_CUSTOMERS)

    run = run_dag(DAG_ID, {"registers": ["customers"]})
    assert task_states(run)["sync_customers"] == "failed"

    netvisor.seed(customers=[{"code": "TEMP", "name": "Temporary customer"}])
    run = run_dag(DAG_ID, {"registers": ["customers"]})
    assert run.state == "success"
    assert [c["code"] for c in netvisor.state()["customers"]] == ["TEMP"]
    assert transfer_log(ledger) == []


def test_a_bad_settings_key_fails_the_run_naming_it(flow, monkeypatch):
    ledger, netvisor, severa = flow
    set_settings(monkeypatch, {"customers": {"directon": "severa_to_netvisor"}})
    severa.seed(customers=GOOD_CUSTOMERS)

    run = run_dag(DAG_ID)

    states = task_states(run)
    assert states["load_settings"] == "failed"
    assert states["sync_customers"] == "upstream_failed"
    assert netvisor.state()["customers"] == []


def test_dry_run_reports_and_writes_nothing(flow, caplog):
    ledger, netvisor, severa = flow
    severa.seed(customers=GOOD_CUSTOMERS + BAD_CUSTOMERS, products=PRODUCTS)
    before = netvisor.last_seq()

    run = run_dag(DAG_ID, {"dry_run": True})

    assert run.state == "success"
    assert netvisor.writes(since=before) == []
    assert netvisor.state()["customers"] == []
    assert transfer_log(ledger) == [] and quarantine(ledger) == {}
    assert ledger.execute("SELECT count(*) FROM watermark").fetchone()[0] == 0


def test_full_resync_sends_everything_again_without_duplicates(flow):
    ledger, netvisor, severa = flow
    severa.seed(customers=GOOD_CUSTOMERS)
    assert run_dag(DAG_ID).state == "success"
    before = netvisor.last_seq()

    assert run_dag(DAG_ID, {"full_resync": True, "registers": ["customers"]}).state == "success"

    writes = netvisor.writes(since=before)
    assert len(writes) == 3 and all("edit" in w["query"] for w in writes)
    assert len(netvisor.state()["customers"]) == 3


def test_an_existing_netvisor_customer_is_adopted_not_duplicated(flow):
    ledger, netvisor, severa = flow
    netvisor.seed(customers=[{"code": "1001", "name": "Old name"}])
    severa.seed(customers=GOOD_CUSTOMERS[:1])

    assert run_dag(DAG_ID).state == "success"

    assert [(c["code"], c["name"]) for c in netvisor.state()["customers"]] == [("1001", GOOD_CUSTOMERS[0]["name"])]
    assert ("customer", "1001", "updated", None) in transfer_log(ledger)
