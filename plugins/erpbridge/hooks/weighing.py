"""The weighing system (packing line with scales and label printers): the order list its stations pull, and the
weighings they post back.

No public API exists: the whole contract is ASSUMED, verify first (each point lives only here, the simulator in
include/simulators/weighing.py implements the same; README "assumed, verify first"):

- JSON over HTTP under ``/api/v1``; the API key travels as ``Authorization: Bearer <key>`` (connection password).
- ``PUT /api/v1/orders/{order_no}`` puts one order on the list the stations pull (``GET /api/v1/orders``);
  a repeated PUT replaces it. Body: :data:`ORDER_FIELDS` (lines: ``line_no``, ``gtin``, ``item_code``,
  ``packages``, ``quantity_kg``).
- ``GET /api/v1/weighings?after=<cursor>&limit=<n>`` (limit at most :data:`PAGE_SIZE`): what the stations posted,
  in the order the server received it, as ``{"weighings": [...], "cursor": <the last one's>}``; an empty list
  is the end. The cursor is the server's receipt sequence, so a station that worked offline and sends late
  shows up after the cursor with its original ``weighed_at``.
- Each weighing: ``seq`` (the cursor), ``label_id`` (one per printed label), ``order_no``, ``station_id``,
  ``weighed_at`` (ISO-8601 with offset), ``voided`` (true: the label was voided; a void is posted as the
  same label again with the flag set), ``label`` (the label's GS1-128 data in its human-readable form,
  each application identifier in parentheses, :data:`LABEL_ELEMENT`).
- Errors: ``{"error": {"code": ..., "message": ...}}``; 400/404/409/422 = the record is refused.
"""

from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import quote

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

PAGE_SIZE = 200
ORDER_FIELDS = ("order_no", "customer", "delivery_date", "lines")
LABEL_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]*)")  # "(01)0952...(3103)012345(10)LOT7" -> (AI, value)
RECORD_STATUSES = {400, 404, 409, 422}


class WeighingHook(HttpSystemHook):
    """Connection: host = the weighing server's URL (without /api), password = API key."""

    conn_name_attr = "weighing_conn_id"
    default_conn_name = "weighing_default"
    conn_type = "weighing"
    hook_name = "Weighing system"
    system_name = "Weighing system"

    def __init__(self, weighing_conn_id: str | None = None, **kwargs):
        super().__init__(weighing_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.api_key = conn.password or ""

    def authorize(self, request) -> None:
        request.headers["Authorization"] = f"Bearer {self.api_key}"

    def request(self, method: str, path: str, *, params=None, json=None, write: bool = False):
        self.connection  # noqa: B018 - reads the key before the first request
        return self.client.call(method, f"api/v1/{path}", params=params, json=json, write=write, parse=_parse,
                                headers={"Accept": "application/json"})

    def probe(self) -> str:
        orders = self.request("GET", "orders")["orders"]
        return f"API key accepted, {len(orders)} order(s) on the stations' list"

    def put_order(self, order: dict) -> None:
        """Put one order (ORDER_FIELDS) on the list the stations pull; replaces the same order number."""
        self.request("PUT", f"orders/{quote(order['order_no'], safe='')}",
                     json={name: order[name] for name in ORDER_FIELDS}, write=True)

    def weighings(self, after: int) -> Iterator[list[dict]]:
        """Pages of the weighings received after the cursor ``after``, in the order received."""
        while True:
            page = self.request("GET", "weighings", params={"after": after, "limit": PAGE_SIZE})["weighings"]
            if not page:
                return
            yield page
            after = page[-1]["seq"]


def label_elements(label: str) -> list[tuple[str, str]]:
    """The label data's (application identifier, value) pairs; [] when it is not in the human-readable form."""
    text = (label or "").strip()
    elements = LABEL_ELEMENT.findall(text)
    return elements if "".join(f"({ai}){value}" for ai, value in elements) == text else []


def _parse(response):
    try:
        body = response.json() if response.content else {}
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc
    if response.ok:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code") or f"HTTP{response.status_code}", error.get("message")
    else:
        code, message = f"HTTP{response.status_code}", response.text[:300]
    if response.status_code in RECORD_STATUSES:
        raise RecordRejected(f"{code}: {message}", code)
    raise ExternalSystemError("Weighing system", f"HTTP {response.status_code} {code}: {message}", code,
                              response.status_code)
