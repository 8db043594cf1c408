"""Simulator of the Visma Severa REST API v1, written from the vendor contract only.

In-memory customers, products, business units and projects behind client-credential tokens
with scopes, a per-client rolling rate limit and Severa's two paging styles: ``rowCount`` +
``pageToken`` (next token in the ``NextPageToken`` response header) and the older
``firstRow`` + ``rowCount``. Every vendor error uses Severa's ``{"error": {...}}`` envelope.

ASSUMPTION (absences are not in our contract reference): they are calendar activities,
``GET /v1/activities`` filtered by ``activityCategories`` (Absence), ``startDateTime`` /
``endDateTime`` (activities overlapping that period) and ``changedSince``, paged with ``rowCount`` +
``pageToken`` like workhours; fields guid, activityType{guid,name}, activityCategory,
owner{guid,firstName,lastName}, startDateTime, endDateTime, isAllDay. The absence types are
``/v1/activitytypes`` (``firstRow`` paging; guid, name, code, isActive).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._common import Simulator

BASE = "/rest-api"
V1 = BASE + "/v1"
MAX_ROW_COUNT = 1000
DEFAULT_ROW_COUNT = 20

DEFAULT_CONFIG = {
    "client_id": "erpbridge-demo",
    "client_secret": "demo-secret",
    "token_ttl_seconds": 3600,
    "refresh_token_ttl_seconds": 86400,
    "rate_limit_per_second": 10,
}


# -- errors ----------------------------------------------------------------------------------
class SeveraError(Exception):
    """A vendor error, answered in Severa's error envelope."""

    def __init__(self, status: int, type_: str, message: str):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def error_response(status: int, category: str, message: str) -> JSONResponse:
    """Severa's error envelope: ``{"error": {httpStatusCode, type, message, details}}``."""
    error = {"httpStatusCode": status, "type": category, "message": message,
             "details": [{"message": message}]}
    return JSONResponse({"error": error}, status_code=status)


def _invalid(message: str) -> SeveraError:
    return SeveraError(400, "InvalidParameter", message)


def _unauthenticated(message: str) -> SeveraError:
    return SeveraError(401, "AuthenticationRequired", message)


