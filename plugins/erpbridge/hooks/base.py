"""What every erpbridge hook shares: connection settings for the HTTP client and test_connection."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from erpbridge.hooks.http import HttpClient


class HttpSystemHook(BaseHook):
    """Base of hooks whose system speaks HTTP. Subclasses set the four connection attributes and take
    ``<conn_type>_conn_id`` as their first argument (the keyword ``Connection.get_hook()`` passes).

    Optional extras on any such connection: ``verify`` (false, or a CA bundle path; default true),
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
                verify=_verify(extra.get("verify", True)),
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


def _verify(value: Any) -> bool | str:
    if isinstance(value, str) and value.lower() in {"false", "0", "no"}:
        return False
    if isinstance(value, str) and value.lower() in {"true", "1", "yes"}:
        return True
    return value
