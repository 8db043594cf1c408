"""The Severa simulator and hook against Severa's published OpenAPI (tests/contract/severa/openapi-v1.json).

Every test using the ``severa`` fixture has its whole Severa traffic held to the contract when it ends
(tests/conftest.py); these tests prove that judge can fail, and check what the simulator serves."""

from __future__ import annotations

import copy

import pytest
from starlette.routing import Route

from erpbridge.hooks.severa import SeveraHook
from include.simulators import severa as severa_sim
from tests.contract import severa_openapi as contract

USER = "a3000000-0000-4000-8000-000000000001"


@pytest.fixture
def exchanges(severa) -> list[dict]:
    """A small real session through the hook: token, a list page, a record, a 404, a PATCH."""
    severa.seed(**copy.deepcopy(severa_sim.DEMO_SEED))
    hook = SeveraHook()
    [first, *_] = next(iter(hook.iter_changed("customers", None)))
    hook.get("customers", first["guid"])
    assert hook.get("customers", "00000000-0000-4000-8000-000000000000") is None
    hook.update("customers", first["guid"], {"name": "Renamed Oy"})
    return severa.admin("GET", "exchanges")


def test_the_hooks_session_is_clean(exchanges):
    assert [(e["method"], e["path"].rsplit("/", 1)[-1][:9], e["status"]) for e in exchanges] == [
        ("POST", "token", 200), ("GET", "customers", 200), ("GET", "c1000000-", 200), ("GET", "00000000-", 404),
        ("PATCH", "c1000000-", 200)]
    assert contract.problems(exchanges) == []


def test_an_unknown_property_in_an_answer_fails(exchanges):
    listed = copy.deepcopy(exchanges[1])
    listed["response_body"][0]["countryCode"] = "FI"
    assert contract.response_problems(listed) == [
        "GET /v1/customers -> 200: 0: Additional properties are not allowed ('countryCode' was unexpected)"]


def test_a_wrong_type_a_bad_enum_and_a_404_body_fail(exchanges):
    listed, missing = copy.deepcopy(exchanges[1]), copy.deepcopy(exchanges[3])
    listed["response_body"][0]["number"] = "1001"
    assert contract.response_problems(listed) == ["GET /v1/customers -> 200: 0/number: '1001' is not of type 'integer'"]
    missing.update(response_size=12, content_type="application/json", response_body={"error": {}})
    assert contract.response_problems(missing) == [
        "GET /v1/customers/{guid} -> 404: the contract gives this answer no body"]


def test_requests_off_the_contract_fail(exchanges):
    listed, patch = copy.deepcopy(exchanges[1]), copy.deepcopy(exchanges[4])
    assert contract.request_problems({**listed, "query": "rowCount=100&travelReimbursementGuids=x"}) == [
        "GET /v1/customers: query parameter 'travelReimbursementGuids' is not in the contract"]
    assert contract.request_problems({**listed, "query": "numbers=12A"}) == [
        "GET /v1/customers: query numbers: 0: '12A' is not of type 'integer'"]
    assert contract.request_problems({**listed, "path": "/rest-api/v1/invoices/x/rows"}) == [
        "GET /rest-api/v1/invoices/x/rows: no such operation in the contract"]
    patch["request_body"] = [{"op": "replace", "path": "/name", "value": "X"}]
    assert contract.request_problems(patch) == [
        "PATCH /v1/customers/{guid}: body 0/op: 'replace' is not one of "
        "['Add', 'Copy', 'Move', 'Remove', 'Replace']"]


def test_a_scope_the_token_lacks_fails(exchanges):
    assert contract.request_problems(exchanges[1], granted={"users:read"}) == [
        "GET /v1/customers: needs scope 'customers:read', which the token was not granted"]
    assert contract.request_problems(exchanges[1], granted={"customers:read"}) == []


def test_every_route_the_simulator_serves_is_a_contract_operation():
    app = severa_sim.create_app()
    served = [(method, route.path) for route in app.routes if isinstance(route, Route)
              and route.path.startswith(severa_sim.BASE) for method in route.methods - {"HEAD"}]
    assert len(served) > 40
    missing = [f"{method} {path}" for method, path in served if contract.operation(method, path) is None]
    assert missing == []


def test_the_simulators_scopes_are_the_contracts():
    declared = contract.spec()["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]["scopes"]
    assert sorted(severa_sim.ALL_SCOPES) == sorted(declared)
    for resource in severa_sim.RESOURCES:
        if "list" in resource.routes:
            listed = contract.operation("GET", f"/v1/{resource.name}")
            assert listed.scopes == [f"{resource.area}:read"], resource.name


def test_the_scopes_the_readme_names_per_dag_are_the_contracts():
    """Each DAG's flow tests run with exactly these scopes (``scope_connection``); here: they exist."""
    listed = contract.readme_scopes()
    assert sorted(listed) == ["horizon_payroll_time_import", "horizon_severa_absences",
                              "netvisor_severa_purchase_invoices",
                              "severa_netvisor_hours", "severa_netvisor_registers", "severa_netvisor_sales_invoices",
                              "severa_netvisor_travel_invoices"]
    assert all(scopes and set(scopes) <= set(severa_sim.ALL_SCOPES) for scopes in listed.values())