# -- time ------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as the server stamps records."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: Any, what: str) -> datetime:
    """Parse an ISO-8601 date-time (``Z``, offset or naive = UTC); InvalidParameter if not."""
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"{what} is not an ISO-8601 date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- resources -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    """A list filter: query ``param`` compared with the record value at ``path``."""

    param: str
    path: tuple[str, ...]
    kind: str  # "list": repeatable, any value matches; "bool": true/false; "min"/"max": a date bound;
    # "from"/"until": a date-time bound (the record's value at or after / at or before it)

    def values(self, params) -> set[str] | bool | str | datetime:
        """The wanted values from the query; InvalidParameter for a bad boolean or date-time."""
        if self.kind == "list":
            return set(params.getlist(self.param))
        if self.kind in ("min", "max"):
            return params[self.param][:10]
        if self.kind in ("from", "until"):
            return _parse_time(params[self.param], self.param)
        raw = params[self.param].lower()
        if raw not in ("true", "false"):
            raise _invalid(f"{self.param} must be true or false")
        return raw == "true"

    def matches(self, record: dict, wanted: set[str] | bool | str | datetime) -> bool:
        value: Any = record
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        if self.kind == "min":
            return value is not None and str(value)[:10] >= wanted
        if self.kind == "max":
            return value is not None and str(value)[:10] <= wanted
        if self.kind == "from":
            return value is not None and _parse_time(value, self.path[-1]) >= wanted
        if self.kind == "until":
            return value is not None and _parse_time(value, self.path[-1]) <= wanted
        return value is wanted if self.kind == "bool" else str(value) in wanted


@dataclass(frozen=True)
class Resource:
    """One Severa list resource: its writable fields (with defaults) and its rules."""

    name: str
    fields: dict[str, Any]
    paging: str = "token"  # "token": rowCount + pageToken; "rows": firstRow + rowCount
    required: tuple[str, ...] = ("name",)
    unique: str | None = None  # field that must be unique when non-empty
    auto_number: bool = False  # assign the next free ``number`` when absent
    filters: tuple[Filter, ...] = ()
    references: dict[str, str] = field(default_factory=dict)  # field -> referenced resource
    max_row_count: int = 1000  # the largest rowCount the list accepts
    routes: bool = True  # False: reached only through a parent (e.g. /v1/invoices/{guid}/invoicerows)
    open_project: bool = False  # the referenced ``project`` must not be closed (costs on a project)
    period: tuple[str, str] | None = None  # (start, end) date-time fields; the end may not precede the start


_IS_ACTIVE = Filter("isActive", ("isActive",), "bool")

# In dependency order: a seed creates referenced records first.
RESOURCES = (
    Resource(
        "businessunits", paging="rows",
        fields={"name": None, "code": None, "isActive": True, "parentGuid": None},
    ),
    Resource(
        "customers", unique="number", auto_number=True,
        fields={"name": None, "number": None, "isActive": True, "isInternal": False,
                "email": None, "vatNumber": None, "headquarterAddress": None,
                "paymentTerm": None, "eInvoiceAddress": None, "eInvoiceOperator": None,
                "currency": {"code": "EUR"}, "language": None},
        filters=(Filter("numbers", ("number",), "list"), _IS_ACTIVE),
    ),
    Resource(
        "products", unique="code",
        fields={"code": None, "name": None, "unitPrice": None, "unitCost": None,
                "vatRate": None, "measurementUnit": None, "isActive": True,
                "productCategory": None, "type": None},
        filters=(Filter("code", ("code",), "list"), _IS_ACTIVE),
    ),
    Resource(
        "projects", unique="number", auto_number=True, required=("name", "customer"),
        fields={"number": None, "name": None, "customer": None, "businessUnit": None,
                "isClosed": False, "projectStatus": None},
        filters=(Filter("isClosed", ("isClosed",), "bool"),
                 Filter("numbers", ("number",), "list"),
                 Filter("customerGuids", ("customer", "guid"), "list")),
        references={"customer": "customers", "businessUnit": "businessunits"},
    ),
    Resource(
        "users", unique="code", required=("lastName",),
        fields={"firstName": None, "lastName": None, "email": None, "code": None, "isActive": True,
                "businessUnit": None},
        filters=(Filter("code", ("code",), "list"), _IS_ACTIVE),
        references={"businessUnit": "businessunits"},
    ),
    Resource(
        "workhours", required=("user", "eventDate", "quantity"), max_row_count=100,
        fields={"user": None, "project": None, "phase": None, "workType": None, "overtime": None,
                "eventDate": None, "quantity": None, "description": None, "isBillable": True,
                "isApproved": False},
        filters=(Filter("eventDateStart", ("eventDate",), "min"), Filter("eventDateEnd", ("eventDate",), "max"),
                 Filter("userGuids", ("user", "guid"), "list")),
        references={"user": "users", "project": "projects"},
    ),
    # -- documents (issue 3): invoices with statuses and rows, hour-entry code lists ---------------
    Resource("costcenters", paging="rows", fields={"name": None, "code": None, "isActive": True}),
    Resource("overtimes", fields={"name": None, "code": None, "percentage": None, "isActive": True}),
    Resource("worktypes", fields={"name": None, "code": None, "isActive": True}),
    Resource(
        "invoicestatuses", paging="rows", unique="name",
        fields={"name": None, "isActive": True, "isDefault": False, "isSent": False,
                "isWaitingPayment": False, "isPaid": False, "sortOrder": 0},
    ),
    Resource(
        "invoices", unique="number", auto_number=True, required=("customer", "status"),
        fields={"number": None, "referenceNumber": None, "status": None, "customer": None, "projects": [],
                "date": None, "dueDate": None, "totalExcludingTax": None, "totalIncludingTax": None,
                "totalTax": None, "currency": {"code": "EUR"}, "exchangeRate": None,
                "homeCurrency": {"code": "EUR"}, "isCreditNote": False},
        filters=(Filter("invoiceStatusGuids", ("status", "guid"), "list"),
                 Filter("numbers", ("number",), "list")),
        references={"customer": "customers", "status": "invoicestatuses"},
    ),
    Resource(  # rows of an invoice; assumed shape, listed under /v1/invoices/{guid}/invoicerows
        "invoicerows", required=("invoice",), routes=False,
        fields={"invoice": None, "product": None, "description": None, "quantity": None,
                "unitPrice": None, "vatRate": None, "project": None, "user": None, "costCenter": None,
                "isRecurring": False, "startDate": None, "endDate": None, "sortOrder": 0},
        filters=(Filter("invoiceGuids", ("invoice", "guid"), "list"),),
        references={"invoice": "invoices", "product": "products", "project": "projects", "user": "users",
                    "costCenter": "costcenters"},
    ),
    Resource("travelreimbursementstatuses", paging="rows", unique="name", fields={"name": None, "isActive": True}),
    Resource(
        "travelreimbursements", unique="number", required=("user", "travelReimbursementStatus"),
        fields={"user": None, "number": None, "date": None, "approvalDate": None, "total": None,
                "travelReimbursementStatus": None, "businessUnit": None, "description": None},
        filters=(Filter("travelReimbursementStatusGuids", ("travelReimbursementStatus", "guid"), "list"),
                 Filter("numbers", ("number",), "list")),
        references={"user": "users", "travelReimbursementStatus": "travelreimbursementstatuses",
                    "businessUnit": "businessunits"},
    ),
    Resource(  # the expense lines; expenseType {code, name}: the code is Netvisor's wage type code
        "projecttravelexpenses", required=("travelReimbursement",),
        fields={"travelReimbursement": None, "project": None, "expenseType": None, "eventDate": None,
                "quantity": None, "unitPrice": None, "amount": None, "isReimbursable": True,
                "description": None},
        filters=(Filter("travelReimbursementGuids", ("travelReimbursement", "guid"), "list"),),
        references={"travelReimbursement": "travelreimbursements", "project": "projects"},
    ),
    # -- absences (assumed, see the module docstring): calendar activities and their types ---------
    Resource("activitytypes", paging="rows", fields={"name": None, "code": None, "isActive": True}),
    Resource(
        "activities", required=("owner", "activityCategory", "startDateTime", "endDateTime"), max_row_count=100,
        fields={"activityType": None, "activityCategory": None, "owner": None, "startDateTime": None,
                "endDateTime": None, "isAllDay": False},
        filters=(Filter("activityCategories", ("activityCategory",), "list"),
                 Filter("startDateTime", ("endDateTime",), "from"), Filter("endDateTime", ("startDateTime",), "until")),
        references={"activityType": "activitytypes", "owner": "users"},
        period=("startDateTime", "endDateTime"),
    ),
    Resource(  # project costs (purchase invoices); resource name assumed, see external-apis.md
        "projectfees", required=("project", "quantity"), open_project=True,
        fields={"project": None, "product": None, "quantity": None, "unitCost": None, "unitPrice": None,
                "description": None, "eventDate": None},
        filters=(Filter("projectGuids", ("project", "guid"), "list"),),
        references={"project": "projects", "product": "products"},
    ),
)
ALL_SCOPES = tuple(f"{r.name}:{access}" for r in RESOURCES for access in ("read", "write"))


def _order_key(record: dict) -> tuple[datetime, str]:
    """Stable list order: lastUpdatedDateTime, then guid."""
    return _parse_time(record["lastUpdatedDateTime"], "lastUpdatedDateTime"), record["guid"]


def _encode_page_token(key: tuple[datetime, str]) -> str:
    """Opaque keyset token: the order key of the last row served, so paging survives writes."""
    raw = json.dumps([key[0].isoformat(), key[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_token(token: str) -> tuple[datetime, str]:
    try:
        moment, guid = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return datetime.fromisoformat(moment), str(guid)
    except (binascii.Error, ValueError, TypeError):
        raise _invalid("pageToken is not valid") from None


def _int_param(params, name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer query parameter within bounds; InvalidParameter otherwise."""
    raw = params.get(name, str(default))
    value = int(raw) if raw.isdigit() else -1
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        raise _invalid(f"{name} must be an integer of at least {low}{upper}")
    return value


