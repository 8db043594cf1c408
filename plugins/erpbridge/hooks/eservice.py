"""E-service portal payments (e.g. the Land Register portal, paid online): REST/JSON, read only.

No e-service portal publishes an API for its payments. The whole contract is an ASSUMPTION, kept in this one
module from what is public about such payments (a payment id, the service code and step, the payer, positions
with VAT, the paid time, the channel, the status); the simulator (include/simulators/eservice.py) implements the
same:

- ``Authorization: Bearer <API key>`` (the connection's password); base ``<host>/api/v1``.
- ``GET payments?changed_since=<ISO-8601 UTC>&page=&per_page=`` (at most :data:`PAGE_SIZE`), ordered by
  ``changed_at``, answered ``{"payments": [...], "page", "pages"}``; ``GET payments/<id>`` one payment, 404
  ``not_found`` when the portal has none.
- A payment: ``id``, ``service_code``, ``service_step``, ``status`` (:data:`PAID`, :data:`REFUNDED`; ``pending``
  and ``failed`` are never invoiced), ``paid_at`` / ``refunded_at`` (UTC), ``channel``, ``currency``, ``amount``
  (the total paid), ``payer`` {``type`` ``person`` | ``company``, ``name``, ``personal_code`` (a person) or
  ``registration_number`` (a company), ``country``, ``email``, ``address``}, ``positions`` [{``code``,
  ``description``, ``quantity``, ``unit_price`` (without VAT), ``vat_rate`` (percent), ``vat_amount``,
  ``total``}], ``changed_at``. Amounts are decimal text with a point.
- A refund is of the whole payment: ``status`` becomes ``refunded`` with ``refunded_at`` (and a new
  ``changed_at``).
- Errors ``{"error": {"code", "message"}}``; 401 ``unauthorized``.

Payments leave this hook as the portal's dicts, unchanged.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import quote

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

API = "api/v1"
PAGE_SIZE = 100
PAID, REFUNDED = "paid", "refunded"


class EServiceHook(HttpSystemHook):
    """E-service payments. Connection: host = the portal's base URL (without /api/v1), password = API key."""

    conn_name_attr = "eservice_conn_id"
    default_conn_name = "eservice_default"
    conn_type = "eservice"
    hook_name = "E-service payments"
    system_name = "E-service"

    def __init__(self, eservice_conn_id: str | None = None, **kwargs):
        super().__init__(eservice_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self._auth_header = f"Bearer {conn.password or ''}"

    def authorize(self, request) -> None:
        request.headers["Authorization"] = self._auth_header

    def probe(self) -> str:
        answer = self._get("payments", {"per_page": 1})
        return f"API key accepted, payments readable ({answer.get('pages', 0)} on 1-payment pages)"

    def iter_payments(self, changed_since: datetime | None = None) -> Iterator[list[dict]]:
        """Pages of the payments changed at or after ``changed_since`` (every payment without it)."""
        params: dict = {"per_page": PAGE_SIZE}
        if changed_since is not None:
            params["changed_since"] = changed_since.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        page = 1
        while True:
            answer = self._get("payments", {**params, "page": page})
            if answer.get("payments"):
                yield answer["payments"]
            if page >= int(answer.get("pages") or 1):
                return
            page += 1

    def payment(self, payment_id: str) -> dict | None:
        """One payment; None when the portal has none with that id."""
        try:
            return self._get(f"payments/{quote(payment_id, safe='')}")
        except RecordRejected as exc:
            if exc.category == "not_found":
                return None
            raise

    def _get(self, path: str, params: dict | None = None) -> dict:
        return self.client.call("GET", f"{API}/{path}", params=params, headers={"Accept": "application/json"},
                                parse=_parse)


def _parse(response):
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.ok and isinstance(body, dict):
        return body
    error = (body or {}).get("error") if isinstance(body, dict) else None
    code = (error or {}).get("code") or f"HTTP{response.status_code}"
    message = (error or {}).get("message") or response.text[:300]
    if response.status_code == 404:
        raise RecordRejected(f"{code}: {message}", code)
    if response.ok:  # a cut or garbled body: asking again may bring it whole
        raise Retryable(f"HTTP {response.status_code}: not a JSON object", status=response.status_code)
    raise ExternalSystemError("E-service", f"HTTP {response.status_code} {code}: {message}", code,
                              response.status_code)
