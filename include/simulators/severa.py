"""Simulator of the Visma Severa REST API v1, written from Severa's published OpenAPI v1.0 only
(vendored in tests/contract/severa/openapi-v1.json, which the conformance tests hold it to).

The resources the flows use, in the contract's models (names, types, enums, money objects
``{amount, currencyCode}``), behind client-credential tokens with the contract's area scopes
(``customers:read``, ``hours:read``, ``settings:read`` ...), a per-client rolling rate limit and the two
paging styles: ``rowCount`` + ``pageToken`` (next token in the ``NextPageToken`` response header) and
``firstRow`` + ``rowCount``, 20 rows by default and at most 100. Errors use the contract's
``ExceptionModel`` (``{"error": {httpStatusCode, type, details[{message}]}}``); a 404 has no body and
``/heartbeat/server`` answers text/plain. Every answer and the request behind it is recorded for the
conformance tests (``GET /_sim/exchanges``).

ASSUMED where the contract is silent (each listed in the README): ``rowCount`` above 100 (or below 1)
is refused with InvalidParameter; lists without a stated maximum take 100 too; an invoice row's
``/projectfees`` and ``/workhours`` are those whose ``invoiceRowGuid`` is the row; the rate limit
answers 429 with type InvalidRequest (the contract's enum has no rate-limit type).
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
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._common import ADMIN_PREFIX, Simulator

BASE = "/rest-api"
V1 = BASE + "/v1"
MAX_ROW_COUNT = 100
DEFAULT_ROW_COUNT = 20

DEFAULT_CONFIG = {
    "client_id": "erpbridge-demo",
    "client_secret": "demo-secret",
    "token_ttl_seconds": 3600,
    "refresh_token_ttl_seconds": 86400,
    "rate_limit_per_second": 10,
}

# The contract's OAuth2 scopes (components.securitySchemes.OAuth2): one per area and access.
AREAS = ("activities", "customers", "fees", "files", "hours", "invoices", "organization", "projects",
         "resourceallocations", "settings", "travels", "users")
ALL_SCOPES = tuple(f"{area}:{access}" for area in AREAS for access in ("read", "write", "delete")
                   if (area, access) != ("organization", "delete"))


# -- errors ----------------------------------------------------------------------------------
class SeveraError(Exception):
    """A vendor error, answered in the contract's ExceptionModel (404: no body)."""

    def __init__(self, status: int, type_: str, message: str):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def error_response(status: int, category: str, message: str) -> Response:
    """``{"error": {httpStatusCode, type, details: [{message}]}}``; a 404 is answered without a body."""
    if status == 404:
        return Response(status_code=404)
    error = {"httpStatusCode": status, "type": category, "details": [{"message": message}]}
    return JSONResponse({"error": error}, status_code=status)


def _invalid(message: str) -> SeveraError:
    return SeveraError(400, "InvalidParameter", message)


def _unauthenticated(message: str) -> SeveraError:
    return SeveraError(401, "AuthenticationRequired", message)


def _not_found(what: str, guid: str) -> SeveraError:
    return SeveraError(404, "NotFound", f"No {what} record with guid {guid}")


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
    """A list filter: query ``param`` compared with the value at ``path`` of the record as shown."""

    param: str
    path: tuple[str, ...]
    kind: str  # "list": repeatable, any value matches; "ints": the same, integers; "bool": true/false;
    # "min"/"max": a date bound; "from"/"until": a date-time bound (the value at or after / at or before it)

    def values(self, params) -> set[str] | bool | str | datetime:
        """The wanted values from the query; InvalidParameter for a bad integer, boolean or date-time."""
        if self.kind in ("list", "ints"):
            wanted = set(params.getlist(self.param))
            if self.kind == "ints" and not all(v.lstrip("-").isdigit() for v in wanted):
                raise _invalid(f"{self.param} must be integers")
            return wanted
        if self.kind in ("min", "max"):
            return params[self.param][:10]
        if self.kind in ("from", "until"):
            return _parse_time(params[self.param], self.param)
        raw = params[self.param].lower()
        if raw not in ("true", "false"):
            raise _invalid(f"{self.param} must be true or false")
        return raw == "true"

    def matches(self, shown: dict, wanted: set[str] | bool | str | datetime) -> bool:
        value: Any = shown
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
class Ref:
    """A reference to a record of ``target``, stored as ``{guid}`` and shown with ``shown`` attributes
    of the target (``name`` of a user is "first last")."""

    target: str
    shown: tuple[str, ...] = ("name",)


@dataclass(frozen=True)
class Resource:
    """One Severa resource: its fields (with defaults), its scope area and its rules."""

    name: str
    area: str  # the scope area: <area>:read to read, <area>:write to write
    fields: dict[str, Any]
    read_only: tuple[str, ...] = ()  # shown, set by a seed, never written through the API
    paging: str = "token"  # "token": rowCount + pageToken; "rows": firstRow + rowCount
    required: tuple[str, ...] = ("name",)
    unique: str | None = None  # field that must be unique when non-empty
    auto_number: bool = False  # assign the next free integer ``number`` when absent
    filters: tuple[Filter, ...] = ()
    references: dict[str, Ref] = field(default_factory=dict)
    list_references: dict[str, Ref] = field(default_factory=dict)  # field -> a list of references
    routes: tuple[str, ...] = ("list", "get", "post", "patch")
    post_answers_list: bool = False  # POST answers ``[record]`` (the contract's projectfees)
    open_project: bool = False  # the referenced ``project`` must not be closed (costs on a project)
    period: tuple[str, str] | None = None  # (start, end) date-time fields; the end may not precede the start


