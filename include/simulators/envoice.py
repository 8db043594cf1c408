"""Envoice simulator (REST/JSON), written from the contract this project assumes.

Envoice publishes no API documentation (``shared/reference/external-apis.md``); the whole
contract below is an assumption, kept in this one module so the real one can replace it:

* ``Authorization: Bearer <api key>`` on every vendor route, else 401.
* Errors: ``{"error": {"code": "...", "message": "..."}}`` with codes ``unauthorized`` (401),
  ``not_found`` (404), ``duplicate`` (409), ``in_use`` (409), ``invalid_status`` (409),
  ``validation`` (422), ``method_not_allowed`` (405).
* Master data ``/api/v1/{contacts|accounts|dimension-groups|dimensions}``: ``GET`` (list),
  ``POST`` (create; an existing ``code`` -> 409 duplicate), ``GET/PUT/DELETE .../{code}``.
  Records are keyed by the ERP's ``code`` (dimension codes are unique across groups, like
  Standard Books objects). ``PUT`` updates the given fields of an existing record (404 if
  missing; a ``code`` in the body must equal the URL's). ``DELETE`` answers 204; a dimension
  group that still has dimensions -> 409 ``in_use``. Unknown fields -> 422. ``updated_at`` (and
  ``created_at``) are stamped by the server. Lists are ordered by ``code`` and accept
  ``updated_since`` (>=).
  Fields: contacts ``code, name, vat_number, reg_number, email, phone, address, active``;
  accounts ``code, name, active``; dimension groups ``code, name, active``; dimensions
  ``code, group_code (must exist), name, active``.
* Paging everywhere: ``page`` (1-based), ``per_page`` (default 50, max 200), answer
  ``{"data": [...], "meta": {"page", "per_page", "total", "total_pages"}}``; bad values -> 422.
* Purchase documents: ``GET /api/v1/purchase-documents`` (filters ``status`` - one or
  comma-separated -, ``type``, ``updated_since`` ISO-8601, >=; ordered by ``updated_at`` then
  ``id``), ``GET .../{id}``, ``GET .../{id}/pdf`` (``application/pdf``), ``POST .../{id}/transfer``
  ``{"erp_id": "..."}``: only a ``published`` document may be transferred (else 409
  ``invalid_status``); repeating the transfer with the same ``erp_id`` answers 200 unchanged
  (idempotent retry), with another ``erp_id`` 409. Amounts and rates are decimal strings
  (``"124.00"``, ``"24"``); dates ``YYYY-MM-DD``; times ISO-8601 UTC with ``Z``. ``comments`` is a
  list of ``{"by", "at", "text"}``. Document ids are integers.
* ``GET /api/v1/archive``: every document (paged, optional ``status`` filter) with its
  ``approval_status`` (``pending`` for drafts, else ``approved``), ``approved_by``,
  ``approved_at``, ``transfer_status`` (``transferred`` / ``not_transferred``) and ``transfer``.

Admin (under ``/_sim/``, not logged nor faulted): ``POST /_sim/seed`` with ``{"contacts": [],
"accounts": [], "dimension_groups": [], "dimensions": [], "documents": [{..., "pdf_base64"}]}``
returns the created codes / document ids. A seeded document may omit its totals, VAT rows and
line VAT (they are computed from the lines), ``status`` (default ``published``) and
``approval_history`` (made up from the status); ``updated_at`` may be given. ``GET /_sim/state``
dumps everything (documents with ``transfer`` and the PDF's ``pdf_size``/``pdf_sha256``).
``POST /_sim/purchase-documents/{id}/status`` ``{"status": "...", "by": "..."}`` moves a document
through the workspace (approve, publish...) as a user would in Envoice's UI.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import math
import secrets
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from include.simulators._common import Simulator

DEFAULT_CONFIG = {"api_key": "demo-envoice-key"}

API = "/api/v1"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
STATUSES = ("draft", "approved", "published", "transferred")
DOC_TYPES = ("invoice", "receipt")
CENT = Decimal("0.01")

# kind (URL) -> (seed key, writable fields with defaults, required fields)
MASTER_DATA: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "contacts": ("contacts", {"code": None, "name": None, "vat_number": None, "reg_number": None,
                              "email": None, "phone": None, "address": None, "active": True}, ("code", "name")),
    "accounts": ("accounts", {"code": None, "name": None, "active": True}, ("code", "name")),
    "dimension-groups": ("dimension_groups", {"code": None, "name": None, "active": True}, ("code", "name")),
    "dimensions": ("dimensions", {"code": None, "group_code": None, "name": None, "active": True},
                   ("code", "group_code", "name")),
}


class EnvoiceError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def invalid(message: str) -> EnvoiceError:
    return EnvoiceError(422, "validation", message)


def not_found(message: str) -> EnvoiceError:
    return EnvoiceError(404, "not_found", message)


# -- values ------------------------------------------------------------------------------------
def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{what} is not an ISO-8601 date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def amount(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise invalid(f"{what} is not a number: {value!r}")
    return number


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def rate_text(value: Decimal) -> str:
    return str(value.normalize()) if value == value.to_integral() else str(value)


def check_date(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(f"{what} is not a YYYY-MM-DD date: {value!r}") from None


def minimal_pdf(text: str) -> bytes:
    """A small valid one-page PDF showing ``text`` (correct xref offsets)."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1", "replace")
    stream = b"BT /F1 12 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def paginate(rows: list, params) -> dict:
    page = _int_param(params, "page", 1, 1, None)
    per_page = _int_param(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    total = len(rows)
    start = (page - 1) * per_page
    return {"data": rows[start:start + per_page],
            "meta": {"page": page, "per_page": per_page, "total": total,
                     "total_pages": math.ceil(total / per_page)}}


def _int_param(params, name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid(f"{name} must be an integer {bounds}")
    return int(raw)


# -- state -------------------------------------------------------------------------------------
class EnvoiceState:
    """Master data and purchase documents; callers hold the simulator lock."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.master: dict[str, dict[str, dict]] = {kind: {} for kind in MASTER_DATA}
        self.documents: dict[int, dict] = {}
        self.pdfs: dict[int, bytes] = {}
        self.next_id = 1001

    # master data
    def get(self, kind: str, code: str) -> dict:
        record = self.master[kind].get(code)
        if record is None:
            raise not_found(f"No {kind} record with code {code}")
        return record

    def create(self, kind: str, body: Any, stamp: str | None = None) -> dict:
        _, fields, _ = MASTER_DATA[kind]
        self._check_body(kind, body)
        record = {name: copy.deepcopy(body.get(name, default)) for name, default in fields.items()}
        record["code"] = str(record["code"]) if record["code"] is not None else None
        self._validate(kind, record)
        if record["code"] in self.master[kind]:
            raise EnvoiceError(409, "duplicate", f"{kind}: code {record['code']} already exists")
        now = stamp or now_iso()
        record.update(created_at=now, updated_at=now)
        self.master[kind][record["code"]] = record
        return record

    def update(self, kind: str, code: str, body: Any) -> dict:
        record = copy.deepcopy(self.get(kind, code))
        self._check_body(kind, body)
        if "code" in body and str(body["code"]) != code:
            raise invalid("code cannot be changed")
        record.update({k: copy.deepcopy(v) for k, v in body.items() if k != "code"})
        self._validate(kind, record)
        record["updated_at"] = now_iso()
        self.master[kind][code] = record
        return record

    def delete(self, kind: str, code: str) -> None:
        self.get(kind, code)
        if kind == "dimension-groups" and any(d["group_code"] == code for d in self.master["dimensions"].values()):
            raise EnvoiceError(409, "in_use", f"Dimension group {code} still has dimensions")
        del self.master[kind][code]

    def list_master(self, kind: str, params) -> dict:
        rows = sorted(self.master[kind].values(), key=lambda r: r["code"])
        if params.get("updated_since"):
            since = parse_time(params["updated_since"], "updated_since")
            rows = [r for r in rows if parse_time(r["updated_at"], "updated_at") >= since]
        return paginate(rows, params)

    @staticmethod
    def _check_body(kind: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise invalid("the request body must be a JSON object")
        unknown = set(body) - set(MASTER_DATA[kind][1])
        if unknown:
            raise invalid(f"unknown fields: {', '.join(sorted(unknown))}")

    def _validate(self, kind: str, record: dict) -> None:
        for name in MASTER_DATA[kind][2]:
            if record.get(name) in (None, ""):
                raise invalid(f"{name} is required")
        for name, value in record.items():
            if name == "active":
                if not isinstance(value, bool):
                    raise invalid("active must be true or false")
            elif value is not None and not isinstance(value, str):
                raise invalid(f"{name} must be a string")
        if kind == "dimensions" and record["group_code"] not in self.master["dimension-groups"]:
            raise invalid(f"dimension group {record['group_code']} does not exist")

    # purchase documents
    def document(self, doc_id: str | int) -> dict:
        key = int(doc_id) if str(doc_id).isdigit() else None
        if key not in self.documents:
            raise not_found(f"No purchase document with id {doc_id}")
        return self.documents[key]

    def list_documents(self, params, base: str) -> dict:
        rows = self._filter_documents(params)
        if params.get("type"):
            rows = [d for d in rows if d["type"] == params["type"]]
        if params.get("updated_since"):
            since = parse_time(params["updated_since"], "updated_since")
            rows = [d for d in rows if parse_time(d["updated_at"], "updated_at") >= since]
        rows.sort(key=lambda d: (parse_time(d["updated_at"], "updated_at"), d["id"]))
        return paginate([self.view(d, base) for d in rows], params)

    def _filter_documents(self, params) -> list[dict]:
        rows = list(self.documents.values())
        if params.get("status"):
            wanted = {s.strip() for s in params["status"].split(",") if s.strip()}
            if wanted - set(STATUSES):
                raise invalid(f"status must be among {', '.join(STATUSES)}")
            rows = [d for d in rows if d["status"] in wanted]
        return rows

    def view(self, doc: dict, base: str) -> dict:
        shown = copy.deepcopy(doc)
        shown["pdf_url"] = f"{base}{API}/purchase-documents/{doc['id']}/pdf" if doc["id"] in self.pdfs else None
        return shown

    def archive(self, params) -> dict:
        rows = sorted(self._filter_documents(params), key=lambda d: d["id"])
        entries = []
        for d in rows:
            approval = next((h for h in reversed(d["approval_history"]) if h["action"] == "approved"), None)
            entries.append({
                "id": d["id"], "type": d["type"], "number": d["number"], "supplier": d["supplier"],
                "issue_date": d["issue_date"], "currency": d["currency"], "total": d["total"],
                "status": d["status"],
                "approval_status": "pending" if d["status"] == "draft" else "approved",
                "approved_by": approval["by"] if approval else None,
                "approved_at": approval["at"] if approval else None,
                "transfer_status": "transferred" if d["transfer"] else "not_transferred",
                "transfer": d["transfer"], "updated_at": d["updated_at"],
            })
        return paginate(entries, params)

    def transfer(self, doc_id: str, body: Any) -> dict:
        doc = self.document(doc_id)
        erp_id = body.get("erp_id") if isinstance(body, dict) else None
        if erp_id in (None, "") or not isinstance(erp_id, (str, int)):
            raise invalid("erp_id is required")
        erp_id = str(erp_id)
        if doc["status"] == "transferred":
            if doc["transfer"]["erp_id"] == erp_id:
                return doc
            raise EnvoiceError(409, "invalid_status",
                               f"Document {doc['id']} was already transferred as {doc['transfer']['erp_id']}")
        if doc["status"] != "published":
            raise EnvoiceError(409, "invalid_status",
                               f"Document {doc['id']} is {doc['status']}; only published documents can be transferred")
        now = now_iso()
        doc.update(status="transferred", transfer={"erp_id": erp_id, "at": now}, updated_at=now)
        return doc

    def set_status(self, doc_id: str, body: dict) -> dict:
        """Admin: move a document in the workspace (draft, approved, published) as a user would."""
        doc = self.document(doc_id)
        status, by = body.get("status"), body.get("by", "approver@example.ee")
        if status not in ("draft", "approved", "published"):
            raise invalid("status must be draft, approved or published (transfer through the API)")
        now = now_iso()
        history = doc["approval_history"]
        if status == "draft":
            history.append({"by": by, "at": now, "action": "returned"})
        elif not history or history[-1]["action"] == "returned":
            history.append({"by": by, "at": now, "action": "approved"})
        if status == "published":
            history.append({"by": by, "at": now, "action": "published"})
        doc.update(status=status, transfer=None, updated_at=now)
        return doc

    def add_document(self, seed: dict) -> int:
        """Store a seeded document, computing what it omits (totals, VAT rows, history)."""
        doc_id = int(seed.get("id") or self.next_id)
        if doc_id in self.documents:
            raise invalid(f"document id {doc_id} already exists")
        self.next_id = max(self.next_id, doc_id + 1)
        doc_type = seed.get("type", "invoice")
        status = seed.get("status", "published")
        if doc_type not in DOC_TYPES:
            raise invalid(f"type must be one of {', '.join(DOC_TYPES)}")
        if status not in STATUSES:
            raise invalid(f"status must be among {', '.join(STATUSES)}")
        supplier = seed.get("supplier") or {}
        if not supplier.get("code") or not supplier.get("name"):
            raise invalid("supplier {code, name} is required")
        lines, vat_rows = [], {}
        for number, line in enumerate(seed.get("lines", [])):
            net = amount(line.get("net", 0), f"lines[{number}].net")
            rate = amount(line.get("vat_rate", 0), f"lines[{number}].vat_rate")
            vat = amount(line["vat"], f"lines[{number}].vat") if "vat" in line else (net * rate / 100).quantize(CENT)
            lines.append({"description": line.get("description", ""), "account": line.get("account"),
                          "dimensions": [{"group_code": d["group_code"], "code": d["code"]}
                                         for d in line.get("dimensions", [])],
                          "net": money(net), "vat_rate": rate_text(rate), "vat": money(vat)})
            row = vat_rows.setdefault(rate, [Decimal(0), Decimal(0)])
            row[0] += net
            row[1] += vat
        net_total = sum((Decimal(line["net"]) for line in lines), Decimal(0))
        vat_total = sum((Decimal(line["vat"]) for line in lines), Decimal(0))
        now = now_iso()
        updated = iso(parse_time(seed["updated_at"], "updated_at")) if seed.get("updated_at") else now
        history = seed.get("approval_history")
        if history is None:
            history = [{"by": "accountant@example.ee", "at": updated, "action": action}
                       for action in {"draft": [], "approved": ["approved"]}.get(status, ["approved", "published"])]
        transfer = seed.get("transfer")
        if status == "transferred" and not transfer:
            transfer = {"erp_id": str(seed.get("erp_id", "")), "at": updated}
        doc = {
            "id": doc_id, "type": doc_type, "number": str(seed.get("number", "")),
            "supplier": {"code": str(supplier["code"]), "name": supplier["name"]},
            "issue_date": check_date(seed.get("issue_date"), "issue_date"),
            "due_date": check_date(seed.get("due_date"), "due_date"),
            "currency": seed.get("currency", "EUR"),
            "total": money(amount(seed["total"], "total")) if "total" in seed else money(net_total + vat_total),
            "vat_total": money(amount(seed["vat_total"], "vat_total")) if "vat_total" in seed else money(vat_total),
            "net_total": money(amount(seed["net_total"], "net_total")) if "net_total" in seed else money(net_total),
            "vat_rows": seed.get("vat_rows") or [{"rate": rate_text(rate), "net": money(v[0]), "vat": money(v[1])}
                                                 for rate, v in sorted(vat_rows.items(), reverse=True)],
            "lines": lines,
            "comments": copy.deepcopy(seed.get("comments", [])),
            "approval_history": copy.deepcopy(history),
            "status": status,
            "transfer": transfer if status == "transferred" else None,
            "created_at": now, "updated_at": updated,
        }
        if seed.get("pdf_base64"):
            try:
                self.pdfs[doc_id] = base64.b64decode(seed["pdf_base64"], validate=True)
            except binascii.Error as exc:
                raise invalid(f"pdf_base64: {exc}") from None
        self.documents[doc_id] = doc
        return doc_id

    # admin
    def seed(self, payload: dict) -> dict:
        kinds = {seed_key: kind for kind, (seed_key, _, _) in MASTER_DATA.items()}
        unknown = set(payload) - set(kinds) - {"documents"}
        if unknown:
            raise ValueError(f"unknown collections: {sorted(unknown)}")
        created: dict[str, list] = {}
        for seed_key, kind in kinds.items():
            for item in payload.get(seed_key, []):
                item = dict(item)
                stamp = iso(parse_time(item.pop("updated_at"), "updated_at")) if item.get("updated_at") else None
                created.setdefault(seed_key, []).append(self.create(kind, item, stamp)["code"])
        created["documents"] = [self.add_document(doc) for doc in payload.get("documents", [])]
        return created

    def dump(self) -> dict:
        state: dict = {seed_key: sorted(self.master[kind].values(), key=lambda r: r["code"])
                       for kind, (seed_key, _, _) in MASTER_DATA.items()}
        state["documents"] = [
            {**copy.deepcopy(d), "pdf_size": len(self.pdfs[d["id"]]) if d["id"] in self.pdfs else None,
             "pdf_sha256": hashlib.sha256(self.pdfs[d["id"]]).hexdigest() if d["id"] in self.pdfs else None}
            for d in sorted(self.documents.values(), key=lambda d: d["id"])
        ]
        return state


# -- app ---------------------------------------------------------------------------------------
def create_app(config: dict | None = None) -> FastAPI:
    """Build the Envoice simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("envoice", error_response)
    sim.config.update(DEFAULT_CONFIG | (config or {}))
    state = EnvoiceState()
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)
    app = sim.app

    def authorize(request: Request) -> None:
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(),
                                                                   str(sim.config["api_key"]).encode()):
            raise EnvoiceError(401, "unauthorized", "A valid API key is required (Authorization: Bearer <key>)")

    def base_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    async def call(request: Request, action, status: int = 200) -> Response:
        """Authorize, run ``action(body)`` under the lock, answer JSON (or its Response)."""
        raw = await request.body()
        try:
            with sim.lock:
                authorize(request)
                body = None
                if request.method in ("POST", "PUT"):
                    try:
                        body = json.loads(raw or b"null")
                    except ValueError:
                        raise invalid("the request body is not valid JSON") from None
                result = action(body)
        except EnvoiceError as error:
            return error_response(error.status, error.code, error.message)
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(API):
            return await http_exception_handler(request, exc)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    app.add_exception_handler(StarletteHTTPException, on_http_error)

    def master_kind(kind: str) -> str:
        if kind not in MASTER_DATA:
            raise not_found(f"Unknown resource {kind}")
        return kind

    # purchase documents and archive: declared before the generic master-data routes
    @app.get(API + "/purchase-documents")
    async def documents(request: Request) -> Response:
        return await call(request, lambda _: state.list_documents(request.query_params, base_url(request)))

    @app.get(API + "/purchase-documents/{doc_id}")
    async def document(doc_id: str, request: Request) -> Response:
        return await call(request, lambda _: state.view(state.document(doc_id), base_url(request)))

    @app.get(API + "/purchase-documents/{doc_id}/pdf")
    async def pdf(doc_id: str, request: Request) -> Response:
        def action(_):
            doc = state.document(doc_id)
            if doc["id"] not in state.pdfs:
                raise not_found(f"Document {doc_id} has no PDF")
            return Response(state.pdfs[doc["id"]], media_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="{doc["id"]}.pdf"'})
        return await call(request, action)

    @app.post(API + "/purchase-documents/{doc_id}/transfer")
    async def transfer(doc_id: str, request: Request) -> Response:
        return await call(request, lambda body: state.view(state.transfer(doc_id, body), base_url(request)))

    @app.get(API + "/archive")
    async def archive(request: Request) -> Response:
        return await call(request, lambda _: state.archive(request.query_params))

    # master data
    @app.get(API + "/{kind}")
    async def master_list(kind: str, request: Request) -> Response:
        return await call(request, lambda _: state.list_master(master_kind(kind), request.query_params))

    @app.post(API + "/{kind}")
    async def master_create(kind: str, request: Request) -> Response:
        return await call(request, lambda body: state.create(master_kind(kind), body), status=201)

    @app.get(API + "/{kind}/{code}")
    async def master_get(kind: str, code: str, request: Request) -> Response:
        return await call(request, lambda _: state.get(master_kind(kind), code))

    @app.put(API + "/{kind}/{code}")
    async def master_put(kind: str, code: str, request: Request) -> Response:
        return await call(request, lambda body: state.update(master_kind(kind), code, body))

    @app.delete(API + "/{kind}/{code}")
    async def master_delete(kind: str, code: str, request: Request) -> Response:
        def action(_):
            state.delete(master_kind(kind), code)
            return Response(status_code=204)
        return await call(request, action)

    @app.post("/_sim/purchase-documents/{doc_id}/status")
    def admin_status(doc_id: str, payload: dict = Body(...)) -> Response:
        try:
            with sim.lock:
                return JSONResponse(state.set_status(doc_id, payload))
        except EnvoiceError as error:
            return error_response(error.status, error.code, error.message)

    return app


def _demo_pdf(title: str) -> str:
    return base64.b64encode(minimal_pdf(title)).decode()


DEMO_SEED: dict = {
    "contacts": [],
    "accounts": [],
    "dimension_groups": [],
    "dimensions": [],
    "documents": [
        {"id": 1001, "type": "invoice", "number": "ER-2024-117", "status": "published",
         "supplier": {"code": "2001", "name": "Ehitus & Remont OÜ"},
         "issue_date": "2024-05-02", "due_date": "2024-05-16", "currency": "EUR",
         "lines": [
             {"description": "Renovation works", "account": "4100", "net": "100.00", "vat_rate": "24",
              "dimensions": [{"group_code": "DEP", "code": "ADM"}, {"group_code": "PRJ", "code": "P100"}]},
             {"description": "Technical literature", "account": "4300", "net": "50.00", "vat_rate": "9",
              "dimensions": [{"group_code": "DEP", "code": "SALES"}]},
         ],
         "comments": [{"by": "accountant@example.ee", "at": "2024-05-03T08:00:00.000Z",
                       "text": "Project P100, see contract 7/2024"}],
         "pdf_base64": _demo_pdf("Invoice ER-2024-117 Ehitus & Remont")},
        {"id": 1002, "type": "invoice", "number": "SÕJ-0042", "status": "published",
         "supplier": {"code": "2002", "name": "Šveitsi Õlitööstus Jäätmekäitlus Žürii AS"},
         "issue_date": "2024-05-05", "due_date": "2024-05-19", "currency": "EUR",
         "lines": [{"description": "Office rent May", "account": "4200", "net": "800.00", "vat_rate": "24",
                    "dimensions": [{"group_code": "DEP", "code": "ADM"}]}],
         "pdf_base64": _demo_pdf("Invoice SOJ-0042")},
        {"id": 1003, "type": "invoice", "number": "KT-889", "status": "draft",
         "supplier": {"code": "2003", "name": "Kontoritarbed OÜ"},
         "issue_date": "2024-05-07", "due_date": "2024-05-21", "currency": "EUR",
         "lines": [{"description": "Paper", "account": "4300", "net": "40.00", "vat_rate": "24", "dimensions": []}],
         "pdf_base64": _demo_pdf("Invoice KT-889")},
        {"id": 1004, "type": "invoice", "number": "ER-2024-120", "status": "approved",
         "supplier": {"code": "2001", "name": "Ehitus & Remont OÜ"},
         "issue_date": "2024-05-08", "due_date": "2024-05-22", "currency": "EUR",
         "lines": [{"description": "Materials", "account": "4000", "net": "250.00", "vat_rate": "24",
                    "dimensions": [{"group_code": "PRJ", "code": "P100"}]}],
         "pdf_base64": _demo_pdf("Invoice ER-2024-120")},
        {"id": 1005, "type": "receipt", "number": "R-5531", "status": "published",
         "supplier": {"code": "2003", "name": "Kontoritarbed OÜ"},
         "issue_date": "2024-05-09", "currency": "EUR",
         "lines": [{"description": "Pens and folders", "account": "4300", "net": "20.00", "vat_rate": "24",
                    "dimensions": [{"group_code": "DEP", "code": "SALES"}]}],
         "pdf_base64": _demo_pdf("Receipt R-5531")},
    ],
}