def _apply_replace(record: dict, op: Any, writable: dict) -> None:
    """Apply one JSON Patch operation; only ``replace`` of a writable field is supported."""
    if not isinstance(op, dict) or op.get("op") != "replace" or "value" not in op:
        raise _invalid("only JSON Patch 'replace' operations with a value are supported")
    path = op.get("path")
    keys = [k.replace("~1", "/").replace("~0", "~") for k in str(path).split("/")[1:]]
    if not str(path).startswith("/") or keys[0] not in writable:
        raise _invalid(f"path {path!r} is not a writable field")
    target = record
    for key in keys[:-1]:
        target = target.get(key)
        if not isinstance(target, dict):
            raise _invalid(f"path {path!r} does not exist")
    target[keys[-1]] = copy.deepcopy(op["value"])


class Collection:
    """The records of one resource: create, patch, filter, order and page them."""

    def __init__(self, spec: Resource, state: "SeveraState"):
        self.spec, self.state = spec, state
        self.records: dict[str, dict] = {}

    def get(self, guid: str) -> dict:
        if guid not in self.records:
            raise SeveraError(404, "NotFound", f"No {self.spec.name} record with guid {guid}")
        return self.records[guid]

    def view(self, record: dict) -> dict:
        """The record as the API shows it: references carry the current name."""
        shown = copy.deepcopy(record)
        for name, target in self.spec.references.items():
            if shown.get(name):
                referenced = self.state.collections[target].records[shown[name]["guid"]]
                if "name" in referenced:
                    shown[name]["name"] = referenced["name"]
                else:  # a user: workhours show user{guid, firstName, lastName}
                    shown[name].update(firstName=referenced.get("firstName"), lastName=referenced.get("lastName"))
        return shown

    def create(self, body: Any, guid: str | None = None, stamps: dict | None = None) -> dict:
        """Store a new record from the writable fields of ``body``; returns it."""
        if not isinstance(body, dict):
            raise _invalid("request body must be a JSON object")
        guid = guid or str(uuid.uuid4())
        if guid in self.records:
            raise SeveraError(400, "InvalidOperation", f"guid {guid} already exists")
        record = {key: copy.deepcopy(body.get(key, default)) for key, default in self.spec.fields.items()}
        if self.spec.auto_number and record["number"] in (None, ""):
            record["number"] = self._next_number()
        self._validate(record, guid)
        now = _iso(_now())
        record = {"guid": guid, **record, "createdDateTime": now, "lastUpdatedDateTime": now}
        record.update(stamps or {})
        self.records[guid] = record
        return record

    def patch(self, guid: str, operations: Any) -> dict:
        """Apply a JSON Patch array to a copy, validate it, then store it with a new stamp."""
        if not isinstance(operations, list):
            raise _invalid("request body must be a JSON Patch array")
        record = copy.deepcopy(self.get(guid))
        for op in operations:
            _apply_replace(record, op, self.spec.fields)
        self._validate(record, guid)
        record["lastUpdatedDateTime"] = _iso(_now())
        self.records[guid] = record
        return record

    def page(self, params) -> tuple[list[dict], dict[str, str]]:
        """One page of the filtered list, and the response headers (``NextPageToken``)."""
        rows = self._select(params)
        size = _int_param(params, "rowCount", DEFAULT_ROW_COUNT, 1, min(MAX_ROW_COUNT, self.spec.max_row_count))
        if self.spec.paging == "rows":
            first = _int_param(params, "firstRow", 0, 0)
            return [self.view(r) for r in rows[first:first + size]], {}
        if params.get("pageToken"):
            after = _decode_page_token(params["pageToken"])
            rows = [r for r in rows if _order_key(r) > after]
        page = rows[:size]
        headers = {"NextPageToken": _encode_page_token(_order_key(page[-1]))} if len(rows) > size else {}
        return [self.view(r) for r in page], headers

    def _select(self, params) -> list[dict]:
        since = _parse_time(params["changedSince"], "changedSince") if params.get("changedSince") else None
        wanted = [(f, f.values(params)) for f in self.spec.filters if f.param in params]
        return sorted(
            (r for r in self.records.values()
             if (since is None or _order_key(r)[0] >= since)
             and all(f.matches(r, values) for f, values in wanted)),
            key=_order_key,
        )

    def _validate(self, record: dict, guid: str) -> None:
        """Required fields, uniqueness and references; references are stored as ``{guid}``."""
        for name in self.spec.required:
            if record.get(name) in (None, ""):
                raise _invalid(f"{name} is required")
        unique = self.spec.unique
        if unique and record[unique] not in (None, ""):
            if any(str(r[unique]) == str(record[unique]) for g, r in self.records.items() if g != guid):
                raise SeveraError(400, "InvalidOperation",
                                  f"A {self.spec.name} record with {unique} {record[unique]} already exists")
        for name, target in self.spec.references.items():
            ref = record.get(name)
            if ref is None:
                continue
            ref_guid = ref.get("guid") if isinstance(ref, dict) else None
            if ref_guid not in self.state.collections[target].records:
                raise _invalid(f"{name}: no {target} record with guid {ref_guid}")
            record[name] = {"guid": ref_guid}
        if self.spec.open_project and self.state.collections["projects"].records[record["project"]["guid"]]["isClosed"]:
            raise SeveraError(400, "InvalidOperation", "The project is closed; costs cannot be added to it")
        if self.spec.period:
            start, end = (_parse_time(record[name], name) for name in self.spec.period)
            if end < start:
                raise _invalid(f"{self.spec.period[1]} may not be before {self.spec.period[0]}")

    def _next_number(self) -> str:
        numbers = [int(r["number"]) for r in self.records.values() if str(r["number"]).isdigit()]
        return str(max(numbers, default=999) + 1)