_IS_ACTIVE = Filter("isActive", ("isActive",), "bool")
_CHANGED = "changedSince"
_USER = Ref("users", ("firstName", "lastName", "code", "name"))

# In dependency order: a seed creates referenced records first.
RESOURCES = (
    Resource("businessunits", "settings", paging="rows", routes=("list", "get", "patch"),
             fields={"name": None, "code": None, "isActive": True, "parentGuid": None}),
    Resource(
        "customers", "customers", unique="number", auto_number=True,
        fields={"name": None, "number": None, "isActive": True, "email": None, "vatNumber": None,
                "paymentTerm": None, "eInvoiceAddress": None, "eInvoiceOperator": None, "currency": None},
        read_only=("headquarterAddress", "isInternal"),
        filters=(Filter("numbers", ("number",), "ints"), _IS_ACTIVE),
    ),
    Resource(
        "products", "settings", unique="code",
        fields={"code": None, "name": None, "unitPrice": None, "unitCost": None, "vatRate": None,
                "measurementUnit": None, "isActive": True, "productCategory": None, "type": None},
        filters=(Filter("code", ("code",), "list"), _IS_ACTIVE),
    ),
    Resource(
        "projects", "projects", unique="number", auto_number=True, required=("name", "customer"),
        fields={"number": None, "name": None, "customer": None, "businessUnit": None, "isClosed": False,
                "projectStatus": None},
        filters=(Filter("isClosed", ("isClosed",), "bool"), Filter("numbers", ("number",), "ints"),
                 Filter("customerGuids", ("customer", "guid"), "list"),
                 Filter("projectGuids", ("guid",), "list")),
        references={"customer": Ref("customers", ("name", "number")),
                    "businessUnit": Ref("businessunits", ("name", "code"))},
    ),
    Resource(
        "users", "users", unique="code", required=("firstName", "lastName"),
        fields={"firstName": None, "lastName": None, "email": None, "code": None, "isActive": True,
                "businessUnit": None},
        filters=(Filter("code", ("code",), "list"), _IS_ACTIVE,
                 Filter("businessUnitGuids", ("businessUnit", "guid"), "list")),
        references={"businessUnit": Ref("businessunits", ("name", "code"))},
    ),
    Resource("costcenters", "settings", paging="rows", required=("name", "identifier"),
             fields={"name": None, "identifier": None, "isActive": True}),
    Resource("overtimes", "settings", paging="rows", required=("name", "code"),
             fields={"name": None, "code": None, "percentage": 0, "isActive": True}),
    Resource("worktypes", "settings", paging="rows", fields={"name": None, "code": None, "isActive": True}),
    Resource(
        "workhours", "hours", required=("user", "eventDate"), routes=("list", "get", "post", "patch", "delete"),
        fields={"user": None, "project": None, "workType": None, "overtime": None, "eventDate": None,
                "quantity": None, "description": None, "isBillable": True, "isApproved": False,
                "invoiceRowGuid": None},
        filters=(Filter("eventDateStart", ("eventDate",), "min"), Filter("eventDateEnd", ("eventDate",), "max")),
        references={"user": _USER, "project": Ref("projects", ("name", "number", "isClosed")),
                    "workType": Ref("worktypes", ("code", "name")), "overtime": Ref("overtimes")},
    ),
    Resource(  # what DELETE /v1/workhours/{guid} leaves behind (DeletedWorkHourModel, all read-only)
        "deletedworkhours", "hours", routes=("list",), required=(),
        fields={}, read_only=("user", "project", "eventDate", "quantity", "deletedDateTime"),
        filters=(Filter("deletedSince", ("deletedDateTime",), "from"),
                 Filter("userGuids", ("user", "guid"), "list"), Filter("projectGuids", ("project", "guid"), "list")),
    ),
    Resource(
        "invoicestatuses", "settings", paging="rows", unique="name",
        fields={"name": None, "isActive": True, "isDefault": False, "isSent": False, "isWaitingPayment": False,
                "isPaid": False, "sortOrder": 0},
    ),
    Resource(
        "invoices", "invoices", unique="number", auto_number=True, required=("customer", "status"),
        fields={"number": None, "referenceNumber": None, "status": None, "customer": None, "projects": [],
                "date": None, "dueDate": None, "paymentTerm": 14, "totalExcludingTax": None,
                "totalIncludingTax": None, "totalTax": None, "currency": None, "currencyRate": 1.0,
                "isCreditNote": False},
        filters=(Filter("invoiceStatusGuids", ("status", "guid"), "list"), Filter("numbers", ("number",), "ints")),
        references={"customer": Ref("customers", ("name", "number")),
                    "status": Ref("invoicestatuses", ("name", "isSent", "isPaid", "isWaitingPayment"))},
        list_references={"projects": Ref("projects", ("name", "number"))},
    ),
    Resource(  # rows of an invoice, listed under /v1/invoices/{invoiceGuid}/invoicerows
        "invoicerows", "invoices", required=("invoiceGuid",), routes=("get", "patch"),
        fields={"invoiceGuid": None, "rowType": None, "category": None, "code": None, "description": None,
                "quantity": 0, "unitPrice": None, "measurementUnit": None, "vatRate": None, "sortOrder": 0,
                "salesAccount": None, "costCenter": None},
    ),
    Resource("travelexpensetypes", "settings", paging="rows",
             fields={"name": None, "code": None, "expenseClass": None, "isActive": True}),
    Resource("travelreimbursementstatuses", "settings", paging="rows", unique="name",
             fields={"name": None, "isActive": True, "isApproved": False, "isLocked": False, "sortOrder": 0}),
    Resource(
        "travelreimbursements", "travels", unique="number", required=("user", "travelReimbursementStatus"),
        fields={"user": None, "number": None, "date": None, "approvalDate": None, "total": None,
                "travelReimbursementStatus": None, "title": None},
        filters=(Filter("travelReimbursementStatusGuids", ("travelReimbursementStatus", "guid"), "list"),),
        references={"user": Ref("users"), "travelReimbursementStatus": Ref("travelreimbursementstatuses")},
    ),
    Resource(  # the expense lines; per trip under /v1/travelreimbursements/{guid}/projecttravelexpenses
        "projecttravelexpenses", "travels", required=("travelReimbursement", "user", "travelExpense"),
        fields={"travelReimbursement": None, "user": None, "project": None, "travelExpense": None,
                "eventDate": None, "quantity": None, "unitCost": None, "unitPrice": None,
                "travelReimbursementRequired": True, "description": None},
        references={"travelReimbursement": Ref("travelreimbursements", ()), "user": Ref("users", ("name", "code")),
                    "project": Ref("projects", ("name", "number")),
                    "travelExpense": Ref("travelexpensetypes", ("code", "name", "expenseClass"))},
    ),
    Resource("activitytypes", "settings", required=("name", "category"),
             fields={"name": None, "code": None, "category": None, "isActive": True, "isPaidLeave": None}),
    Resource(
        "activities", "activities", required=("name", "ownerUser", "activityType", "startDateTime"),
        fields={"name": None, "activityType": None, "ownerUser": None, "startDateTime": None,
                "endDateTime": None, "isAllDay": False, "isClosed": False},
        routes=("list", "get", "post", "patch", "delete"),
        filters=(Filter("activityCategories", ("activityType", "category"), "list"),
                 Filter("userGuids", ("ownerUser", "guid"), "list"),
                 Filter("startDateTime", ("endDateTime",), "from"), Filter("endDateTime", ("startDateTime",), "until")),
        references={"activityType": Ref("activitytypes", ("name", "category")),
                    "ownerUser": Ref("users", ("name", "code"))},
        period=("startDateTime", "endDateTime"),
    ),
    Resource(  # project fees: project costs (purchase invoices) and what an invoice row bills
        "projectfees", "fees", required=("project",), open_project=True, post_answers_list=True,
        fields={"project": None, "product": None, "name": None, "quantity": 0, "unitCost": None,
                "unitPrice": None, "description": None, "eventDate": None, "invoiceRowGuid": None,
                "recurrenceRuleGuid": None},
        references={"project": Ref("projects"), "product": Ref("products", ("code", "name"))},
    ),
)
RESOURCE = {spec.name: spec for spec in RESOURCES}


