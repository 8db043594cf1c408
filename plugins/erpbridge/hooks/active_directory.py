"""Active Directory over LDAP (ldap3): LDAPS or StartTLS, certificate checked by default.

Connection: host (+ port, default 636 for LDAPS, 389 for StartTLS), login = bind user (e.g.
``svc-erpbridge@corp.example`` or a DN), password. Extras:

- ``base_dn`` (searched for existing accounts), ``users_ou`` (where new users are created),
  ``groups`` (base groups: a list of DNs or one DN per line / separated by ``;``), ``upn_suffix``
  (``corp.example``; default derived from ``base_dn``);
- ``use_starttls`` (plain port + StartTLS instead of LDAPS), ``ca_file`` (CA bundle),
  ``verify`` (certificate check; off ONLY when explicitly false, see ``hooks.base.tls_verify``),
  ``tls_server_name`` (the exact name the certificate must carry when the host is an address; no
  wildcard), ``timeout`` seconds.

Every value put in a filter is escaped with ``escape_filter_chars``, every value put in a DN with
``escape_rdn``. Passwords are generated here (:func:`generate_password`), written over TLS with
the Microsoft password extension and never logged, stored or returned.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import string
from functools import cached_property
from typing import Any, Iterable

from airflow.sdk import BaseHook

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import tls_verify

log = logging.getLogger(__name__)

UAC_NORMAL = 512
UAC_DISABLED_BIT = 2
USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
USER_ATTRIBUTES = ["sAMAccountName", "userPrincipalName", "givenName", "sn", "displayName", "cn", "employeeID",
                   "department", "title", "manager", "userAccountControl", "description", "memberOf"]
# LDAP result codes that mean "this record's data is refused" (quarantine), not "the system is down"
RECORD_RESULTS = {"constraintViolation", "unwillingToPerform", "objectClassViolation", "invalidAttributeSyntax",
                  "entryAlreadyExists", "namingViolation", "attributeOrValueExists", "invalidDNSyntax",
                  "notAllowedOnRDN", "undefinedAttributeType"}


def generate_password(length: int = 24) -> str:
    """A random password with upper, lower, digit and symbol characters (AD complexity rules)."""
    alphabet = string.ascii_letters + string.digits + "!#%+-.:=?@_"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (any(c.islower() for c in candidate) and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate) and any(not c.isalnum() for c in candidate)):
            return candidate


def filter_value(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return escape_filter_chars(str(value))


def rdn_value(value: str) -> str:
    from ldap3.utils.dn import escape_rdn

    return escape_rdn(str(value))


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "0", "no", "off"}
    return bool(value)


class ActiveDirectoryHook(BaseHook):
    conn_name_attr = "active_directory_conn_id"
    default_conn_name = "active_directory_default"
    conn_type = "active_directory"
    hook_name = "Active Directory"
    system_name = "Active Directory"

    def __init__(self, active_directory_conn_id: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.conn_id = active_directory_conn_id or self.default_conn_name
        self._conn = None

    # --- connection settings ------------------------------------------------------------------

    @cached_property
    def settings(self) -> dict:
        conn = self.get_connection(self.conn_id)
        extra = conn.extra_dejson
        starttls = _flag(extra.get("use_starttls"), False)
        base_dn = extra.get("base_dn") or ""
        groups = extra.get("groups") or []
        if isinstance(groups, str):
            groups = [g.strip() for g in groups.replace(";", "\n").splitlines() if g.strip()]
        server_name = extra.get("tls_server_name") or None
        if server_name is not None and (not isinstance(server_name, str) or "*" in server_name):
            raise ValueError(f"connection {self.conn_id}: extra tls_server_name={server_name!r} must be the exact"
                             " host name the certificate carries (a wildcard would switch the host-name check off)")
        verify = tls_verify(extra.get("verify", True), self.conn_id)
        default_suffix = ".".join(part.split("=", 1)[1] for part in base_dn.split(",") if part.lower().startswith("dc="))
        return {
            "host": conn.host or "",
            "port": int(conn.port or (389 if starttls else 636)),
            "starttls": starttls,
            "user": conn.login or "",
            "password": conn.password or "",
            "base_dn": base_dn,
            "users_ou": extra.get("users_ou") or base_dn,
            "groups": list(groups),
            "upn_suffix": extra.get("upn_suffix") or default_suffix,
            "ca_file": extra.get("ca_file") or (verify if isinstance(verify, str) else None),
            "verify": verify is not False,
            "tls_server_name": server_name,
            "timeout": int(float(extra.get("timeout", 30))),
        }

    def _server(self):
        from ldap3 import Server, Tls

        cfg = self.settings
        tls = Tls(
            validate=ssl.CERT_REQUIRED if cfg["verify"] else ssl.CERT_NONE,
            ca_certs_file=cfg["ca_file"] or None,
            valid_names=[cfg["tls_server_name"]] if cfg["tls_server_name"] else None,
        )
        return Server(cfg["host"], port=cfg["port"], use_ssl=not cfg["starttls"], tls=tls,
                      connect_timeout=cfg["timeout"])

    def get_conn(self):
        """A bound ldap3 connection (TLS established before the bind)."""
        from ldap3 import AUTO_BIND_NO_TLS, AUTO_BIND_TLS_BEFORE_BIND, Connection
        from ldap3.core.exceptions import LDAPException

        if self._conn is None:
            cfg = self.settings
            try:
                self._conn = Connection(
                    self._server(), user=cfg["user"], password=cfg["password"], receive_timeout=cfg["timeout"],
                    auto_bind=AUTO_BIND_TLS_BEFORE_BIND if cfg["starttls"] else AUTO_BIND_NO_TLS,
                    raise_exceptions=False)
            except LDAPException as exc:
                raise ExternalSystemError(self.system_name, f"bind as {cfg['user']} failed: {exc}") from exc
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.unbind()
            self._conn = None

    def test_connection(self) -> tuple[bool, str]:
        try:
            conn = self.get_conn()
            cfg = self.settings
            for what in ("base_dn", "users_ou"):
                if not conn.search(cfg[what], "(objectClass=*)", search_scope="BASE", attributes=[]):
                    return False, f"{what} {cfg[what]!r} not readable: {conn.result.get('message') or conn.result}"
            return True, f"Bound to {cfg['host']}:{cfg['port']} as {cfg['user']}; {cfg['users_ou']} readable"
        except Exception as exc:  # shown in the UI's Test button, never raised
            return False, f"Active Directory connection failed: {exc}"
        finally:
            self.close()

    # --- reads --------------------------------------------------------------------------------

    def search(self, ldap_filter: str, attributes: Iterable[str] = USER_ATTRIBUTES, base: str | None = None) -> list[dict]:
        """Entries under ``base`` (default base_dn) as {"dn", attr: value} dicts; ``ldap_filter`` pre-escaped."""
        from ldap3 import SUBTREE

        conn = self.get_conn()
        entries = conn.extend.standard.paged_search(base or self.settings["base_dn"], ldap_filter, SUBTREE,
                                                    attributes=list(attributes), paged_size=500, generator=True)
        found = []
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            found.append({"dn": entry["dn"], **{k: _plain(v) for k, v in entry["attributes"].items()}})
        if conn.result.get("result") not in (0, None):
            raise ExternalSystemError(self.system_name, f"search {ldap_filter} failed: {conn.result.get('message')}")
        return found

    def users_by(self, attribute: str, values: Iterable[str]) -> dict[str, dict]:
        """{value: user} for users whose ``attribute`` equals one of ``values`` (escaped), 100 per query."""
        values = [str(v) for v in values if v not in (None, "")]
        found: dict[str, dict] = {}
        for start in range(0, len(values), 100):
            chunk = values[start:start + 100]
            clauses = "".join(f"({attribute}={filter_value(v)})" for v in chunk)
            query = f"(&(objectCategory=person)(objectClass=user)(|{clauses}))"
            for user in self.search(query):
                key = str(user.get(attribute) or "")
                if key in chunk:
                    found.setdefault(key, user)
        return found

    def taken(self, attribute: str, value: str) -> bool:
        """Whether any object in the base DN already carries ``value`` in ``attribute``."""
        return bool(self.search(f"({attribute}={filter_value(value)})", attributes=["cn"]))

    def exists(self, dn: str) -> bool:
        conn = self.get_conn()
        ok = conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=[])
        if not ok and conn.result.get("description") not in ("noSuchObject", "success"):
            raise ExternalSystemError(self.system_name, f"lookup of {dn} failed: {conn.result.get('message')}")
        return bool(ok and conn.entries)

    def user_dn(self, cn: str) -> str:
        return f"CN={rdn_value(cn)},{self.settings['users_ou']}"

    # --- writes -------------------------------------------------------------------------------

    def create_user(self, cn: str, attributes: dict, enabled: bool) -> str:
        """Add a user (disabled), set a random password over TLS with change-at-next-logon, then
        enable it when ``enabled``. A refused password removes the half-made entry again and
        raises RecordRejected with the server's message (the next run starts over)."""
        dn = self.user_dn(cn)
        attrs = {k: v for k, v in attributes.items() if v not in (None, "", [])}
        self._check(self.get_conn().add(dn, USER_CLASSES, attrs), f"add {dn}")
        try:
            self._check(self.get_conn().extend.microsoft.modify_password(dn, generate_password()),
                        f"set the password of {dn}")
            self.modify(dn, {"pwdLastSet": 0, "userAccountControl": UAC_NORMAL | (0 if enabled else UAC_DISABLED_BIT)})
        except Exception:
            self.get_conn().delete(dn)  # never usable: no password was set
            raise
        return dn

    def modify(self, dn: str, changes: dict) -> None:
        """Replace attributes; a None value clears the attribute."""
        from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

        if not changes:
            return
        ops = {name: [(MODIFY_DELETE, [])] if value in (None, "") else [(MODIFY_REPLACE, [value])]
               for name, value in changes.items()}
        self._check(self.get_conn().modify(dn, ops), f"modify {dn} ({', '.join(sorted(changes))})")

    def rename(self, dn: str, new_cn: str) -> str:
        self._check(self.get_conn().modify_dn(dn, f"CN={rdn_value(new_cn)}"), f"rename {dn}")
        return f"CN={rdn_value(new_cn)},{dn.split(',', 1)[1]}" if "," in dn else f"CN={rdn_value(new_cn)}"

    def add_to_groups(self, dn: str, groups: Iterable[str]) -> list[str]:
        """Add ``dn`` as a member of each group it is not yet in; returns the groups joined."""
        from ldap3 import MODIFY_ADD

        joined = []
        for group in groups:
            conn = self.get_conn()
            ok = conn.modify(group, {"member": [(MODIFY_ADD, [dn])]})
            if ok:
                joined.append(group)
            elif conn.result.get("description") not in ("entryAlreadyExists", "attributeOrValueExists"):
                self._check(ok, f"add {dn} to group {group}")
        return joined

    def _check(self, ok: bool, what: str) -> None:
        if ok:
            return
        result = self.get_conn().result or {}
        description = result.get("description") or "error"
        message = f"{what}: {description}: {result.get('message') or ''}".strip()
        if description in RECORD_RESULTS:
            raise RecordRejected(message, description)
        raise ExternalSystemError(self.system_name, message, description)


def _plain(value: Any) -> Any:
    """ldap3 attribute values as plain strings / ints / lists of strings."""
    if isinstance(value, list):
        if not value:
            return None
        return value[0] if len(value) == 1 else [str(v) for v in value]
    return value
