"""Provider metadata: makes erpbridge's connection types appear in the Airflow UI."""

from __future__ import annotations


def _conn_type(conn_type: str, hook: str, name: str, relabeling: dict, placeholders: dict, fields: dict) -> dict:
    return {
        "hook-class-name": f"erpbridge.hooks.{hook}",
        "hook-name": name,
        "connection-type": conn_type,
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port"],
            "relabeling": relabeling,
            "placeholders": placeholders,
        },
        "conn-fields": {
            key: {"label": label, "schema": {"type": ["string", "null"]}} for key, label in fields.items()
        },
    }


def get_provider_info() -> dict:
    return {
        "package-name": "erpbridge",
        "name": "erpbridge",
        "description": "Integrations between business systems: Netvisor, Visma Severa and more.",
        "versions": ["0.1.0"],
        "hooks": [
            {"integration-name": "Netvisor", "python-modules": ["erpbridge.hooks.netvisor"]},
            {"integration-name": "Visma Severa", "python-modules": ["erpbridge.hooks.severa"]},
        ],
        "connection-types": [
            _conn_type(
                "netvisor",
                "netvisor.NetvisorHook",
                "Netvisor",
                {"host": "Base URL", "login": "Customer ID", "password": "Customer key"},
                {"host": "https://integration.netvisor.fi"},
                {
                    "sender": "Sender (integration name)",
                    "partner_id": "Partner ID",
                    "partner_key": "Partner key",
                    "organisation_id": "Organisation ID (business id)",
                    "language": "Interface language (FI/EN/SE)",
                },
            ),
            _conn_type(
                "severa",
                "severa.SeveraHook",
                "Visma Severa",
                {"host": "Base URL (up to /rest-api)", "login": "Client ID", "password": "Client secret"},
                {"host": "https://api.severa.visma.com/rest-api"},
                {"scope": "API scopes (comma separated)"},
            ),
        ],
    }