def _order_key(record: dict) -> tuple:
    """Stable list order: lastUpdatedDateTime (always stored as UTC ``...Z`` with milliseconds), then guid."""
    return record["lastUpdatedDateTime"], record["guid"]


def _encode_page_token(key: tuple) -> str:
    """Opaque keyset token: the order key of the last row served, so paging survives writes."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_page_token(token: str) -> list:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, TypeError):
        key = None
    if not isinstance(key, list):
        raise _invalid("pageToken is not valid")
    return key


def _int_param(params, name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer query parameter within bounds; InvalidParameter otherwise."""
    raw = params.get(name, str(default))
    value = int(raw) if raw.isdigit() else -1
    if value < low or (high is not None and value > high):
        upper = f" and at most {high}" if high is not None else ""
        raise _invalid(f"{name} must be an integer of at least {low}{upper}")
    return value


def _apply_replace(record: dict, op: Any, writable: dict) -> None:
    """Apply one JSON Patch operation; only ``replace`` (any case) of a writable field is supported."""
    if not isinstance(op, dict) or str(op.get("op")).lower() != "replace" or "value" not in op:
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


def _without_nulls(value: Any) -> Any:
    """A record as answered: absent rather than null (every property the flows read is optional)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class Collection:
    """The records of one resource: create, patch, filter, order and page them."""

    def __init__(self, spec: Resource, state: "SeveraState"):
        self.spec, self.state = spec, state
        self.records: dict[str, dict] = {}

    def get(self, guid: str) -> dict:
        if guid not in self.records:
            raise _not_found(self.spec.name, guid)
        return self.records[guid]

    def view(self, record: dict) -> dict:
        """The record as the API shows it: references carry the attributes their sub-model shows."""
        shown = copy.deepcopy(record)
        for name, ref in self.spec.references.items():
            if shown.get(name):
                shown[name] = self._shown_reference(ref, shown[name]["guid"])
        for name, ref in self.spec.list_references.items():
            shown[name] = [self._shown_reference(ref, item["guid"]) for item in shown.get(name) or []]
        return _without_nulls(shown)

    def _shown_reference(self, ref: Ref, guid: str) -> dict:
        target = self.state.collections[ref.target].records[guid]
        shown = {"guid": guid}
        for attribute in ref.shown:
            if attribute == "name" and "name" not in target:  # a user
                shown["name"] = " ".join(p for p in (target.get("firstName"), target.get("lastName")) if p)
            else:
                shown[attribute] = target.get(attribute)
        return shown

    def create(self, body: Any, guid: str | None = None, stamps: dict | None = None, seeding: bool = False) -> dict:
        """Store a new record from ``body``; a seed may also set the read-only fields. Returns it."""
        if not isinstance(body, dict):
            raise _invalid("request body must be a JSON object")
        allowed = set(self.spec.fields) | (set(self.spec.read_only) if seeding else set())
        unknown = set(body) - allowed - ({"guid", "createdDateTime", "lastUpdatedDateTime"} if seeding else set())
        if unknown:
            raise _invalid(f"{self.spec.name}: not writable here: {', '.join(sorted(unknown))}")
        guid = guid or str(uuid.uuid4())
        if guid in self.records:
            raise SeveraError(400, "InvalidOperation", f"guid {guid} already exists")
        record = {key: copy.deepcopy(body.get(key, default)) for key, default in self.spec.fields.items()}
        record.update({key: copy.deepcopy(body[key]) for key in self.spec.read_only if key in body})
        if self.spec.auto_number and record["number"] in (None, ""):
            record["number"] = self._next_number()
        self._validate(record, guid, seeding)
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

    def page(self, params, within: Callable[[dict], bool] = lambda record: True,
             order: Callable[[dict], Any] = _order_key) -> tuple[list[dict], dict[str, str]]:
        """One page of the filtered list (only records ``within``), and the response headers."""
        size = _int_param(params, "rowCount", DEFAULT_ROW_COUNT, 1, MAX_ROW_COUNT)
        rows = sorted((r for r in self._select(params) if within(r)), key=order)
        if self.spec.paging == "rows":
            first = _int_param(params, "firstRow", 0, 0)
            return [self.view(r) for r in rows[first:first + size]], {}
        keyed = [(list(order(r)), r) for r in rows]
        if params.get("pageToken"):
            after = _decode_page_token(params["pageToken"])
            keyed = [(key, r) for key, r in keyed if key > after]
        page = keyed[:size]
        headers = {"NextPageToken": _encode_page_token(page[-1][0])} if len(keyed) > size else {}
        return [self.view(r) for _, r in page], headers

    def _select(self, params) -> list[dict]:
        since = _parse_time(params[_CHANGED], _CHANGED) if params.get(_CHANGED) else None
        wanted = [(f, f.values(params)) for f in self.spec.filters if f.param in params]
        return [r for r in self.records.values()
                if (since is None or _parse_time(r["lastUpdatedDateTime"], "lastUpdatedDateTime") >= since)
                and all(f.matches(self.view(r), values) for f, values in wanted)]

    def _validate(self, record: dict, guid: str, seeding: bool = False) -> None:
        """Required fields, types of numbers, uniqueness and references (stored as ``{guid}``); a seed (the
        past) may hold costs on a project closed since."""
        for name in self.spec.required:
            if record.get(name) in (None, ""):
                raise _invalid(f"{name} is required")
        if self.spec.auto_number and not isinstance(record["number"], int):
            raise _invalid(f"number must be an integer, not {record['number']!r}")
        unique = self.spec.unique
        if unique and record.get(unique) not in (None, ""):
            if any(str(r.get(unique)) == str(record[unique]) for g, r in self.records.items() if g != guid):
                raise SeveraError(400, "InvalidOperation",
                                  f"A {self.spec.name} record with {unique} {record[unique]} already exists")
        for name, ref in self.spec.references.items():
            if record.get(name) is not None:
                record[name] = {"guid": self._referenced(name, ref, record[name])}
        for name, ref in self.spec.list_references.items():
            record[name] = [{"guid": self._referenced(name, ref, item)} for item in record.get(name) or []]
        if self.spec.name == "invoicerows" and record["invoiceGuid"] not in self.state.collections["invoices"].records:
            raise _invalid(f"invoiceGuid: no invoice with guid {record['invoiceGuid']}")
        project = self.state.collections["projects"].records[record["project"]["guid"]] if self.spec.open_project else {}
        if project.get("isClosed") and not seeding:
            raise SeveraError(400, "InvalidOperation", "The project is closed; costs cannot be added to it")
        if self.spec.period and record.get(self.spec.period[1]):
            start, end = (_parse_time(record[name], name) for name in self.spec.period)
            if end < start:
                raise _invalid(f"{self.spec.period[1]} may not be before {self.spec.period[0]}")

    def _referenced(self, name: str, ref: Ref, value: Any) -> str:
        guid = value.get("guid") if isinstance(value, dict) else None
        if guid not in self.state.collections[ref.target].records:
            raise _invalid(f"{name}: no {ref.target} record with guid {guid}")
        return guid

    def _next_number(self) -> int:
        return max((r["number"] for r in self.records.values() if isinstance(r.get("number"), int)), default=999) + 1


# -- state: records, tokens, rate limit, the recorded exchanges ---------------------------------
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
        self.exchanges: list[dict] = []

    def seed(self, payload: dict) -> dict:
        """Load ``{resource: [records]}``; ``guid``, the two stamps and read-only fields may be given."""
        unknown = set(payload) - set(self.collections)
        if unknown:
            raise ValueError(f"unknown collections: {sorted(unknown)}")
        created = {}
        for spec in RESOURCES:
            items = payload.get(spec.name, [])
            try:
                created[spec.name] = [self._seed_one(spec.name, item)["guid"] for item in items]
            except SeveraError as exc:
                raise ValueError(f"{spec.name}: {exc.message}") from None
        return created

    def _seed_one(self, name: str, item: dict) -> dict:
        """One seeded record; its stamps may be given (``createdDateTime`` defaults to the other)."""
        updated = item.get("lastUpdatedDateTime")
        given = {"createdDateTime": item.get("createdDateTime") or updated, "lastUpdatedDateTime": updated}
        stamps = {key: _iso(_parse_time(value, key)) for key, value in given.items() if value}
        return self.collections[name].create(item, guid=item.get("guid"), stamps=stamps, seeding=True)

    def delete(self, name: str, guid: str) -> None:
        """DELETE /v1/{name}/{guid} (404 when there is no such record)."""
        if name == "workhours":
            self.delete_workhour(guid)
        else:
            self.collections[name].records.pop(self.collections[name].get(guid)["guid"])

    def delete_workhour(self, guid: str) -> None:
        """DELETE /v1/workhours/{guid}: the entry goes, a deletedworkhours record stays."""
        entry = self.collections["workhours"].records.pop(self.collections["workhours"].get(guid)["guid"])
        now = _iso(_now())
        self.collections["deletedworkhours"].records[guid] = {
            "guid": guid, "user": entry["user"], "project": entry["project"], "eventDate": entry["eventDate"],
            "quantity": entry["quantity"], "deletedDateTime": now, "createdDateTime": entry["createdDateTime"],
            "lastUpdatedDateTime": now}

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
            "refresh_token_expires_utc": _iso(_now() + timedelta(seconds=refresh_ttl)),
            "scope": ",".join(scopes),
        }

    def login(self, body: Any, headers) -> dict:
        """``POST /v1/token``: check the client credentials (and the Client_Id header), grant the asked
        scopes (every scope when none is asked)."""
        if not isinstance(body, dict) or not body.get("client_id") or not body.get("client_secret"):
            raise _invalid("client_id and client_secret are required")
        self.throttle(str(body["client_id"]))
        good = (secrets.compare_digest(str(body["client_id"]), str(self.config["client_id"]))
                and secrets.compare_digest(str(body["client_secret"]), str(self.config["client_secret"])))
        if not good:
            raise _unauthenticated("Invalid client_id or client_secret")
        if headers.get("client_id") != body["client_id"]:
            raise _unauthenticated("The Client_Id header is missing or does not match the credentials")
        asked = tuple(s.strip() for s in str(body.get("scope") or "").split(",") if s.strip())
        unknown = set(asked) - set(ALL_SCOPES)
        if unknown:
            raise _invalid(f"unknown scopes: {', '.join(sorted(unknown))}")
        return self.issue_tokens(body["client_id"], asked or ALL_SCOPES)

    def refresh(self, body: Any) -> dict:
        """``POST /v1/refreshtoken``: trade a refresh token (single use) for new tokens."""
        token = body.get("refresh_token") if isinstance(body, dict) else body
        grant = self.refresh_tokens.pop(token, None) if isinstance(token, str) else None
        if grant is None or grant["expires"] < time.time():
            raise _unauthenticated("Invalid or expired refresh token")
        self.throttle(grant["client_id"])
        return self.issue_tokens(grant["client_id"], grant["scopes"])

    def authorize(self, headers, scope: str | None) -> None:
        """Bearer token valid and unexpired, matching ``Client_Id`` header, rate, scope."""
        kind, _, token = headers.get("authorization", "").partition(" ")
        grant = self.access_tokens.get(token.strip()) if kind.lower() == "bearer" else None
        if grant is None or grant["expires"] < time.time():
            raise _unauthenticated("A valid, unexpired Bearer access token is required")
        if headers.get("client_id") != grant["client_id"]:
            raise _unauthenticated("The Client_Id header is missing or does not match the token")
        self.throttle(grant["client_id"])
        if scope is not None and scope not in grant["scopes"]:
            raise SeveraError(403, "InsufficientApiScope", f"The access token lacks the scope {scope}")

    def throttle(self, client_id: str) -> None:
        """At most ``rate_limit_per_second`` accepted requests per client in any rolling second."""
        now, hits = time.monotonic(), self.hits[client_id]
        while hits and now - hits[0] >= 1.0:
            hits.popleft()
        if len(hits) >= self.config["rate_limit_per_second"]:
            raise SeveraError(429, "InvalidRequest", "Rate limit exceeded, retry later")
        hits.append(now)


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


# -- app -------------------------------------------------------------------------------------
def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise _invalid("request body is not valid JSON") from None


def _decoded(raw: bytes) -> Any:
    """A recorded JSON body (None when empty or not JSON)."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _Recorder:
    """ASGI middleware keeping every vendor exchange (request and answer) for the conformance tests."""

    def __init__(self, app, state: SeveraState, sim: Simulator):
        self.app, self.state, self.sim = app, state, sim

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        chunks, answer, sent = [], {}, []

        async def recording_receive():
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def recording_send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["content_type"] = dict(message.get("headers", [])).get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        await self.app(scope, recording_receive, recording_send)
        body = b"".join(sent)
        with self.sim.lock:
            self.state.exchanges.append({
                "method": scope["method"], "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "request_body": _decoded(b"".join(chunks)), "status": answer.get("status"),
                "content_type": answer.get("content_type", ""), "response_size": len(body),
                "response_body": _decoded(body) if answer.get("content_type", "").startswith("application/json")
                else None})


