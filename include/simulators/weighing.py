"""Simulator of the weighing system (scales and label printers on the packing line).

No public contract exists: this one is ASSUMED (README "assumed, verify first", weighing system) and written
from that table, never from our hook:

- JSON under ``/api/v1``; every request carries ``Authorization: Bearer <api key>`` (401 otherwise).
- ``PUT /api/v1/orders/{order_no}``: an order for the stations (``order_no``, ``customer``, ``delivery_date``,
  ``lines``: ``line_no``, ``gtin``, ``item_code``, ``packages``, ``quantity_kg``); a repeated PUT replaces it.
  ``GET /api/v1/orders``: the list the stations pull, ``{"orders": [...]}``.
- ``POST /api/v1/weighings``: a station posts a weighing (``label_id``, ``order_no``, ``station_id``,
  ``weighed_at``, ``label``: the GS1-128 data in human-readable form, optional ``voided``). A void is the same
  label posted again with ``voided: true``. The server numbers what it receives (``seq``).
- ``GET /api/v1/weighings?after=&limit=`` (limit 1..200): the weighings received after ``after``, in ``seq``
  order, ``{"weighings": [...], "cursor": <last seq or after>}``.
- A station that is offline keeps working: what it posts waits in the station until it is back online, then
  reaches the server (new ``seq``, the original ``weighed_at``).
- Errors: ``{"error": {"code": ..., "message": ...}}``.

Admin (``/_sim/``): seed ``{"weighings": [...], "offline": [station], "online": [station]}`` (weighings are
posted as their station would; ``online`` sends what an offline station held); state; reset; faults.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from fastapi import Request
from starlette.responses import JSONResponse, Response

from ._common import Simulator

BASE = "/api/v1"
MAX_LIMIT = 200
DEFAULT_CONFIG = {"api_key": "weighing-demo-key"}
ORDER_KEYS = {"order_no", "customer", "delivery_date", "lines"}
LINE_KEYS = {"line_no", "gtin", "item_code", "packages", "quantity_kg"}
WEIGHING_KEYS = {"label_id", "order_no", "station_id", "weighed_at", "label", "voided"}


class WeighingError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class WeighingServer:
    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.orders: dict[str, dict] = {}
        self.feed: list[dict] = []
        self.offline: set[str] = set()
        self.held: dict[str, list[dict]] = {}  # station -> weighings posted while offline

    def authorize(self, headers) -> None:
        kind, _, key = headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not secrets.compare_digest(key.encode(), str(self.config["api_key"]).encode()):
            raise WeighingError(401, "UNAUTHORIZED", "API key missing or wrong")

    def put_order(self, order_no: str, body) -> dict:
        if not isinstance(body, dict) or set(body) - ORDER_KEYS or body.get("order_no") != order_no:
            raise WeighingError(422, "INVALID_ORDER", f"order body must have {sorted(ORDER_KEYS)} and order_no"
                                                      f" {order_no}")
        lines = body.get("lines")
        if not isinstance(lines, list) or not lines or any(not isinstance(line, dict) or set(line) != LINE_KEYS
                                                           for line in lines):
            raise WeighingError(422, "INVALID_ORDER", f"every line needs exactly {sorted(LINE_KEYS)}")
        self.orders[order_no] = body
        return body

    def post(self, weighing) -> dict | None:
        """A station's weighing: into the feed, or held in the station while it is offline."""
        if not isinstance(weighing, dict) or set(weighing) - WEIGHING_KEYS or \
                any(not weighing.get(k) for k in WEIGHING_KEYS - {"voided"}):
            raise WeighingError(422, "INVALID_WEIGHING", f"a weighing needs {sorted(WEIGHING_KEYS - {'voided'})}")
        try:
            datetime.fromisoformat(weighing["weighed_at"])
        except (TypeError, ValueError):
            raise WeighingError(422, "INVALID_WEIGHING", "weighed_at must be ISO-8601") from None
        weighing = {**weighing, "voided": bool(weighing.get("voided"))}
        if weighing["station_id"] in self.offline:
            self.held.setdefault(weighing["station_id"], []).append(weighing)
            return None
        return self._receive(weighing)

    def _receive(self, weighing: dict) -> dict:
        received = {"seq": len(self.feed) + 1, **weighing}
        self.feed.append(received)
        return received

    def weighings(self, params) -> dict:
        try:
            after, limit = int(params.get("after", 0)), int(params.get("limit", MAX_LIMIT))
        except ValueError:
            raise WeighingError(400, "INVALID_PARAMETER", "after and limit must be integers") from None
        if after < 0 or not 1 <= limit <= MAX_LIMIT:
            raise WeighingError(400, "INVALID_PARAMETER", f"limit must be 1..{MAX_LIMIT}, after >= 0")
        page = [w for w in self.feed if w["seq"] > after][:limit]
        return {"weighings": page, "cursor": page[-1]["seq"] if page else after}

    def seed(self, payload: dict) -> dict:
        unknown = set(payload) - {"weighings", "offline", "online"}
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        self.offline |= set(payload.get("offline", []))
        received = []
        for weighing in payload.get("weighings", []):
            try:
                received.append(self.post(weighing))
            except WeighingError as exc:
                raise ValueError(exc.message) from None
        for station in payload.get("online", []):
            self.offline.discard(station)
            received += [self._receive(w) for w in self.held.pop(station, [])]
        return {"received": [w["seq"] for w in received if w]}

    def dump(self) -> dict:
        return {"orders": list(self.orders.values()), "weighings": self.feed,
                "offline": sorted(self.offline), "held": self.held}