# -- state: records, tokens, rate limit ------------------------------------------------------
class SeveraState:
    """All simulator state; callers hold the simulator lock."""

    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.collections = {spec.name: Collection(spec, self) for spec in RESOURCES}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.hits: dict[str, deque] = defaultdict(deque)

    def seed(self, payload: dict) -> dict:
        """Load ``{resource: [records]}``; ``guid`` and the two stamps may be given."""
        unknown = set(payload) - set(self.collections)
        if unknown:
            raise _invalid(f"unknown collections: {sorted(unknown)}")
        created = {}
        for spec in RESOURCES:
            items = payload.get(spec.name, [])
            created[spec.name] = [self._seed_one(spec.name, item)["guid"] for item in items]
        return created

    def _seed_one(self, name: str, item: dict) -> dict:
        """One seeded record; its stamps may be given (``createdDateTime`` defaults to the other)."""
        updated = item.get("lastUpdatedDateTime")
        given = {"createdDateTime": item.get("createdDateTime") or updated, "lastUpdatedDateTime": updated}
        stamps = {key: _iso(_parse_time(value, key)) for key, value in given.items() if value}
        return self.collections[name].create(item, guid=item.get("guid"), stamps=stamps)

    def dump(self) -> dict:
        """Every collection in list order, as the API shows the records."""
        return {name: [c.view(r) for r in sorted(c.records.values(), key=_order_key)]
                for name, c in self.collections.items()}

    def issue_tokens(self, client_id: str, scopes: tuple[str, ...]) -> dict:
        """New access and refresh tokens for ``client_id`` with ``scopes``."""
        ttl, refresh_ttl = self.config["token_ttl_seconds"], self.config["refresh_token_ttl_seconds"]
        grant = {"client_id": client_id, "scopes": scopes}
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access_tokens[access] = {**grant, "expires": time.time() + ttl}
        self.refresh_tokens[refresh] = {**grant, "expires": time.time() + refresh_ttl}
        return {
            "access_token": access,
            "access_token_type": "Bearer",
            "access_token_expires_in": ttl,
            "access_token_expires_utc": _iso(_now() + timedelta(seconds=ttl)),
            "refresh_token": refresh,
            "refresh_token_expires_in": refresh_ttl,
            "scope": ",".join(scopes),
        }

    def login(self, body: Any) -> dict:
        """``POST /v1/token``: check the client credentials, grant the asked scopes."""
        if not isinstance(body, dict) or not body.get("client_id") or not body.get("client_secret"):
            raise _invalid("client_id and client_secret are required")
        self.throttle(str(body["client_id"]))
        good = (secrets.compare_digest(str(body["client_id"]), str(self.config["client_id"]))
                and secrets.compare_digest(str(body["client_secret"]), str(self.config["client_secret"])))
        if not good:
            raise _unauthenticated("Invalid client_id or client_secret")
        asked = tuple(s.strip() for s in str(body.get("scope") or "").split(",") if s.strip())
        return self.issue_tokens(body["client_id"], asked or ALL_SCOPES)

    def refresh(self, body: Any) -> dict:
        """``POST /v1/refreshtoken``: trade a refresh token (single use) for new tokens."""
        token = body.get("refresh_token") if isinstance(body, dict) else body
        grant = self.refresh_tokens.pop(token, None) if isinstance(token, str) else None
        if grant is None or grant["expires"] < time.time():
            raise _unauthenticated("Invalid or expired refresh token")
        self.throttle(grant["client_id"])
        return self.issue_tokens(grant["client_id"], grant["scopes"])

    def authorize(self, headers, scope: str) -> None:
        """Bearer token valid and unexpired, matching ``client_id`` header, rate, scope."""
        kind, _, token = headers.get("authorization", "").partition(" ")
        grant = self.access_tokens.get(token.strip()) if kind.lower() == "bearer" else None
        if grant is None or grant["expires"] < time.time():
            raise _unauthenticated("A valid, unexpired Bearer access token is required")
        if headers.get("client_id") != grant["client_id"]:
            raise _unauthenticated("The client_id header is missing or does not match the token")
        self.throttle(grant["client_id"])
        if scope not in grant["scopes"]:
            raise SeveraError(403, "InsufficientApiScope", f"The access token lacks the scope {scope}")

    def throttle(self, client_id: str) -> None:
        """At most ``rate_limit_per_second`` accepted requests per client in any rolling second."""
        now, hits = time.monotonic(), self.hits[client_id]
        while hits and now - hits[0] >= 1.0:
            hits.popleft()
        if len(hits) >= self.config["rate_limit_per_second"]:
            raise SeveraError(429, "TooManyRequests", "Rate limit exceeded, retry later")
        hits.append(now)


