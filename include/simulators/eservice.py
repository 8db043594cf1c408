"""Simulator of an e-service portal's payments (e.g. the Land Register portal, paid online), REST/JSON.

No such portal publishes an API: this simulator implements the contract this project assumes, as issue 18
describes what is public (a payment id, the service code and step, the payer, positions with VAT, the paid
time, the channel, the status). Every point below is an assumption (the hook repeats them in
``erpbridge.hooks.eservice``):

* ``Authorization: Bearer <API key>`` on every vendor route, else 401.
* Errors: ``{"error": {"code": "...", "message": "..."}}``; ``unauthorized`` (401), ``not_found`` (404),
  ``validation`` (422).
* ``GET /api/v1/payments?changed_since=<ISO-8601 UTC>&page=<1..>&per_page=<1..100, default 50>``: the payments
  changed at or after ``changed_since`` (all without it), ordered by ``changed_at`` then ``id``; answer
  ``{"payments": [...], "page": n, "pages": total pages}``. ``GET /api/v1/payments/{id}``: one payment.
* A payment: ``id`` (text), ``service_code``, ``service_step``, ``status`` (``pending``, ``paid``, ``failed``,
  ``refunded``), ``paid_at`` and ``refunded_at`` (ISO-8601 UTC, ``Z``), ``channel`` (``card``, ``bank_link``,
  ``latvija_lv``), ``currency``, ``amount`` (the total paid, decimal text), ``payer`` ``{"type": "person" |
  "company", "name", "personal_code" (a person) | "registration_number" (a company), "country" (ISO 3166
  alpha-2), "email", "address"}``, ``positions`` ``[{"code", "description", "quantity", "unit_price" (without
  VAT), "vat_rate" (percent), "vat_amount", "total" (with VAT)}]`` (decimal text), ``changed_at``.
* A refund is of the whole payment: its status becomes ``refunded`` with ``refunded_at``; ``changed_at`` moves.

Admin (``/_sim/``, never logged nor faulted): seed ``{"payments": [...]}`` (an existing id is replaced; a
payment's ``changed_at`` is stamped unless given), ``POST /_sim/payments/{id}/refund`` refunds one, state, reset,
faults, request log.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timezone

from fastapi import Request
from starlette.responses import JSONResponse, Response

from include.simulators._common import Simulator

API = "/api/v1"
DEFAULT_CONFIG = {"api_key": "demo-eservice-key"}
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 100
STATUSES = ("pending", "paid", "failed", "refunded")


class EServiceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _instant(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EServiceError(422, "validation", f"{name} must be an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class EServiceState:
    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.payments: dict[str, dict] = {}

    def authorize(self, headers) -> None:
        kind, _, token = headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not secrets.compare_digest(token, str(self.config["api_key"])):
            raise EServiceError(401, "unauthorized", "API key missing or not valid")

    def page(self, params) -> dict:
        try:
            page, per_page = int(params.get("page", 1)), int(params.get("per_page", DEFAULT_PER_PAGE))
        except ValueError:
            raise EServiceError(422, "validation", "page and per_page must be integers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise EServiceError(422, "validation", f"page >= 1 and per_page 1..{MAX_PER_PAGE}")
        rows = sorted(self.payments.values(), key=lambda p: (_instant(p["changed_at"], "changed_at"), p["id"]))
        if params.get("changed_since"):
            since = _instant(params["changed_since"], "changed_since")
            rows = [p for p in rows if _instant(p["changed_at"], "changed_at") >= since]
        return {"payments": rows[(page - 1) * per_page:page * per_page], "page": page,
                "pages": max(1, math.ceil(len(rows) / per_page))}

    def get(self, payment_id: str) -> dict:
        if payment_id not in self.payments:
            raise EServiceError(404, "not_found", f"no payment {payment_id}")
        return self.payments[payment_id]

    def seed(self, payload: dict) -> dict:
        unknown = set(payload) - {"payments"}
        if unknown:
            raise ValueError(f"unknown collections: {sorted(unknown)}")
        ids = []
        for item in payload.get("payments", []):
            if not item.get("id") or item.get("status") not in STATUSES:
                raise ValueError(f"a payment needs an id and a status of {STATUSES}: {item.get('id')!r}")
            self.payments[str(item["id"])] = {**item, "id": str(item["id"]),
                                              "changed_at": item.get("changed_at") or _now()}
            ids.append(str(item["id"]))
        return {"payments": ids}

    def refund(self, payment_id: str) -> dict:
        payment = self.get(payment_id)
        if payment["status"] != "paid":
            raise EServiceError(422, "validation", f"payment {payment_id} is {payment['status']}, not paid")
        payment.update(status="refunded", refunded_at=_now(), changed_at=_now())
        return payment

    def dump(self) -> dict:
        return {"payments": sorted(self.payments.values(), key=lambda p: p["id"])}


def create_app(config: dict | None = None):
    sim = Simulator("eservice", error_response)
    sim.config.update({**DEFAULT_CONFIG, **(config or {})})
    state = EServiceState(sim.config)
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)
    app = sim.app

    @app.exception_handler(EServiceError)
    async def on_error(request: Request, exc: EServiceError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.get(API + "/payments")
    def payments(request: Request) -> dict:
        with sim.lock:
            state.authorize(request.headers)
            return state.page(request.query_params)

    @app.get(API + "/payments/{payment_id}")
    def payment(payment_id: str, request: Request) -> dict:
        with sim.lock:
            state.authorize(request.headers)
            return state.get(payment_id)

    @app.post("/_sim/payments/{payment_id}/refund")
    def refund(payment_id: str) -> dict:
        with sim.lock:
            return state.refund(payment_id)

    return app


def _position(code: str, description: str, price: str, rate: str, vat: str, total: str) -> dict:
    return {"code": code, "description": description, "quantity": "1", "unit_price": price, "vat_rate": rate,
            "vat_amount": vat, "total": total}


DEMO_SEED: dict = {"payments": [
    {"id": "ZG-2026-000101", "service_code": "ZG-IZRAKSTS", "service_step": "1", "status": "paid",
     "paid_at": "2026-11-02T09:15:00Z", "channel": "card", "currency": "EUR", "amount": "12.10",
     "payer": {"type": "person", "name": "Jānis Bērziņš", "personal_code": "161175-19997", "country": "LV",
               "email": "janis@example.lv"},
     "positions": [_position("FEE", "Land Register extract", "10.00", "21", "2.10", "12.10")]},
    {"id": "ZG-2026-000102", "service_code": "ZG-NOSTIPR", "service_step": "2", "status": "paid",
     "paid_at": "2026-11-03T11:40:00Z", "channel": "bank_link", "currency": "EUR", "amount": "35.57",
     "payer": {"type": "company", "name": "SIA Ābeļziedi", "registration_number": "40003521600", "country": "LV"},
     "positions": [_position("DUTY", "State duty", "14.00", "0", "0.00", "14.00"),
                   _position("FEE", "Registration fee", "17.83", "21", "3.74", "21.57")]},
    {"id": "ZG-2026-000103", "service_code": "ZG-UNKNOWN", "service_step": "1", "status": "paid",
     "paid_at": "2026-11-04T08:00:00Z", "channel": "latvija_lv", "currency": "EUR", "amount": "5.00",
     "payer": {"type": "person", "name": "Anna Kalniņa", "personal_code": "161175-19997", "country": "LV"},
     "positions": [_position("FEE", "A service Horizon has no article for", "5.00", "0", "0.00", "5.00")]},
]}
