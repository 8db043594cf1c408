"""erpbridge is an installed Airflow provider: Airflow lists it with its connection types and hooks."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from erpbridge.provider import SECRET_EXTRAS, get_provider_info

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "plugins" / "erpbridge" / "hooks"
EXTRA_READ = re.compile(r"extra(?:_dejson)?\.get\(\"(\w+)\"")


def get_provider_info_by_type() -> dict:
    return {c["connection-type"]: c for c in get_provider_info()["connection-types"]}


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


HOOK_MODULES = {"netvisor": "netvisor", "severa": "severa", "standard_books": "standard_books", "envoice": "envoice",
                "visma_horizon": "visma_horizon", "active_directory": "active_directory",
                "erpbridge_sftp": "exchange_sftp", "eservice": "eservice", "weighing": "weighing"}


@pytest.mark.parametrize("conn_type", sorted(HOOK_MODULES))
def test_airflow_builds_every_hook_from_a_connection(conn_type):
    from airflow.sdk import Connection

    hook = Connection(conn_id=f"my_{conn_type}", conn_type=conn_type).get_hook()
    assert type(hook).__name__ == get_provider_info_by_type()[conn_type]["hook-class-name"].rpartition(".")[2]
    assert hook.conn_id == f"my_{conn_type}"
    assert type(hook)().conn_id == f"{conn_type}_default"  # positional / default use stays as it was
    assert type(hook)(f"other_{conn_type}").conn_id == f"other_{conn_type}"


@pytest.mark.parametrize("conn_type", sorted(HOOK_MODULES))
def test_every_extra_a_hook_reads_has_a_typed_form_field(conn_type):
    sources = [(HOOKS / f"{HOOK_MODULES[conn_type]}.py").read_text()]
    if conn_type not in ("active_directory", "erpbridge_sftp"):  # the HTTP hooks' shared extras
        sources.append((HOOKS / "base.py").read_text())
    read = {name for source in sources for name in EXTRA_READ.findall(source)}
    fields = get_provider_info_by_type()[conn_type]["conn-fields"]
    assert read and read <= set(fields), f"extras without a form field: {sorted(read - set(fields))}"
    for name, field in fields.items():
        assert "null" in field["schema"]["type"], f"{name}: an empty field must be allowed"


def test_secret_extras_are_password_fields_masked_by_every_deployment():
    assert SECRET_EXTRAS == ["partner_key"]
    fields = get_provider_info_by_type()["netvisor"]["conn-fields"]
    assert fields["partner_key"]["schema"]["format"] == "password"
    compose = (ROOT / "docker-compose.yaml").read_text()
    assert f"AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES: '{','.join(SECRET_EXTRAS)}'" in compose


def test_the_test_button_reaches_each_hooks_test_connection(netvisor, severa, standard_books, envoice, horizon):
    from airflow.sdk import Connection

    for conn_type in ("netvisor", "severa", "standard_books", "envoice", "visma_horizon"):
        ok, message = Connection.get(f"{conn_type}_default").test_connection()
        assert ok, message
    netvisor.configure(partner_key="another-key")
    ok, message = Connection.get("netvisor_default").test_connection()
    assert not ok and message.startswith("Netvisor connection failed: "), message