def _add_resource_routes(app: FastAPI, sim: Simulator, state: SeveraState, spec: Resource) -> None:
    """The contract's list / get / post / patch / delete routes of one resource, each behind its scope."""
    path, read, write = f"{V1}/{spec.name}", f"{spec.area}:read", f"{spec.area}:write"

    if "list" in spec.routes:
        @app.get(path, name=f"list_{spec.name}")
        async def list_records(request: Request) -> JSONResponse:
            with sim.lock:
                state.authorize(request.headers, read)
                rows, headers = state.collections[spec.name].page(request.query_params)
            return JSONResponse(rows, headers=headers)

    if "get" in spec.routes:
        @app.get(path + "/{guid}", name=f"get_{spec.name}")
        async def get_record(guid: str, request: Request) -> JSONResponse:
            with sim.lock:
                state.authorize(request.headers, read)
                collection = state.collections[spec.name]
                return JSONResponse(collection.view(collection.get(guid)))

    if "post" in spec.routes:
        @app.post(path, name=f"create_{spec.name}")
        async def create_record(request: Request) -> JSONResponse:
            raw = await request.body()
            with sim.lock:
                state.authorize(request.headers, write)
                collection = state.collections[spec.name]
                shown = collection.view(collection.create(_json(raw)))
                return JSONResponse([shown] if spec.post_answers_list else shown, status_code=201)

    if "patch" in spec.routes:
        @app.patch(path + "/{guid}", name=f"patch_{spec.name}")
        async def patch_record(guid: str, request: Request) -> JSONResponse:
            raw = await request.body()
            with sim.lock:
                state.authorize(request.headers, write)
                collection = state.collections[spec.name]
                return JSONResponse([collection.view(collection.patch(guid, _json(raw)))])

    if "delete" in spec.routes:
        @app.delete(path + "/{guid}", name=f"delete_{spec.name}")
        async def delete_record(guid: str, request: Request) -> Response:
            with sim.lock:
                state.authorize(request.headers, f"{spec.area}:delete")
                state.delete(spec.name, guid)
            return Response(status_code=204)


