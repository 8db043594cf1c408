"""Provider metadata: erpbridge's connection types in the Airflow UI, with a typed field for every
extra the hooks read (secrets as passwords, booleans as switches, numbers as numbers, choices as lists)."""

from __future__ import annotations


def _text(label: str, **schema) -> dict:
    return {"label": label, "schema": {"type": ["string", "null"], **schema}}


def _secret(label: str) -> dict:
    return _text(label, format="password")


def _flag(label: str, default: bool) -> dict:
    return {"label": label, "schema": {"type": ["boolean", "null"], "default": default}}


def _number(label: str, kind: str = "number", **schema) -> dict:
    return {"label": label, "schema": {"type": [kind, "null"], "minimum": 0, **schema}}


def _http_fields(timeout: float, rate_per_second: float = 0) -> dict:
    """The extras every HTTP hook reads (erpbridge.hooks.base.HttpSystemHook.client)."""
    return {
        "verify": _flag("Check the TLS certificate (a CA bundle path goes in the Extra JSON)", True),
        "timeout": _number(f"Timeout in seconds (default {timeout:g})"),
        "attempts": _number("Attempts per read before giving up (default 6)", "integer", minimum=1),
        "backoff": _number("First wait between attempts in seconds (default 0.5)"),
        "rate_per_second": _number(f"Requests per second at most (default {rate_per_second:g}; 0: no limit)"),
    }


def _conn_type(conn_type: str, hook: str, name: str, relabeling: dict, placeholders: dict, fields: dict,
               hidden: tuple[str, ...] = ("schema",)) -> dict:
    # HTTP hooks take the port from the base URL; Airflow 3.3's Test button in the connection list needs it
    # stored as well (it sends port 0 for a connection without one, which the api-server refuses).
    relabeling = {"port": "Port (the base URL's; for the Test button)", **relabeling}
    return {
        "hook-class-name": f"erpbridge.hooks.{hook}",
        "hook-name": name,
        "connection-type": conn_type,
        "ui-field-behaviour": {
            "hidden-fields": list(hidden),
            "relabeling": relabeling,
            "placeholders": placeholders,
        },
        "conn-fields": fields,
    }


