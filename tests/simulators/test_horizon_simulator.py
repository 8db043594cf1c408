"""Visma Horizon simulator over real HTTP: Basic auth, XML queries with criteria, template create, time import."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import requests

from include.simulators.horizon import DEMO_SEED, DEFAULT_CONFIG

AUTH = (DEFAULT_CONFIG["username"], DEFAULT_CONFIG["password"])


@pytest.fixture
def base(simulators) -> str:
    url = simulators["horizon"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/config", json=DEFAULT_CONFIG, timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json=DEMO_SEED, timeout=5).raise_for_status()
    return url


def query(base: str, cls: str, **params) -> list[dict]:
    response = requests.get(f"{base}/rest/{cls}/query", params=params, auth=AUTH, timeout=5)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "resource"
    return [{c.tag: (c.findtext("href") or c.text) for c in e} for e in root.findall("entity")]


def test_basic_auth_is_required_and_errors_are_xml(base):
    response = requests.get(f"{base}/rest/TdmDarbBaseBL/query", auth=("erpbridge", "wrong"), timeout=5)
    assert response.status_code == 401
    assert ET.fromstring(response.content).findtext("code") == "AUTHENTICATION_FAILED"
    assert requests.get(f"{base}/rest/TdmDarbBaseBL/query", timeout=5).status_code == 401


def test_query_columns_criteria_references_and_changed_since(base):
    rows = query(base, "TdmDarbBaseBL", columns="EmployeeCode,FirstName,LastName,Manager,Changed")
    assert [r["FirstName"] for r in rows][:2] == ["Jānis", "Łukasz"]
    assert set(rows[0]) == {"pk", "EmployeeCode", "FirstName", "LastName", "Manager", "Changed"}
    assert rows[1]["Manager"] == f"/rest/TdmDarbBaseBL/{rows[0]['pk']}"
    assert [r["EmployeeCode"] for r in query(base, "TdmDarbBaseBL", criteria="EmployeeCode=E1002|E1004")] == [
        "E1002", "E1004"]
    assert [r["EmployeeCode"] for r in query(base, "TdmDarbBaseBL", criteria="EmploymentStart>=2023-01-01;"
                                                                               "EmploymentStart<=2029-12-31")] == ["E1002"]
    newest = max(r["Changed"] for r in rows)
    requests.post(f"{base}/_sim/seed", json={"employees": [{**DEMO_SEED["employees"][0], "Position": "CEO"}]},
                  timeout=5).raise_for_status()
    changed = query(base, "TdmDarbBaseBL", criteria=f"Changed>{newest}")
    assert [(r["EmployeeCode"], r["Position"]) for r in changed] == [("E1001", "CEO")]
    bad = requests.get(f"{base}/rest/TdmDarbBaseBL/query", params={"criteria": "Nope=1"}, auth=AUTH, timeout=5)
    assert bad.status_code == 400 and "Nope" in ET.fromstring(bad.content).findtext("message")


def test_paging_by_offset_and_limit(base):
    first = query(base, "TdmDarbBaseBL", limit=3)
    rest = query(base, "TdmDarbBaseBL", limit=3, offset=3)
    assert len(first) == 3 and len(rest) == 1
    assert requests.get(f"{base}/rest/TdmDarbBaseBL/query", params={"limit": 501}, auth=AUTH,
                        timeout=5).status_code == 400


def post_time(base: str, **values) -> requests.Response:
    template = requests.get(f"{base}/rest/TdmLaikaImportBL/template", auth=AUTH, timeout=5)
    pk = ET.fromstring(template.content).find("entity").findtext("pk")
    entity = "".join(f"<{k}>{v}</{k}>" for k, v in values.items())
    return requests.post(f"{base}/rest/TdmLaikaImportBL/template/{pk}", auth=AUTH, timeout=5,
                         data=f"<resource><entity>{entity}</entity></resource>".encode(),
                         headers={"Content-Type": "application/xml"})


def test_time_import_replaces_the_same_employee_date_and_type(base):
    assert post_time(base, EmployeeCode="E1001", Date="2026-10-01", TimeType="WORK", Hours="8").status_code == 201
    again = post_time(base, EmployeeCode="E1001", Date="2026-10-01", TimeType="WORK", Hours="7.5")
    assert again.status_code == 200
    assert post_time(base, EmployeeCode="E1001", Date="2026-10-01", TimeType="OT50", Hours="1").status_code == 201
    rows = query(base, "TdmLaikaImportBL", criteria="Date>=2026-10-01;Date<=2026-10-31")
    assert sorted((r["TimeType"], r["Hours"]) for r in rows) == [("OT50", "1.0"), ("WORK", "7.5")]
    unknown = post_time(base, EmployeeCode="E404", Date="2026-10-01", TimeType="WORK", Hours="8")
    assert unknown.status_code == 422 and "E404" in ET.fromstring(unknown.content).findtext("message")
    assert post_time(base, EmployeeCode="E1001", Date="2026-10-01", TimeType="WORK", Hours="25").status_code == 422
    assert post_time(base, EmployeeCode="E1001", Date="2026-10-01", TimeType="WORK", Hours="0").status_code == 200
    assert [r["TimeType"] for r in query(base, "TdmLaikaImportBL")] == ["OT50"]


def test_admin_state_and_reset(base):
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert [e["ManagerCode"] for e in state["employees"]] == [None, "E1001", "E1001", "E1002"]
    assert state["absences"][0]["AbsenceType"] == "ATV"
    requests.post(f"{base}/_sim/reset", timeout=5).raise_for_status()
    assert requests.get(f"{base}/_sim/state", timeout=5).json()["employees"] == []


def test_payroll_runs_and_payments_are_read_only_queries_with_the_run_as_a_reference(base):
    seeded = requests.post(f"{base}/_sim/seed", json={"payroll_runs": [
        {"Period": "2025-03", "PayDate": "2025-04-05", "Currency": "EUR", "Status": "CONFIRMED"},
        {"Period": "2025-04", "PayDate": "2025-05-05", "Currency": "EUR", "Status": "DRAFT"}]}, timeout=5).json()
    confirmed, _ = seeded["payroll_runs"]
    payment = {"Run": confirmed, "EmployeeCode": "E1001", "EmployeeName": "Jānis Bērziņš",
               "IBAN": "LV87HABA0551012345678", "NetAmount": "1234.56", "PayerIBAN": "LV11RIKO0002013001234"}
    for amount in ("1234.56", "1300.00"):  # the same run and employee again replaces the payment
        requests.post(f"{base}/_sim/seed", json={"payroll_payments": [{**payment, "NetAmount": amount}]},
                      timeout=5).raise_for_status()

    runs = query(base, "TdmAlgSarBL", columns="Period,Status", criteria="Status=CONFIRMED;PayDate<2026-01-01")
    payments = query(base, "TdmAlgIzmBL", criteria=f"Run={confirmed}")

    assert [(r["Period"], r["Status"]) for r in runs] == [("2025-03", "CONFIRMED")]
    assert [(p["Run"], p["EmployeeCode"], p["NetAmount"]) for p in payments] == [
        (f"/rest/TdmAlgSarBL/{confirmed}", "E1001", "1300.00")]
    refused = requests.get(f"{base}/rest/TdmAlgIzmBL/template", auth=AUTH, timeout=5)
    assert refused.status_code == 405 and ET.fromstring(refused.content).findtext("code") == "NOT_ALLOWED"
    orphan = requests.post(f"{base}/_sim/seed", json={"payroll_payments": [{**payment, "Run": 999}]}, timeout=5)
    assert orphan.status_code == 400 and "no payroll run 999" in orphan.text
