"""erpbridge is an installed Airflow provider: Airflow lists it with its connection types and hooks."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from erpbridge.provider import get_provider_info


def test_airflow_lists_the_provider_and_its_connection_types(airflow_db):
    out = subprocess.run([sys.executable, "-m", "airflow", "providers", "list", "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    assert "erpbridge" in {p["package_name"] for p in json.loads(out[out.index("["):])}
    hooks = subprocess.run([sys.executable, "-m", "airflow", "providers", "hooks", "-o", "json"],
                           capture_output=True, text=True, check=True).stdout
    types = {h["connection_type"]: h for h in json.loads(hooks[hooks.index("["):])}
    assert types["netvisor"]["class"] == "erpbridge.hooks.netvisor.NetvisorHook"
    assert types["severa"]["class"] == "erpbridge.hooks.severa.SeveraHook"
    assert types["standard_books"]["class"] == "erpbridge.hooks.standard_books.StandardBooksHook"
    assert types["envoice"]["class"] == "erpbridge.hooks.envoice.EnvoiceHook"


def test_each_connection_type_names_a_hook_with_matching_attributes():
    for conn_type in get_provider_info()["connection-types"]:
        module, _, name = conn_type["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), name)
        assert hook.conn_type == conn_type["connection-type"]
        assert hook.hook_name == conn_type["hook-name"]
        assert hook.default_conn_name == f"{hook.conn_type}_default"
        assert callable(hook.test_connection)
        assert conn_type["conn-fields"], "extra fields are labelled in the UI"
