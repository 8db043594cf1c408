"""Visma Severa REST API v1: OAuth client-credentials token, JSON, two paging styles, ~10 req/s.

Records cross this hook as the API's own JSON dicts. The absence resource is an ASSUMPTION, kept in
``iter_absences``.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Iterator

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.http import Retryable

PAGE_SIZE = 100
TOKEN_MARGIN_SECONDS = 60
RECORD_ERROR_TYPES = {"InvalidParameter", "InvalidOperation", "NotFound"}


class SeveraHook(HttpSystemHook):
    """Severa client. Connection: host = base URL up to /rest-api, login = client id, password = secret."""

    conn_name_attr = "severa_conn_id"
    default_conn_name = "severa_default"
    conn_type = "severa"
    hook_name = "Visma Severa"
    system_name = "Severa"
    rate_per_second = 9.0  # the vendor allows about 10 per second per client

    def __init__(self, severa_conn_id: str | None = None, **kwargs):
        super().__init__(severa_conn_id, **kwargs)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def configure(self, conn) -> None:
        self.client_id = conn.login or ""
        self.client_secret = conn.password or ""
        self.scope = conn.extra_dejson.get("scope", "")

    def authorize(self, request) -> None:
        if request.path_url.endswith("/v1/token"):
            return
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.headers["client_id"] = self.client_id

    def token(self) -> str:
        """A valid access token, fetched again shortly before the old one expires."""
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                client = self.client  # reads the connection (the credentials) on first use
                body = {"client_id": self.client_id, "client_secret": self.client_secret, "scope": self.scope}
                try:
                    reply = client.call("POST", "v1/token", json=body, parse=_parse_json)
                except _TokenRejected as exc:
                    raise ExternalSystemError("Severa", f"token refused: {exc}", "AuthenticationRequired") from exc
                self._token = reply["access_token"]
                lifetime = float(reply.get("access_token_expires_in", 3600))
                self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2)
            return self._token

    def request(self, method: str, path: str, *, params=None, json=None, write: bool = False):
        """One call; a 401 (token expired early or revoked) fetches a new token and repeats once."""
        try:
            return self.client.call(method, path, params=params, json=json, parse=_parse_json_response,
                                    write=write)
        except _TokenRejected:
            self._token = None
        try:
            return self.client.call(method, path, params=params, json=json, parse=_parse_json_response,
                                    write=write)
        except _TokenRejected as exc:
            raise ExternalSystemError("Severa", f"access refused: {exc}", "AuthenticationRequired") from exc

    def probe(self) -> str:
        page = self.request("GET", "v1/customers", params={"rowCount": 1})
        return f"token granted, customers readable ({len(page.body)} on the first page)"

    # --- paging ---------------------------------------------------------------------------------

    def iter_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Pages of a list that uses ``pageToken`` (next token in the NextPageToken header)."""
        params = {"rowCount": PAGE_SIZE, **(params or {})}
        while True:
            page = self.request("GET", path, params=params)
            yield page.body
            token = page.headers.get("NextPageToken")
            if not token:
                return
            params = {**params, "pageToken": token}

    def iter_rows_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Pages of an older list that uses ``firstRow`` + ``rowCount``."""
        first = 0
        while True:
            page = self.request("GET", path, params={**(params or {}), "firstRow": first, "rowCount": PAGE_SIZE}).body
            if page:
                yield page
            if len(page) < PAGE_SIZE:
                return
            first += len(page)

    # --- resources ------------------------------------------------------------------------------

    def iter_changed(self, resource: str, changed_since: datetime | None) -> Iterator[list[dict]]:
        """Pages of ``resource`` changed since the given time (all when None)."""
        params = {"changedSince": _severa_time(changed_since)} if changed_since else {}
        pager = self.iter_rows_pages if resource in {"businessunits", "costcenters"} else self.iter_pages
        return pager(f"v1/{resource}", params)

    def iter_absences(self, first_day: str, last_day: str) -> Iterator[list[dict]]:
        """Pages of the absences overlapping the days ``first_day`` .. ``last_day`` (YYYY-MM-DD).

        ASSUMPTION (our contract reference names no absence resource): absences are the calendar
        activities of category Absence, ``GET /v1/activities`` with ``activityCategories=Absence`` and
        ``startDateTime`` / ``endDateTime`` (activities overlapping them), paged like workhours; each
        has ``owner`` (the person), ``activityType`` (the absence type, ``/v1/activitytypes`` with a
        code), ``startDateTime``, ``endDateTime`` and ``isAllDay``."""
        return self.iter_pages("v1/activities", {"activityCategories": "Absence",
                                                 "startDateTime": f"{first_day}T00:00:00",
                                                 "endDateTime": f"{last_day}T23:59:59"})

    def get(self, resource: str, guid: str) -> dict | None:
        try:
            return self.request("GET", f"v1/{resource}/{guid}").body
        except RecordRejected as exc:
            if exc.category == "NotFound":
                return None
            raise

    def find(self, resource: str, field: str, values: list[str]) -> dict[str, dict]:
        """{value: record} for records whose ``field`` (e.g. numbers, code) is one of ``values``."""
        found: dict[str, dict] = {}
        key = {"numbers": "number"}.get(field, field)
        for value in values:
            for page in self.iter_pages(f"v1/{resource}", {field: value}):
                found.update({str(r[key]): r for r in page if str(r.get(key)) == value})
        return found

    def download(self, path: str) -> bytes:
        """A binary resource (e.g. ``v1/invoices/{guid}/pdf``); errors as for JSON calls. A body served as
        a PDF must be a whole one (header and end-of-file marker): a cut one is read again, as is any
        unreadable answer, and never passed on."""
        def parse(response):
            if response.ok:
                body = response.content
                if response.headers.get("content-type", "").startswith("application/pdf") and not (
                        body.startswith(b"%PDF-") and b"%%EOF" in body[-1024:]):
                    raise Retryable(f"HTTP {response.status_code}: not a whole PDF ({len(body)} bytes)",
                                    status=response.status_code)
                return body
            return _parse_json_response(response)

        try:
            return self.client.call("GET", path, parse=parse)
        except _TokenRejected:
            self._token = None
        return self.client.call("GET", path, parse=parse)

    def create(self, resource: str, record: dict) -> dict:
        return self.request("POST", f"v1/{resource}", json=record, write=True).body

    def update(self, resource: str, guid: str, changes: dict) -> dict:
        """PATCH with JSON Patch ``replace`` operations, one per changed top-level field."""
        patch = [{"op": "replace", "path": f"/{name}", "value": value} for name, value in changes.items()]
        return self.request("PATCH", f"v1/{resource}/{guid}", json=patch, write=True).body


class _TokenRejected(Exception):
    pass


class _Page:
    def __init__(self, body, headers):
        self.body = body
        self.headers = headers


def _parse_json(response):
    return _parse_json_response(response).body


def _parse_json_response(response) -> _Page:
    """A 2xx JSON answer, or the vendor's error envelope turned into our error kinds."""
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc
    if response.ok:
        return _Page(body, response.headers)
    error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
    kind = error.get("type", f"HTTP{response.status_code}")
    messages = [d.get("message", "") for d in error.get("details") or [] if isinstance(d, dict)]
    # the vendor's own text, each distinct message once (the envelope may repeat it in details)
    text = "; ".join(dict.fromkeys(m for m in [error.get("message"), *messages] if m)) or response.text[:300]
    if response.status_code == 401:
        raise _TokenRejected(text)
    if kind in RECORD_ERROR_TYPES or response.status_code in (400, 404, 409, 422):
        raise RecordRejected(f"{kind}: {text}", kind)
    raise ExternalSystemError("Severa", f"{kind}: {text}", kind, response.status_code)


def _severa_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
