"""VismaHorizonHook against the Horizon simulator over HTTP."""

from __future__ import annotations

from datetime import date, datetime, timezone

from erpbridge.hooks.visma_horizon import VismaHorizonHook
from include.simulators.horizon import DEMO_SEED
from tests.conftest import SECRET_VALUES


def test_employees_absences_and_time_import(horizon):
    horizon.seed(**DEMO_SEED)
    hook = VismaHorizonHook()
    assert hook.test_connection()[0]
    employees = {e["code"]: e for e in hook.employees()}
    assert employees["E1002"]["first_name"] == "Łukasz" and employees["E1002"]["manager_code"] == "E1001"
    assert employees["E1003"]["termination_registered"] is True
    assert [e["code"] for e in hook.employees(codes=["E1004"])] == ["E1004"]
    assert hook.employees(codes=["E1004"])[0]["manager_code"] == "E1002", "a manager outside the page is looked up"
    assert hook.employees(datetime.now(timezone.utc)) == []
    assert [e["code"] for e in hook.employees_with_dates_between("employment_end", date(2025, 12, 1),
                                                                 date(2025, 12, 31))] == ["E1003"]
    assert hook.absences(date(2026, 7, 1), date(2026, 7, 31))[0]["employee_code"] == "E1002"
    row = {"employee_code": "E1001", "date": "2026-10-01", "time_type": "WORK", "hours": 8.0}
    first = hook.import_time(row)
    assert hook.import_time({**row, "hours": 7.25}) == first
    assert hook.imported_time(date(2026, 10, 1), date(2026, 10, 31)) == [
        {"employee_code": "E1001", "date": "2026-10-01", "time_type": "WORK", "hours": 7.25, "comment": None}]


def test_wrong_credentials_fail_the_test_button_without_showing_the_secret(horizon, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_VISMA_HORIZON_DEFAULT",
                       f'{{"conn_type": "visma_horizon", "host": "{horizon.base}", "login": "x",'
                       f' "password": "not-the-secret", "extra": {{"backoff": 0.01}}}}')
    ok, message = VismaHorizonHook().test_connection()
    assert not ok and "AUTHENTICATION_FAILED" in message
    assert not any(secret in message for secret in SECRET_VALUES + ["not-the-secret"])


def test_confirmed_payroll_runs_and_their_payments(horizon):
    run_pk, draft_pk = horizon.seed(payroll_runs=[
        {"Period": "2026-10", "PayDate": "2026-11-05", "Currency": "EUR", "Status": "CONFIRMED"},
        {"Period": "2026-11", "PayDate": "2026-12-05", "Currency": "EUR", "Status": "DRAFT"}])["payroll_runs"]
    payment = {"EmployeeCode": "E1", "EmployeeName": "Jānis Bērziņš", "IBAN": "LV87HABA0551012345678",
               "NetAmount": "1234.56", "PayerIBAN": "LV11RIKO0002013001234"}
    horizon.seed(payroll_payments=[{**payment, "Run": run_pk}, {**payment, "Run": draft_pk}])
    hook = VismaHorizonHook()

    runs = hook.confirmed_payroll_runs()

    assert [(r["pk"], r["period"], r["pay_date"], r["currency"], r["status"]) for r in runs] == [
        (str(run_pk), "2026-10", "2026-11-05", "EUR", "CONFIRMED")]
    assert hook.confirmed_payroll_runs(date(2026, 11, 5)) == runs
    assert hook.confirmed_payroll_runs(date(2026, 11, 6)) == []
    assert hook.payroll_payments(runs[0]["pk"]) == [
        {"employee_code": "E1", "name": "Jānis Bērziņš", "iban": "LV87HABA0551012345678", "net_amount": "1234.56",
         "payer_iban": "LV11RIKO0002013001234"}]