def _add_child_list(app: FastAPI, sim: Simulator, state: SeveraState, parent: str, child: str, link: str,
                    scope: str, *, order=_order_key, row_filter: str | None = None, via_rows: bool = False) -> None:
    """``GET /v1/{parent}/{guid}/{child}``: the ``child`` records whose ``link`` (a guid, or a reference's)
    is the parent's guid (``via_rows``: the guid of one of the parent invoice's rows), token-paged;
    ``row_filter`` names an optional query filter on a field."""
    route_path = f"{V1}/{parent}/{{guid}}/{child}"

    @app.get(route_path, name=f"{parent}_{child}")
    async def children(guid: str, request: Request) -> JSONResponse:
        with sim.lock:
            state.authorize(request.headers, scope)
            state.collections[parent].get(guid)
            wanted = request.query_params.get(row_filter) if row_filter else None
            parents = {guid} if not via_rows else {
                r["guid"] for r in state.collections["invoicerows"].records.values() if r["invoiceGuid"] == guid}

            def within(record: dict) -> bool:
                value = record.get(link)
                linked = value.get("guid") if isinstance(value, dict) else value
                return linked in parents and (wanted is None or record.get(row_filter) == wanted)

            rows, headers = state.collections[child].page(request.query_params, within, order)
        return JSONResponse(rows, headers=headers)


