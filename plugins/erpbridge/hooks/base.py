"""What every erpbridge hook shares: connection settings for the HTTP client and test_connection."""

from __future__ import annotations

import logging
import os
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from erpbridge.hooks.transport import HttpClient

log = logging.getLogger(__name__)


class HttpSystemHook(BaseHook):
    """Base of hooks whose system speaks HTTP. Subclasses set the four connection attributes and take
    ``<conn_type>_conn_id`` as their first argument (the keyword ``Connection.get_hook()`` passes).

    Optional extras on any such connection: ``verify`` (default true; a CA bundle path; only an explicit
    false turns checks off, see :func:`tls_verify`),
    ``timeout`` seconds, ``attempts`` and ``backoff`` seconds for retries.
    """

    system_name = "external system"
    default_timeout = 60.0
    rate_per_second = 0.0

    def __init__(self, conn_id: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.conn_id = conn_id or self.default_conn_name
        self._client: HttpClient | None = None

    @cached_property
    def connection(self):
        conn = self.get_connection(self.conn_id)
        self.configure(conn)
        return conn

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            conn = self.connection
            extra = conn.extra_dejson
            self._client = HttpClient(
                system=self.system_name,
                base_url=conn.host or "",
                authorize=self.authorize,
                verify=tls_verify(extra.get("verify", True), self.conn_id),
                timeout=float(extra.get("timeout", self.default_timeout)),
                attempts=int(extra.get("attempts", 6)),
                backoff=float(extra.get("backoff", 0.5)),
                rate_per_second=float(extra.get("rate_per_second", self.rate_per_second)),
            )
        return self._client

    def configure(self, conn) -> None:
        """Read credentials from the connection (called once, before the first request)."""
        raise NotImplementedError

    def authorize(self, request) -> None:
        """Add authentication to one prepared request."""
        raise NotImplementedError

    def probe(self) -> str:
        """A cheap authenticated read; returns a short description of what was read."""
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        try:
            return True, f"Connected to {self.system_name}: {self.probe()}"
        except Exception as exc:  # shown in the UI's Test button, never raised
            return False, f"{self.system_name} connection failed: {exc}"


def tls_verify(value: Any, conn_id: str) -> bool | str:
    """The ``verify`` extra: certificate checks stay on unless it is explicitly false (boolean or "false"),
    which is logged as a warning each time; null (the connection form's untouched switch) keeps them on; a
    string other than true/false must be an existing CA bundle. Anything else (empty, 0, a missing file) is
    refused, naming the connection."""
    text = value.strip().lower() if isinstance(value, str) else None
    if value is True or value is None or text == "true":
        return True
    if value is False or text == "false":
        log.warning("connection %s: TLS certificate checks are OFF (extra verify=false)", conn_id)
        return False
    if text and os.path.isfile(value.strip()):
        return value.strip()
    raise ValueError(f"connection {conn_id}: extra verify={value!r} is not true, false or the path of a CA bundle"
                     " file; certificate checks stay on only with a readable value")