CONNECTION_TYPES = [
    _conn_type(
        "netvisor",
        "netvisor.NetvisorHook",
        "Netvisor",
        {"host": "Base URL", "login": "Customer ID", "password": "Customer key"},
        {"host": "https://integration.netvisor.fi"},
        {
            "sender": _text("Sender (integration name)"),
            "partner_id": _text("Partner ID"),
            "partner_key": _secret("Partner key"),
            "organisation_id": _text("Organisation ID (business id)"),
            "language": _text("Interface language (default FI)", enum=["FI", "EN", "SE", None]),
            "timezone": _text("Netvisor's time zone (default Europe/Helsinki)"),
            **_http_fields(timeout=120),
        },
    ),
    _conn_type(
        "severa",
        "severa.SeveraHook",
        "Visma Severa",
        {"host": "Base URL (up to /rest-api)", "login": "Client ID", "password": "Client secret"},
        {"host": "https://api.severa.visma.com/rest-api"},
        {"scope": _text("API scopes (comma separated)"), **_http_fields(timeout=60, rate_per_second=9)},
    ),
    _conn_type(
        "standard_books",
        "standard_books.StandardBooksHook",
        "Standard Books",
        {"host": "Base URL (without /api)", "login": "Username", "password": "Password"},
        {"host": "https://sb.example.com:8443"},
        {"company": _text("Company code (the number in /api/<company>/; default 1)"), **_http_fields(timeout=60)},
    ),
    _conn_type(
        "envoice",
        "envoice.EnvoiceHook",
        "Envoice",
        {"host": "Base URL (without /api/v1)", "password": "API key"},
        {"host": "https://api.envoice.eu"},
        _http_fields(timeout=60, rate_per_second=20),
        hidden=("schema", "login"),
    ),
    _conn_type(
        "visma_horizon",
        "visma_horizon.VismaHorizonHook",
        "Visma Horizon",
        {"host": "Base URL (the application server, without /rest)", "login": "Web user",
         "password": "Web user password"},
        {"host": "https://horizon.example.lv:8443"},
        _http_fields(timeout=60),
    ),
    _conn_type(
        "eservice",
        "eservice.EServiceHook",
        "E-service payments",
        {"host": "Base URL (without /api/v1)", "password": "API key"},
        {"host": "https://eservice.example.lv"},
        _http_fields(timeout=60),
        hidden=("schema", "login"),
    ),
    _conn_type(
        "active_directory",
        "active_directory.ActiveDirectoryHook",
        "Active Directory",
        {"host": "Domain controller host", "port": "Port (636 LDAPS, 389 with StartTLS)",
         "login": "Bind user (user@domain or DN)", "password": "Bind password"},
        {"host": "dc1.corp.example", "port": "636", "login": "svc-erpbridge@corp.example"},
        {
            "base_dn": _text("Base DN (searched for existing accounts)"),
            "users_ou": _text("OU for new users (DN; default the base DN)"),
            "groups": _text("Base groups (DNs, one per line or separated by ;)", format="multiline"),
            "upn_suffix": _text("UPN suffix (default from the base DN, e.g. corp.example)"),
            "use_starttls": _flag("Use StartTLS on the plain port instead of LDAPS", False),
            "ca_file": _text("CA bundle file for the server certificate"),
            "tls_server_name": _text("Name the certificate must carry (when the host is an address)"),
            "verify": _flag("Check the certificate (off only for a lab)", True),
            "timeout": _number("Timeout in seconds (default 30)", "integer"),
        },
        hidden=("schema",),
    ),
    _conn_type(
        "woocommerce",
        "woocommerce_shop.WooCommerceHook",
        "WooCommerce",
        {"host": "Shop URL (https://..., without /wp-json)", "login": "Consumer key", "password": "Consumer secret"},
        {"host": "https://sklep.example.pl", "login": "ck_..."},
        _http_fields(timeout=60),
    ),
    _conn_type(
        "fakturownia",
        "fakturownia.FakturowniaHook",
        "Fakturownia",
        {"host": "Account URL (https://<account>.fakturownia.pl)", "password": "API token"},
        {"host": "https://firma.fakturownia.pl"},
        _http_fields(timeout=60),
        hidden=("schema", "login"),
    ),
    _conn_type(
        "weighing",
        "weighing.WeighingHook",
        "Weighing system",
        {"host": "Base URL (without /api)", "password": "API key"},
        {"host": "https://weighing.example.lv"},
        _http_fields(timeout=60),
        hidden=("schema", "login"),
    ),
    _conn_type(
        "saldeo",
        "saldeo.SaldeoHook",
        "SaldeoSMART",
        {"host": "API base URL", "login": "API user name", "password": "API token"},
        {"host": "https://saldeo.brainshare.pl"},
        _http_fields(timeout=60),
    ),
    _conn_type(
        "erpbridge_sftp",
        "exchange_sftp.ExchangeSftpHook",
        "SFTP (exchange files)",
        {"host": "SFTP server host", "port": "Port (default 22)", "login": "User",
         "password": "Password, or the user's private key (OpenSSH / PEM text)"},
        {"host": "sftp.biuro.example", "port": "22"},
        {
            "host_key": _text("The server's host key as ssh-keyscan prints it (ssh-ed25519 AAAA...); empty: the "
                              "worker's known_hosts"),
            "no_host_key_check": _flag("Accept any server without checking its host key (only for a lab)", False),
            "timeout": _number("Timeout in seconds (default 30)"),
        },
    ),
]

SECRET_EXTRAS = sorted({name for conn_type in CONNECTION_TYPES for name, field in conn_type["conn-fields"].items()
                        if field["schema"].get("format") == "password"})
"""Extras Airflow must mask in its API and logs. Airflow masks extras by name, so every deployment sets
``AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES`` to these (include/sandbox.py, docker-compose.yaml)."""


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
            {"integration-name": "E-service payments", "python-modules": ["erpbridge.hooks.eservice"]},
            {"integration-name": "Active Directory", "python-modules": ["erpbridge.hooks.active_directory"]},
            {"integration-name": "WooCommerce", "python-modules": ["erpbridge.hooks.woocommerce_shop"]},
            {"integration-name": "Fakturownia", "python-modules": ["erpbridge.hooks.fakturownia"]},
            {"integration-name": "SaldeoSMART", "python-modules": ["erpbridge.hooks.saldeo"]},
            {"integration-name": "Weighing system", "python-modules": ["erpbridge.hooks.weighing"]},
        ],
        "connection-types": CONNECTION_TYPES,
    }
