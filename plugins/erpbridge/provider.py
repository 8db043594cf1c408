"""Provider metadata: makes erpbridge's connection types appear in the Airflow UI."""

from __future__ import annotations


def _conn_type(conn_type: str, hook: str, name: str, relabeling: dict, placeholders: dict, fields: dict,
               hidden: tuple[str, ...] = ("schema", "port")) -> dict:
    return {
        "hook-class-name": f"erpbridge.hooks.{hook}",
        "hook-name": name,
        "connection-type": conn_type,
        "ui-field-behaviour": {
            "hidden-fields": list(hidden),
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
        "description": "Integrations between business systems: Netvisor, Severa, Standard Books, Envoice and more.",
        "versions": ["0.1.0"],
        "hooks": [
            {"integration-name": "Netvisor", "python-modules": ["erpbridge.hooks.netvisor"]},
            {"integration-name": "Visma Severa", "python-modules": ["erpbridge.hooks.severa"]},
            {"integration-name": "Standard Books", "python-modules": ["erpbridge.hooks.standard_books"]},
            {"integration-name": "Envoice", "python-modules": ["erpbridge.hooks.envoice"]},
            {"integration-name": "Visma Horizon", "python-modules": ["erpbridge.hooks.visma_horizon"]},
            {"integration-name": "Active Directory", "python-modules": ["erpbridge.hooks.active_directory"]},
            {"integration-name": "WooCommerce", "python-modules": ["erpbridge.hooks.woocommerce"]},
            {"integration-name": "Fakturownia", "python-modules": ["erpbridge.hooks.fakturownia"]},
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
            _conn_type(
                "standard_books",
                "standard_books.StandardBooksHook",
                "Standard Books",
                {"host": "Base URL (without /api)", "login": "Username", "password": "Password"},
                {"host": "https://sb.example.com:8443"},
                {"company": "Company code (the number in /api/<company>/)"},
            ),
            _conn_type(
                "envoice",
                "envoice.EnvoiceHook",
                "Envoice",
                {"host": "Base URL (without /api/v1)", "password": "API key"},
                {"host": "https://api.envoice.eu"},
                {"rate_per_second": "Requests per second at most (default 20)"},
            ),
            _conn_type(
                "visma_horizon",
                "visma_horizon.VismaHorizonHook",
                "Visma Horizon",
                {"host": "Base URL (the application server, without /rest)", "login": "Web user",
                 "password": "Web user password"},
                {"host": "https://horizon.example.lv:8443"},
                {"timeout": "Timeout seconds (default 60)"},
            ),
            _conn_type(
                "active_directory",
                "active_directory.ActiveDirectoryHook",
                "Active Directory",
                {"host": "Domain controller host", "port": "Port (636 LDAPS, 389 with StartTLS)",
                 "login": "Bind user (user@domain or DN)", "password": "Bind password"},
                {"host": "dc1.corp.example", "port": "636", "login": "svc-erpbridge@corp.example"},
                {
                    "base_dn": "Base DN (searched for existing accounts)",
                    "users_ou": "OU for new users (DN)",
                    "groups": "Base groups (DNs, one per line or separated by ;)",
                    "upn_suffix": "UPN suffix (e.g. corp.example)",
                    "use_starttls": "Use StartTLS on the plain port instead of LDAPS (true/false)",
                    "ca_file": "CA bundle file for the server certificate",
                    "tls_server_name": "Name the certificate must carry (when the host is an address)",
                    "verify": "Check the certificate (default true; false only for a lab)",
                },
                hidden=("schema",),
            ),
            _conn_type(
                "woocommerce",
                "woocommerce.WooCommerceHook",
                "WooCommerce",
                {"host": "Shop URL (https://..., without /wp-json)", "login": "Consumer key",
                 "password": "Consumer secret"},
                {"host": "https://sklep.example.pl", "login": "ck_..."},
                {"verify": "Check the TLS certificate (default true; false only for a lab)",
                 "timeout": "Timeout seconds (default 60)"},
            ),
            _conn_type(
                "fakturownia",
                "fakturownia.FakturowniaHook",
                "Fakturownia",
                {"host": "Account URL (https://<account>.fakturownia.pl)", "password": "API token"},
                {"host": "https://firma.fakturownia.pl"},
                {"timeout": "Timeout seconds (default 60)"},
                hidden=("schema", "port", "login"),
            ),
        ],
    }
