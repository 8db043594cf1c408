"""The companies file: its defaults, its overrides, and a clear error for each kind of mistake."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from erpbridge.catalog import FLOWS, flow_of_dag
from erpbridge.companies import CompaniesFileError, company_flow, company_flows, pool_name, pools


def write(tmp_path, companies: dict):
    path = tmp_path / "companies.yaml"
    path.write_text(yaml.safe_dump({"companies": companies}))
    return path


def test_without_a_file_the_default_company_runs_every_flow_on_todays_names():
    found = company_flows(None)
    assert [cf.dag_id for cf in found] == list(FLOWS)
    registers = company_flow("severa_netvisor_registers")
    assert registers.connections == {"severa": "severa_default", "netvisor": "netvisor_default"}
    assert registers.settings_variable == "erpbridge_severa_netvisor"
    assert registers.pool("netvisor") == "netvisor_default"
    assert pools(None) == {"netvisor_default": "Netvisor accepts one request at a time per company (default)",
                           "standard_books_default": "Standard Books: one document transfer at a time per company "
                                                     "(default)"}


def test_a_company_gets_its_own_ids_names_and_pools_and_may_override_each(tmp_path):
    path = write(tmp_path, {
        "acme": {"name": "Acme Oy", "flows": {
            "severa_netvisor_registers": {"schedule": "*/30 * * * *", "connections": {"netvisor": "nv_acme_prod"}},
            "severa_netvisor_hours": {"enabled": False},
            "horizon_ad_accounts": None}},
        "beta_group": {"name": "Beta Group", "flows": {"severa_netvisor_registers": {
            "settings_variable": "beta_settings"}}},
    })
    found = {cf.dag_id: cf for cf in company_flows(path)}
    assert sorted(found) == ["horizon_ad_accounts__acme", "severa_netvisor_registers__acme",
                             "severa_netvisor_registers__beta_group"]
    acme = found["severa_netvisor_registers__acme"]
    assert (acme.company_name, acme.schedule, acme.connections, acme.settings_variable) == (
        "Acme Oy", "*/30 * * * *", {"severa": "severa_acme", "netvisor": "nv_acme_prod"},
        "erpbridge_severa_netvisor_acme")
    assert found["horizon_ad_accounts__acme"].schedule == timedelta(minutes=5)  # the catalog's
    assert found["severa_netvisor_registers__beta_group"].settings_variable == "beta_settings"
    assert set(pools(path)) == {"netvisor__acme", "netvisor__beta_group"} == {
        pool_name("netvisor", "acme"), pool_name("netvisor", "beta_group")}
    assert flow_of_dag("severa_netvisor_registers__beta_group").id == "severa_netvisor_registers"


@pytest.mark.parametrize("companies, message", [
    ({}, "needs a mapping 'companies'"),
    ({"Acme": {"name": "Acme"}}, "company 'Acme': a key is lower-case letters and digits"),
    ({"ac__me": {"name": "Acme"}}, "company 'ac__me': a key is"),
    ({"acme": {"flows": {}}}, "company 'acme': needs a name"),
    ({"acme": {"name": "Acme", "flow": {}}}, "company 'acme': unknown key(s) flow"),
    ({"acme": {"name": "Acme", "flows": {"severa_netvisor": {}}}}, "no flow 'severa_netvisor' in the catalog"),
    ({"acme": {"name": "Acme", "flows": {"horizon_ad_accounts": {"pool": "x"}}}},
     "flow horizon_ad_accounts: a flow takes only connections, enabled, schedule, settings_variable"),
    ({"acme": {"name": "Acme", "flows": {"horizon_ad_accounts": {"connections": {"netvisor": "nv"}}}}},
     "connections of unknown type(s) netvisor; this flow uses visma_horizon, active_directory"),
    ({"acme": {"name": "Acme", "flows": {"horizon_ad_accounts": {"connections": {"visma_horizon": "a b"}}}}},
     "'a b' is not a connection id"),
    ({"acme": {"name": "Acme", "flows": {"horizon_ad_accounts": {"schedule": 5}}}}, "schedule is a cron"),
])
def test_each_mistake_is_named_with_the_file_company_and_flow(tmp_path, companies, message):
    path = write(tmp_path, companies)
    with pytest.raises(CompaniesFileError) as raised:
        company_flows(path)
    assert str(path) in str(raised.value) and message in str(raised.value)