def create_app(config: dict | None = None):
    sim = Simulator("weighing", error_response)
    sim.config.update({**DEFAULT_CONFIG, **(config or {})})
    server = WeighingServer(sim.config)
    sim.on_reset(server.reset)
    sim.on_seed(server.seed)
    sim.on_state(server.dump)
    app = sim.app

    @app.exception_handler(WeighingError)
    async def on_error(request: Request, exc: WeighingError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    async def body_of(request: Request):
        try:
            return await request.json()
        except ValueError:
            raise WeighingError(400, "INVALID_JSON", "the body is not JSON") from None

    @app.get(BASE + "/orders")
    async def orders(request: Request) -> Response:
        with sim.lock:
            server.authorize(request.headers)
            return JSONResponse({"orders": list(server.orders.values())})

    @app.put(BASE + "/orders/{order_no}")
    async def put_order(order_no: str, request: Request) -> Response:
        body = await body_of(request)
        with sim.lock:
            server.authorize(request.headers)
            return JSONResponse(server.put_order(order_no, body))

    @app.post(BASE + "/weighings")
    async def post_weighing(request: Request) -> Response:
        body = await body_of(request)
        with sim.lock:
            server.authorize(request.headers)
            received = server.post(body)
            return JSONResponse(received or {"held": True}, status_code=201 if received else 202)

    @app.get(BASE + "/weighings")
    async def weighings(request: Request) -> Response:
        with sim.lock:
            server.authorize(request.headers)
            return JSONResponse(server.weighings(request.query_params))

    return app


DEMO_SEED: dict = {"weighings": [  # the packing line's labels of Horizon's demo orders SO-1001 and SO-1002
    {"label_id": label_id, "order_no": order_no, "station_id": "ST-1", "weighed_at": f"{date.today()}T07:{minute}:00+02:00",
     "label": f"(01){gtin}(3103){grams}(10)L{date.today():%y%m}(13){date.today():%y%m%d}"}
    for label_id, order_no, minute, gtin, grams in (
        ("D-1", "SO-1001", "05", "04750001000016", "010050"), ("D-2", "SO-1001", "06", "04750001000016", "009930"),
        ("D-3", "SO-1001", "08", "04750001000023", "005120"), ("D-4", "SO-1002", "10", "04750001000023", "005010"),
        ("D-5", "SO-1002", "11", "04750001000023", "004960"))]}