# -- app -------------------------------------------------------------------------------------
def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise _invalid("request body is not valid JSON") from None


def _add_resource_routes(app: FastAPI, sim: Simulator, state: SeveraState, spec: Resource) -> None:
    """GET list, GET one, POST and PATCH for one resource."""
    path, read, write = f"{V1}/{spec.name}", f"{spec.name}:read", f"{spec.name}:write"

    @app.get(path, name=f"list_{spec.name}")
    async def list_records(request: Request) -> JSONResponse:
        with sim.lock:
            state.authorize(request.headers, read)
            rows, headers = state.collections[spec.name].page(request.query_params)
        return JSONResponse(rows, headers=headers)

    @app.get(path + "/{guid}", name=f"get_{spec.name}")
    async def get_record(guid: str, request: Request) -> JSONResponse:
        with sim.lock:
            state.authorize(request.headers, read)
            collection = state.collections[spec.name]
            return JSONResponse(collection.view(collection.get(guid)))

    @app.post(path, name=f"create_{spec.name}")
    async def create_record(request: Request) -> JSONResponse:
        raw = await request.body()
        with sim.lock:
            state.authorize(request.headers, write)
            collection = state.collections[spec.name]
            return JSONResponse(collection.view(collection.create(_json(raw))), status_code=201)

    @app.patch(path + "/{guid}", name=f"patch_{spec.name}")
    async def patch_record(guid: str, request: Request) -> JSONResponse:
        raw = await request.body()
        with sim.lock:
            state.authorize(request.headers, write)
            collection = state.collections[spec.name]
            return JSONResponse(collection.view(collection.patch(guid, _json(raw))))