def _add_document_routes(app: FastAPI, sim: Simulator, state: SeveraState) -> None:
    """An invoice's rows (and what each row bills), a trip's expense lines, a project's fees, the PDFs."""
    _add_child_list(app, sim, state, "invoices", "invoicerows", "invoiceGuid", "invoices:read",
                    order=lambda r: (r["sortOrder"], *_order_key(r)), row_filter="rowType")
    for billed in ("projectfees", "workhours"):  # what an invoice (each row: invoiceRowGuid) bills
        _add_child_list(app, sim, state, "invoicerows", billed, "invoiceRowGuid", "invoices:read")
        _add_child_list(app, sim, state, "invoices", billed, "invoiceRowGuid", "invoices:read", via_rows=True)
    _add_child_list(app, sim, state, "travelreimbursements", "projecttravelexpenses", "travelReimbursement",
                    "travels:read")
    _add_child_list(app, sim, state, "projects", "projectfees", "project", "fees:read")

    @app.get(V1 + "/travelreimbursements/{guid}/pdf", name="travelreimbursement_pdf")
    async def travel_pdf(guid: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers, "files:read")
            travel = state.collections["travelreimbursements"].get(guid)
        return Response(minimal_pdf(f"Travel invoice {travel['number']}"), media_type="application/pdf")

    @app.get(V1 + "/invoices/{guid}/pdf", name="invoice_pdf")
    async def invoice_pdf(guid: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers, "files:read")
            invoice = state.collections["invoices"].get(guid)
        return Response(minimal_pdf(f"Invoice {invoice['number']}"), media_type="application/pdf")


