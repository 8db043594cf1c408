"""Visma Severa REST API v1 (its published OpenAPI v1.0): OAuth client-credentials token with area
scopes, JSON, two paging styles, ~10 req/s.

Records cross this hook as the API's own JSON dicts. What the contract leaves open is assumed here,
in one place each, and listed in the README ("assumed, verify first"):

- ``ROW_PAGED``: the lists the contract pages with ``firstRow`` (the others take ``pageToken``);
- ``PAGE_SIZE``: 100 rows a page, the maximum the contract states for its lists;
- ``PATCH_OP``: JSON Patch ``Replace`` as the contract's PatchOperationType spells it, with any JSON value
  (the contract types ``value`` as a string);
- ``ABSENCE_CATEGORY``: absences are the activities whose type has category ``Absences``.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Iterator

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

PAGE_SIZE = 100
ROW_PAGED = frozenset({"businessunits", "costcenters", "overtimes", "worktypes", "invoicestatuses",
                       "travelreimbursementstatuses", "travelexpensetypes"})
PATCH_OP = "Replace"
ABSENCE_CATEGORY = "Absences"
TOKEN_MARGIN_SECONDS = 60
RECORD_ERROR_TYPES = {"InvalidParameter", "InvalidOperation", "NotFound"}


class SeveraHook(HttpSystemHook):
    """Severa client. Connection: host = base URL up to /rest-api, login = client id, password = secret,
    extra ``scope`` = the comma-separated scopes to ask for (README: the scopes each DAG needs)."""

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
        request.headers["Client_Id"] = self.client_id  # every operation, the token's included
        if not request.path_url.endswith("/v1/token"):
            request.headers["Authorization"] = f"Bearer {self.token()}"

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
        self.request("GET", "heartbeat/authorized")
        return f"token granted for the scopes {self.scope or '(all the client has)'}"

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
        """Pages of a list that uses ``firstRow`` + ``rowCount``."""
        first = 0
        while True:
            page = self.request("GET", path, params={**(params or {}), "firstRow": first, "rowCount": PAGE_SIZE}).body
            if page:
                yield page
            if len(page) < PAGE_SIZE:
                return
            first += len(page)

    def iter_all(self, resource: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Pages of the list ``v1/{resource}``, in the paging style the contract gives it."""
        pager = self.iter_rows_pages if resource in ROW_PAGED else self.iter_pages
        return pager(f"v1/{resource}", params)

    # --- resources ------------------------------------------------------------------------------

    def iter_changed(self, resource: str, changed_since: datetime | None) -> Iterator[list[dict]]:
        """Pages of ``resource`` changed since the given time (all when None)."""
        return self.iter_all(resource, {"changedSince": _severa_time(changed_since)} if changed_since else {})

    def iter_absences(self, first_day: str, last_day: str) -> Iterator[list[dict]]:
        """Pages of the absences overlapping the days ``first_day`` .. ``last_day`` (YYYY-MM-DD): activities
        of category Absences that end after the first day starts and start before the last day ends; each
        has ``ownerUser`` {guid, name, code}, ``activityType`` {guid, name, category}, ``startDateTime``,
        ``endDateTime`` and ``isAllDay``."""
        return self.iter_pages("v1/activities", {"activityCategories": ABSENCE_CATEGORY,
                                                 "startDateTime": f"{first_day}T00:00:00",
                                                 "endDateTime": f"{last_day}T23:59:59"})

    def iter_deleted_hours(self, deleted_since: datetime) -> Iterator[list[dict]]:
        """Pages of the hour entries deleted since the given time (guid, user, eventDate, ...)."""
        return self.iter_pages("v1/deletedworkhours", {"deletedSince": _severa_time(deleted_since)})

    def get(self, resource: str, guid: str) -> dict | None:
        try:
            return self.request("GET", f"v1/{resource}/{guid}").body
        except RecordRejected as exc:
            if exc.category == "NotFound":
                return None
            raise

    def find(self, resource: str, field: str, values: list[str]) -> dict[str, dict]:
        """{value: record} for records whose ``field`` (numbers or code) is one of ``values``."""
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
        """POST; the created record (the contract answers some creations, e.g. projectfees, with a list)."""
        body = self.request("POST", f"v1/{resource}", json=record, write=True).body
        return body[0] if isinstance(body, list) else body

    def update(self, resource: str, guid: str, changes: dict) -> dict:
        """PATCH with JSON Patch operations (``PATCH_OP``), one per changed top-level field; the updated
        record (the contract answers a list of it)."""
        patch = [{"op": PATCH_OP, "path": f"/{name}", "value": value} for name, value in changes.items()]
        body = self.request("PATCH", f"v1/{resource}/{guid}", json=patch, write=True).body
        return body[0] if isinstance(body, list) else body


    def delete(self, resource: str, guid: str) -> bool:
        """DELETE; False when Severa no longer has the record (deleted before)."""
        try:
            self.request("DELETE", f"v1/{resource}/{guid}", write=True)
        except RecordRejected as exc:
            if exc.category == "NotFound":
                return False
            raise
        return True


class _TokenRejected(Exception):
    pass


class _Page:
    def __init__(self, body, headers):
        self.body = body
        self.headers = headers


def _parse_json(response):
    return _parse_json_response(response).body


def _parse_json_response(response) -> _Page:
    """A 2xx JSON answer, or the vendor's error (ExceptionModel; a 404 has no body) as our error kinds."""
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc
    if response.ok:
        return _Page(body, response.headers)
    error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
    kind = error.get("type") or ("NotFound" if response.status_code == 404 else f"HTTP{response.status_code}")
    messages = [d.get("message", "") for d in error.get("details") or [] if isinstance(d, dict)]
    # the vendor's own text, each distinct message once
    text = "; ".join(dict.fromkeys(m for m in [error.get("message"), *messages] if m)) or response.text[:300] or (
        "no such record" if response.status_code == 404 else f"HTTP {response.status_code}")
    if response.status_code == 401:
        raise _TokenRejected(text)
    if kind in RECORD_ERROR_TYPES or response.status_code in (400, 404, 409, 422):
        raise RecordRejected(f"{kind}: {text}", kind)
    raise ExternalSystemError("Severa", f"{kind}: {text}", kind, response.status_code)


def _severa_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