def minimal_pdf(title: str) -> bytes:
    """A small, valid one-page PDF naming ``title`` (for the documents' PDF routes)."""
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _add_invoice_routes(app: FastAPI, sim: Simulator, state: SeveraState) -> None:
    """An invoice's rows and its PDF."""

    @app.get(V1 + "/invoices/{guid}/invoicerows", name="list_invoicerows")
    async def invoice_rows(guid: str, request: Request) -> JSONResponse:
        with sim.lock:
            state.authorize(request.headers, "invoices:read")
            state.collections["invoices"].get(guid)
            rows = state.collections["invoicerows"]
            mine = [r for r in rows.records.values() if r["invoice"]["guid"] == guid]
            return JSONResponse([rows.view(r) for r in sorted(mine, key=lambda r: (r["sortOrder"], _order_key(r)))])

    @app.get(V1 + "/travelreimbursements/{guid}/pdf", name="travelreimbursement_pdf")
    async def travel_pdf(guid: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers, "travelreimbursements:read")
            travel = state.collections["travelreimbursements"].get(guid)
        return Response(minimal_pdf(f"Travel invoice {travel['number']}"), media_type="application/pdf")

    @app.get(V1 + "/invoices/{guid}/pdf", name="invoice_pdf")
    async def invoice_pdf(guid: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers, "invoices:read")
            invoice = state.collections["invoices"].get(guid)
        return Response(minimal_pdf(f"Invoice {invoice['number']}"), media_type="application/pdf")


def _add_error_handlers(app: FastAPI) -> None:
    """Vendor envelope for SeveraError and for unknown routes/methods under the base path."""

    async def on_severa_error(request: Request, exc: SeveraError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message)

    async def on_http_error(request: Request, exc: StarletteHTTPException):
        if not request.url.path.startswith(BASE):
            return await http_exception_handler(request, exc)
        type_ = "NotFound" if exc.status_code == 404 else "InvalidOperation"
        return error_response(exc.status_code, type_, str(exc.detail))

    app.add_exception_handler(SeveraError, on_severa_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def create_app(config: dict | None = None) -> FastAPI:
    """Build the Severa simulator; ``config`` overrides :data:`DEFAULT_CONFIG`."""
    sim = Simulator("severa", error_response)
    sim.config.update({**DEFAULT_CONFIG, **(config or {})})
    state = SeveraState(sim.config)
    app = sim.app
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)
    _add_error_handlers(app)

    @app.get(BASE + "/heartbeat/server")
    async def heartbeat() -> dict:
        return {"status": "OK"}

    @app.post(V1 + "/token")
    async def token(request: Request) -> dict:
        raw = await request.body()
        with sim.lock:
            return state.login(_json(raw))

    @app.post(V1 + "/refreshtoken")
    async def refresh_token(request: Request) -> dict:
        raw = await request.body()
        with sim.lock:
            return state.refresh(_json(raw))

    for spec in RESOURCES:
        if spec.routes:
            _add_resource_routes(app, sim, state, spec)
    _add_invoice_routes(app, sim, state)
    return app