def _add_error_handlers(app: FastAPI) -> None:
    """The contract's error answers for SeveraError and for unknown routes/methods under the base path."""

    async def on_severa_error(request: Request, exc: SeveraError) -> Response:
        return error_response(exc.status, exc.type, exc.message)

    async def on_http_error(request: Request, exc: StarletteHTTPException):
        if not request.url.path.startswith(BASE):
            return await http_exception_handler(request, exc)
        return error_response(exc.status_code, "InvalidRequest", str(exc.detail))

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
    app.add_middleware(_Recorder, state=state, sim=sim)

    @app.get(ADMIN_PREFIX + "exchanges")
    def exchanges(since: int = 0) -> list[dict]:
        """The recorded exchanges (from index ``since``), for the conformance tests."""
        with sim.lock:
            return state.exchanges[since:]

    @app.get(BASE + "/heartbeat/server")
    async def heartbeat() -> PlainTextResponse:
        return PlainTextResponse("Server is alive.")

    @app.get(BASE + "/heartbeat/authorized")
    async def heartbeat_authorized(request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers, None)
        return Response(status_code=204)

    @app.post(V1 + "/token")
    async def token(request: Request) -> dict:
        raw = await request.body()
        with sim.lock:
            return state.login(_json(raw), request.headers)

    @app.post(V1 + "/refreshtoken")
    async def refresh_token(request: Request) -> dict:
        raw = await request.body()
        with sim.lock:
            return state.refresh(_json(raw))

    for spec in RESOURCES:
        _add_resource_routes(app, sim, state, spec)
    _add_document_routes(app, sim, state)
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
        {"guid": "a2000000-0000-4000-8000-000000000002", "name": "Approved", "isApproved": True},
        {"guid": "a2000000-0000-4000-8000-000000000003", "name": "Rejected"},
        {"guid": "a2000000-0000-4000-8000-000000000004", "name": "Transferred to Netvisor", "isApproved": True,
         "isLocked": True},
    ],
    "travelexpensetypes": [
        {"guid": "a8000000-0000-4000-8000-000000000001", "name": "Mileage, km", "code": "1300",
         "expenseClass": "Mileage"},
        {"guid": "a8000000-0000-4000-8000-000000000002", "name": "Per diem", "code": "1502",
         "expenseClass": "DailyAllowance"},
        {"guid": "a8000000-0000-4000-8000-000000000003", "name": "Hotel, paid by the company", "code": "1999",
         "expenseClass": "OtherTravelExpense"},
    ],
    "businessunits": [
        {"guid": "b1000000-0000-4000-8000-000000000001", "name": "Helsinki", "code": "HEL", "isActive": True},
        {"guid": "b1000000-0000-4000-8000-000000000002", "name": "Tampere", "code": "TRE", "isActive": True,
         "parentGuid": "b1000000-0000-4000-8000-000000000001"},
    ],
    "customers": [
        {"guid": "c1000000-0000-4000-8000-000000000001", "name": "Oy Esimerkki Ab", "number": 1001,
         "email": "laskut@esimerkki.fi", "vatNumber": "FI19675438",
         "headquarterAddress": {"addressline": "Mannerheimintie 1", "postalCode": "00100",
                                "city": "Helsinki", "country": "FI"},
         "paymentTerm": 14, "eInvoiceAddress": "003719675438", "eInvoiceOperator": "003721291126",
         "currency": {"code": "EUR"}},
        {"guid": "c1000000-0000-4000-8000-000000000002", "name": "Smith & Sons Ltd", "number": 1002,
         "email": "ap@smithandsons.example", "vatNumber": "GB123456789",
         "headquarterAddress": {"addressline": "1 High Street", "postalCode": "SW1A 1AA",
                                "city": "London", "country": "GB"},
         "paymentTerm": 30, "currency": {"code": "GBP"}},
        {"guid": "c1000000-0000-4000-8000-000000000003", "name": "Kylmäkönen Äijälä Öljy Oy", "number": 1003,
         "email": "talous@kylmakonen.example", "vatNumber": "FI02345678",
         "headquarterAddress": {"addressline": "Pyynikintie 5", "postalCode": "33230",
                                "city": "Tampere", "country": "FI"},
         "paymentTerm": 21, "currency": {"code": "EUR"}},
    ],
    "products": [
        {"guid": "d1000000-0000-4000-8000-000000000001", "code": "CONS-H", "name": "Consulting hour",
         "unitPrice": {"amount": 120.0, "currencyCode": "EUR"},
         "unitCost": {"amount": 60.0, "currencyCode": "EUR"},
         "vatRate": 25.5, "measurementUnit": "h", "type": "Subcontracting"},
        {"guid": "d1000000-0000-4000-8000-000000000002", "code": "LIC-Y", "name": "Annual licence",
         "unitPrice": {"amount": 1200.0, "currencyCode": "EUR"},
         "unitCost": {"amount": 400.0, "currencyCode": "EUR"},
         "vatRate": 25.5, "measurementUnit": "pcs", "type": "Materials"},
    ],
    "projects": [
        {"guid": "e1000000-0000-4000-8000-000000000001", "number": 2001, "name": "ERP rollout",
         "customer": {"guid": "c1000000-0000-4000-8000-000000000001"},
         "businessUnit": {"guid": "b1000000-0000-4000-8000-000000000001"},
         "projectStatus": {"guid": "f1000000-0000-4000-8000-000000000001", "name": "In progress"}},
        {"guid": "e1000000-0000-4000-8000-000000000002", "number": 2002, "name": "Support & maintenance",
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
    "activitytypes": [
        {"guid": "a5000000-0000-4000-8000-000000000001", "name": "Vacation", "code": "VAC", "category": "Absences",
         "isPaidLeave": True},
        {"guid": "a5000000-0000-4000-8000-000000000002", "name": "Sick leave", "code": "SICK",
         "category": "Absences", "isPaidLeave": True},
    ],
}

_PEOPLE = {user["code"]: {"guid": user["guid"]} for user in DEMO_SEED["users"]}
_PRODUCTS = {product["code"]: product for product in DEMO_SEED["products"]}
_EXPENSE_TYPES = {kind["code"]: {"guid": kind["guid"]} for kind in DEMO_SEED["travelexpensetypes"]}
_ERP_ROLLOUT, _SUPPORT = ({"guid": project["guid"]} for project in DEMO_SEED["projects"])


def _money(amount: float) -> dict:
    return {"amount": amount, "currencyCode": "EUR"}


def _weekdays_before(today: date, count: int) -> list[str]:
    """The ``count`` weekdays before ``today``, oldest first."""
    days, day = [], today
    while len(days) < count:
        day -= timedelta(days=1)
        if day.isoweekday() <= 5:
            days.append(day.isoformat())
    return days[::-1]


def _demo_invoice(number: int, customer: int, project: dict, day: str, rows: list[tuple]) -> tuple:
    """A "Ready to be sent to Netvisor" invoice, its ProjectFees rows ((product code, quantity, description))
    and the project fee each row bills (which names the product), with totals that add up."""
    guid = f"a6000000-0000-4000-8000-{number:012d}"
    net = round(sum(quantity * _PRODUCTS[code]["unitPrice"]["amount"] for code, quantity, _ in rows), 2)
    invoice = {"guid": guid, "number": number, "status": {"guid": "a1000000-0000-4000-8000-000000000002"},
               "customer": {"guid": f"c1000000-0000-4000-8000-{customer:012d}"}, "projects": [project],
               "date": day, "dueDate": (date.fromisoformat(day) + timedelta(days=14)).isoformat(), "paymentTerm": 14,
               "totalExcludingTax": _money(net), "totalIncludingTax": _money(round(net * 1.255, 2)),
               "currency": {"guid": "a9000000-0000-4000-8000-000000000001", "code": "EUR"}}
    rows_out, fees = [], []
    for n, (code, quantity, description) in enumerate(rows):
        row_guid = f"a6100000-0000-4000-8000-{number:08d}{n:04d}"
        product = _PRODUCTS[code]
        rows_out.append({"guid": row_guid, "invoiceGuid": guid, "rowType": "ProjectFees", "category": "ProjectFees",
                         "quantity": quantity, "unitPrice": product["unitPrice"], "vatRate": product["vatRate"],
                         "measurementUnit": product["measurementUnit"], "description": description, "sortOrder": n})
        fees.append({"project": project, "product": {"guid": product["guid"]}, "name": product["name"],
                     "quantity": quantity, "unitPrice": product["unitPrice"], "eventDate": day,
                     "invoiceRowGuid": row_guid})
    return invoice, rows_out, fees


def _demo_travel(number: int, person: str, day: str, expenses: list[tuple]) -> tuple:
    """An Approved travel reimbursement and its lines ((expense type code, quantity, unit cost, reimbursed))."""
    guid = f"a7000000-0000-4000-8000-{number:012d}"
    travel = {"guid": guid, "number": number, "user": _PEOPLE[person], "date": f"{day}T00:00:00",
              "travelReimbursementStatus": {"guid": "a2000000-0000-4000-8000-000000000002"}}
    return travel, [{"travelReimbursement": {"guid": guid}, "user": _PEOPLE[person], "project": _ERP_ROLLOUT,
                     "eventDate": day, "travelExpense": _EXPENSE_TYPES[code], "quantity": quantity,
                     "unitCost": _money(unit), "travelReimbursementRequired": reimbursed}
                    for code, quantity, unit, reimbursed in expenses]


def demo_documents(today: date) -> dict:
    """Documents for the demo's document flows, dated relative to ``today`` (inside their default
    ranges): invoices ready for Netvisor, Approved travel reimbursements, the last weekdays' hours and a
    vacation before them (its type VAC moves once ``hours.absence_record_types`` maps it)."""
    days = _weekdays_before(today, 5)
    vacation, worked = days[:2], days[2:]
    invoices = [_demo_invoice(10001, 1, _ERP_ROLLOUT, worked[0], [("CONS-H", 12.5, "Consulting"),
                                                                  ("LIC-Y", 1, "Annual licence")]),
                _demo_invoice(10002, 3, _SUPPORT, worked[1], [("CONS-H", 4, "Support, final month")]),
                _demo_invoice(10003, 1, _ERP_ROLLOUT, worked[2], [("LIC-Y", 2, "Additional licences")])]
    travels = [_demo_travel(1001, "101", worked[0], [("1300", 120, 0.59, True), ("1502", 1, 53.0, True)]),
               _demo_travel(1002, "102", worked[1], [("1502", 2, 53.0, True), ("1999", 1, 119.0, False)])]
    hours = [{"user": _PEOPLE[person], "project": _ERP_ROLLOUT, "eventDate": day, "quantity": quantity,
              "description": "ERP rollout"} for day in worked for person, quantity in (("101", 7.5), ("102", 6))]
    hours.append({"user": _PEOPLE["101"], "project": _ERP_ROLLOUT, "eventDate": worked[-1], "quantity": 1.5,
                  "overtime": {"guid": "a4000000-0000-4000-8000-000000000001"}, "description": "Go-live"})
    return {
        "invoices": [invoice for invoice, _, _ in invoices],
        "invoicerows": [r for _, rows, _ in invoices for r in rows],
        "projectfees": [fee for _, _, fees in invoices for fee in fees],
        "travelreimbursements": [travel for travel, _ in travels],
        "projecttravelexpenses": [line for _, lines in travels for line in lines],
        "workhours": hours,
        "activities": [{"name": "Summer vacation", "ownerUser": _PEOPLE["102"],
                        "activityType": {"guid": "a5000000-0000-4000-8000-000000000001"},
                        "startDateTime": f"{vacation[0]}T00:00:00", "endDateTime": f"{vacation[1]}T23:59:59",
                        "isAllDay": True}],
    }


# seeded after DEMO_SEED by the demo (kept apart: tests build on DEMO_SEED with people of their own)
DEMO_DOCUMENTS: dict = demo_documents(datetime.now().date())