DEMO_SEED: dict = {
    "invoicestatuses": [
        {"guid": "a1000000-0000-4000-8000-000000000001", "name": "Draft", "isDefault": True, "sortOrder": 0},
        {"guid": "a1000000-0000-4000-8000-000000000002", "name": "Ready to be sent to Netvisor", "sortOrder": 1},
        {"guid": "a1000000-0000-4000-8000-000000000003", "name": "Invoice sent to Netvisor", "isSent": True,
         "sortOrder": 2},
    ],
    "travelreimbursementstatuses": [
        {"guid": "a2000000-0000-4000-8000-000000000001", "name": "Draft"},
        {"guid": "a2000000-0000-4000-8000-000000000002", "name": "Approved"},
        {"guid": "a2000000-0000-4000-8000-000000000003", "name": "Rejected"},
        {"guid": "a2000000-0000-4000-8000-000000000004", "name": "Transferred to Netvisor"},
    ],
    "businessunits": [
        {"guid": "b1000000-0000-4000-8000-000000000001", "name": "Helsinki", "code": "HEL", "isActive": True},
        {"guid": "b1000000-0000-4000-8000-000000000002", "name": "Tampere", "code": "TRE", "isActive": True,
         "parentGuid": "b1000000-0000-4000-8000-000000000001"},
    ],
    "customers": [
        {"guid": "c1000000-0000-4000-8000-000000000001", "name": "Oy Esimerkki Ab", "number": "1001",
         "email": "laskut@esimerkki.fi", "vatNumber": "FI19675438",
         "headquarterAddress": {"addressline": "Mannerheimintie 1", "postalCode": "00100",
                                "city": "Helsinki", "countryCode": "FI"},
         "paymentTerm": 14, "eInvoiceAddress": "003719675438", "eInvoiceOperator": "003721291126",
         "currency": {"code": "EUR"}, "language": "fi"},
        {"guid": "c1000000-0000-4000-8000-000000000002", "name": "Smith & Sons Ltd", "number": "1002",
         "email": "ap@smithandsons.example", "vatNumber": "GB123456789",
         "headquarterAddress": {"addressline": "1 High Street", "postalCode": "SW1A 1AA",
                                "city": "London", "countryCode": "GB"},
         "paymentTerm": 30, "currency": {"code": "GBP"}, "language": "en"},
        {"guid": "c1000000-0000-4000-8000-000000000003", "name": "Kylmäkönen Äijälä Öljy Oy",
         "number": "1003",
         "email": "talous@kylmakonen.example", "vatNumber": "FI02345678",
         "headquarterAddress": {"addressline": "Pyynikintie 5", "postalCode": "33230",
                                "city": "Tampere", "countryCode": "FI"},
         "paymentTerm": 21, "currency": {"code": "EUR"}, "language": "fi"},
    ],
    "products": [
        {"guid": "d1000000-0000-4000-8000-000000000001", "code": "CONS-H", "name": "Consulting hour",
         "unitPrice": {"amount": 120.0, "currencyCode": "EUR"},
         "unitCost": {"amount": 60.0, "currencyCode": "EUR"},
         "vatRate": 25.5, "measurementUnit": "h", "type": "Work"},
        {"guid": "d1000000-0000-4000-8000-000000000002", "code": "LIC-Y", "name": "Annual licence",
         "unitPrice": {"amount": 1200.0, "currencyCode": "EUR"},
         "unitCost": {"amount": 400.0, "currencyCode": "EUR"},
         "vatRate": 25.5, "measurementUnit": "pcs", "type": "Product"},
    ],
    "projects": [
        {"guid": "e1000000-0000-4000-8000-000000000001", "number": "2001", "name": "ERP rollout",
         "customer": {"guid": "c1000000-0000-4000-8000-000000000001"},
         "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000001"},
         "projectStatus": {"guid": "f1000000-0000-4000-8000-000000000001", "name": "In progress"}},
        {"guid": "e1000000-0000-4000-8000-000000000002", "number": "2002", "name": "Support & maintenance",
         "customer": {"guid": "c1000000-0000-4000-8000-000000000003"},
         "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000002"},
         "projectStatus": {"guid": "f1000000-0000-4000-8000-000000000002", "name": "Closed"},
         "isClosed": True},
    ],
    "users": [
        {"guid": "a3000000-0000-4000-8000-000000000001", "firstName": "Maija", "lastName": "Virtanen",
         "email": "maija.virtanen@example.fi", "code": "101",
         "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000001"}},
        {"guid": "a3000000-0000-4000-8000-000000000002", "firstName": "Matti", "lastName": "Meikäläinen",
         "email": "matti.meikalainen@example.fi", "code": "102",
         "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000002"}},
    ],
    "overtimes": [{"guid": "a4000000-0000-4000-8000-000000000001", "name": "Overtime 50 %", "code": "2",
                   "percentage": 50}],
    "activitytypes": [{"guid": "a5000000-0000-4000-8000-000000000001", "name": "Vacation", "code": "VAC"},
                      {"guid": "a5000000-0000-4000-8000-000000000002", "name": "Sick leave", "code": "SICK"}],
}

_PEOPLE = {user["code"]: {"guid": user["guid"]} for user in DEMO_SEED["users"]}
_PRODUCTS = {product["code"]: product for product in DEMO_SEED["products"]}
_ERP_ROLLOUT, _SUPPORT = ({"guid": project["guid"]} for project in DEMO_SEED["projects"])


def _weekdays_before(today: date, count: int) -> list[str]:
    """The ``count`` weekdays before ``today``, oldest first."""
    days, day = [], today
    while len(days) < count:
        day -= timedelta(days=1)
        if day.isoweekday() <= 5:
            days.append(day.isoformat())
    return days[::-1]


def _demo_invoice(number: int, customer: int, project: dict, day: str, rows: list[tuple]) -> tuple:
    """A "Ready to be sent to Netvisor" invoice and its rows ((product code, quantity, description)), with
    totals that add up."""
    guid = f"a6000000-0000-4000-8000-{number:012d}"
    net = round(sum(quantity * _PRODUCTS[code]["unitPrice"]["amount"] for code, quantity, _ in rows), 2)
    invoice = {"guid": guid, "number": str(number), "status": {"guid": "a1000000-0000-4000-8000-000000000002"},
               "customer": {"guid": f"c1000000-0000-4000-8000-{customer:012d}"}, "projects": [project],
               "date": day, "dueDate": (date.fromisoformat(day) + timedelta(days=14)).isoformat(),
               "totalExcludingTax": net, "totalIncludingTax": round(net * 1.255, 2)}
    return invoice, [{"invoice": {"guid": guid}, "product": {"guid": _PRODUCTS[code]["guid"]}, "quantity": quantity,
                      "unitPrice": _PRODUCTS[code]["unitPrice"], "vatRate": _PRODUCTS[code]["vatRate"],
                      "description": description, "project": project, "user": _PEOPLE["101"], "sortOrder": n}
                     for n, (code, quantity, description) in enumerate(rows)]


def _demo_travel(number: int, person: str, day: str, expenses: list[tuple]) -> tuple:
    """An Approved travel invoice and its lines ((wage type code, name, quantity, unit price, reimbursable))."""
    guid = f"a7000000-0000-4000-8000-{number:012d}"
    travel = {"guid": guid, "number": f"T-{number}", "user": _PEOPLE[person], "date": day,
              "travelReimbursementStatus": {"guid": "a2000000-0000-4000-8000-000000000002"}}
    return travel, [{"travelReimbursement": {"guid": guid}, "project": _ERP_ROLLOUT, "eventDate": day,
                     "expenseType": {"code": code, "name": name}, "quantity": quantity, "unitPrice": unit,
                     "amount": round(quantity * unit, 2), "isReimbursable": reimbursable, "description": name}
                    for code, name, quantity, unit, reimbursable in expenses]


def demo_documents(today: date) -> dict:
    """Documents for the demo's document flows, dated relative to ``today`` (inside their default
    ranges): invoices ready for Netvisor, Approved travel invoices, the last weekdays' hours and a
    vacation before them (its type VAC moves once ``hours.absence_record_types`` maps it)."""
    days = _weekdays_before(today, 5)
    vacation, worked = days[:2], days[2:]
    invoices = [_demo_invoice(10001, 1, _ERP_ROLLOUT, worked[0], [("CONS-H", 12.5, "Consulting"),
                                                                  ("LIC-Y", 1, "Annual licence")]),
                _demo_invoice(10002, 3, _SUPPORT, worked[1], [("CONS-H", 4, "Support, final month")]),
                _demo_invoice(10003, 1, _ERP_ROLLOUT, worked[2], [("LIC-Y", 2, "Additional licences")])]
    travels = [_demo_travel(1001, "101", worked[0], [("1300", "Mileage, km", 120, 0.59, True),
                                                     ("1502", "Per diem", 1, 53.0, True)]),
               _demo_travel(1002, "102", worked[1], [("1502", "Per diem", 2, 53.0, True),
                                                     ("1999", "Hotel, paid by the company", 1, 119.0, False)])]
    hours = [{"user": _PEOPLE[person], "project": _ERP_ROLLOUT, "eventDate": day, "quantity": quantity,
              "description": "ERP rollout"} for day in worked for person, quantity in (("101", 7.5), ("102", 6))]
    hours.append({"user": _PEOPLE["101"], "project": _ERP_ROLLOUT, "eventDate": worked[-1], "quantity": 1.5,
                  "overtime": {"guid": "a4000000-0000-4000-8000-000000000001"}, "description": "Go-live"})
    return {
        "invoices": [invoice for invoice, _ in invoices], "invoicerows": [r for _, rows in invoices for r in rows],
        "travelreimbursements": [travel for travel, _ in travels],
        "projecttravelexpenses": [line for _, lines in travels for line in lines],
        "workhours": hours,
        "activities": [{"owner": _PEOPLE["102"], "activityType": {"guid": "a5000000-0000-4000-8000-000000000001"},
                        "activityCategory": "Absence", "startDateTime": f"{vacation[0]}T00:00:00",
                        "endDateTime": f"{vacation[1]}T23:59:59", "isAllDay": True}],
    }


# seeded after DEMO_SEED by the demo (kept apart: tests build on DEMO_SEED with people of their own)
DEMO_DOCUMENTS: dict = demo_documents(datetime.now().date())
