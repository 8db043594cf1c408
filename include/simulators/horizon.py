"""Simulator of the Visma Horizon REST interface, written from the public contract.

What the contract says (see ../shared/reference/external-apis.md): XML ``<resource><entity>…``;
references as ``<X><href>/rest/<Class>/<pk></href></X>``; queries
``GET /rest/<Class>/query?columns=A,B&criteria=…``; ``GET /rest/<Class>/template`` then
``POST /rest/<Class>/template/{pk}`` creates a record (``TdmDarbBaseBL`` = employee card).

Assumptions (not public; kept identical in ``erpbridge.hooks.visma_horizon``):
- HTTP Basic auth of the Web user; 401 otherwise.
- A query answers one ``<resource>`` holding one ``<entity>`` per row, each with its ``<pk>``.
  Paging by ``offset`` + ``limit`` (default and maximum 500); fewer rows than ``limit`` = last page.
- ``criteria``: clauses joined by ``;`` (all must hold), each ``Field<op>value`` with op one of
  ``=``, ``>=``, ``<=``, ``>``, ``<``; ``=`` takes alternatives separated by ``|``. Dates compare
  as ISO strings. Every record carries ``Changed`` (UTC, ISO-8601), the changed-since criterion
  being ``Changed>=…``.
- Classes and fields: ``TdmDarbBaseBL`` (employee card: EmployeeCode, FirstName, LastName,
  Department, Position, Manager (reference to another card), EmploymentStart, EmploymentEnd,
  TerminationRegistered), ``TdmPrombBL`` (absence: EmployeeCode, DateFrom, DateTo, AbsenceType),
  ``TdmLaikaImportBL`` (payroll time import row: EmployeeCode, Date, TimeType, Hours, Comment).
  A time import row posted again for the same EmployeeCode + Date + TimeType replaces the old
  one (same pk); Hours 0 removes it. Its EmployeeCode must name an employee card.
- Payroll (Horizon's payroll module publishes no REST classes): ``TdmAlgSarBL`` (payroll run:
  Period YYYY-MM, PayDate, Currency, Status DRAFT|CONFIRMED) and ``TdmAlgIzmBL`` (its net payment
  per employee: Run (reference to the run), EmployeeCode, EmployeeName, IBAN (the employee's),
  NetAmount (decimal text), PayerIBAN (the company account paying it)); one payment per run and
  employee (seeding the same Run + EmployeeCode again replaces it). Read-only over REST.
- Sales (issue 18, e-service payments): ``TdmKlBL`` (customer: Code (given as ``K<pk>`` when left empty), Name,
  RegNo (a person's personal code or a company's registration number, compact; unique per Country: a second
  customer with them is refused 409 ``DUPLICATE_REG_NO``), PersonType PERSON|COMPANY, Country, Address, Email), ``TdmArtBL`` (article: Code, Name; read-only over REST) and ``TdmRekBL`` (sales
  invoice or credit note: Customer (reference), DocType INVOICE|CREDIT_NOTE, DocDate, Currency, ExternalRef
  (unique: a second document with it is refused 409 ``DUPLICATE_REFERENCE``), CreditedInvoice (reference, a
  credit note's), PaidDate, PaymentChannel, Total, VatTotal, and its rows nested in the same POST as
  ``<Lines><Line>`` with Article (must exist: 422 ``UNKNOWN_ARTICLE``), Description, Quantity, Price, VatRate,
  Amount, Vat). A reference is posted as ``<X><href>/rest/<Class>/<pk></href></X>`` (or the bare pk).
- Weighed goods (sales, no public REST class names): ``TdmRPasBL`` (sales order: OrderNo, Customer,
  DeliveryDate, Status REGISTERED|DELIVERED, Weighed true for goods sold by actual weight), ``TdmRPasRindBL``
  (its line: Order (reference), LineNo, ItemCode, GTIN, Packages, Quantity (kg ordered), Price (EUR per kg));
  both read-only over REST. ``TdmPavZBL`` (delivery note: Order (reference), Reference, Date, Amount and its
  lines nested as ``<Lines><Line>`` with LineNo, ItemCode, GTIN, Packages, Quantity, Price, Amount, Lots) is
  created by template + POST; Horizon refuses (422) a line whose Amount is not Quantity x Price to the cent or
  a note whose Amount is not the sum of its lines, and a stored note sets its order's Status to DELIVERED.
- A cancelled absence is deleted in Horizon: it is no longer listed, and ``GET`` of its pk is 404.
- Errors: HTTP 4xx/5xx with ``<error><code>…</code><message>…</message></error>``.

Admin side (``/_sim/``) as in every simulator: seed ``{"employees": [...], "absences": [...],
"time_import": [...]}`` (employees upsert by EmployeeCode; ``ManagerCode`` is turned into the
reference, a payment's ``RunPeriod`` the run of that period, an order line's ``OrderNo`` its sales order; an
item with a ``pk`` replaces that record, e.g. an absence's new dates; ``{"delete": {"absences": [pk]}}``
deletes, as a cancellation does), state, reset, faults, request log.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree.ElementTree import Element, SubElement, tostring
from zoneinfo import ZoneInfo

from defusedxml import ElementTree as SafeET
from fastapi import Request
from starlette.responses import Response

from ._common import Simulator

BASE = "/rest"
MAX_LIMIT = 500
DEFAULT_CONFIG = {"username": "erpbridge", "password": "horizon-demo"}

EMPLOYEE, ABSENCE, TIME_IMPORT = "TdmDarbBaseBL", "TdmPrombBL", "TdmLaikaImportBL"
PAYROLL_RUN, PAYROLL_PAYMENT = "TdmAlgSarBL", "TdmAlgIzmBL"
CUSTOMER, ARTICLE, SALES_INVOICE = "TdmKlBL", "TdmArtBL", "TdmRekBL"
SALES_ORDER, ORDER_LINE, DELIVERY_NOTE = "TdmRPasBL", "TdmRPasRindBL", "TdmPavZBL"
REFERENCES = {"Manager": EMPLOYEE, "Run": PAYROLL_RUN, "Customer": CUSTOMER, "CreditedInvoice": SALES_INVOICE,
              "Order": SALES_ORDER}  # reference fields -> the class they point to
FIELDS = {
    EMPLOYEE: ["EmployeeCode", "FirstName", "LastName", "Department", "Position", "Manager", "EmploymentStart",
               "EmploymentEnd", "TerminationRegistered"],
    ABSENCE: ["EmployeeCode", "DateFrom", "DateTo", "AbsenceType"],
    TIME_IMPORT: ["EmployeeCode", "Date", "TimeType", "Hours", "Comment"],
    PAYROLL_RUN: ["Period", "PayDate", "Currency", "Status"],
    PAYROLL_PAYMENT: ["Run", "EmployeeCode", "EmployeeName", "IBAN", "NetAmount", "PayerIBAN"],
    CUSTOMER: ["Code", "Name", "RegNo", "PersonType", "Country", "Address", "Email"],
    ARTICLE: ["Code", "Name"],
    SALES_INVOICE: ["Customer", "DocType", "DocDate", "Currency", "ExternalRef", "CreditedInvoice", "PaidDate",
                    "PaymentChannel", "Total", "VatTotal", "Lines"],
    SALES_ORDER: ["OrderNo", "Customer", "DeliveryDate", "Status", "Weighed"],
    ORDER_LINE: ["Order", "LineNo", "ItemCode", "GTIN", "Packages", "Quantity", "Price"],
    DELIVERY_NOTE: ["Order", "Reference", "Date", "Amount", "Lines"],
}
# a document class -> the fields of its lines (nested as <Lines><Line> in the same POST)
LINE_FIELDS = {SALES_INVOICE: ["Article", "Description", "Quantity", "Price", "VatRate", "Amount", "Vat"],
               DELIVERY_NOTE: ["LineNo", "ItemCode", "GTIN", "Packages", "Quantity", "Price", "Amount", "Lots"]}
REQUIRED = {
    EMPLOYEE: ["EmployeeCode", "FirstName", "LastName", "EmploymentStart"],
    ABSENCE: ["EmployeeCode", "DateFrom", "DateTo"],
    TIME_IMPORT: ["EmployeeCode", "Date", "TimeType", "Hours"],
    PAYROLL_RUN: ["Period", "PayDate", "Currency", "Status"],
    PAYROLL_PAYMENT: ["Run", "EmployeeCode", "NetAmount", "PayerIBAN"],
    CUSTOMER: ["Name", "RegNo", "PersonType"],
    ARTICLE: ["Code", "Name"],
    SALES_INVOICE: ["Customer", "DocType", "DocDate", "Currency", "ExternalRef", "Lines"],
    SALES_ORDER: ["OrderNo", "Customer", "Status"],
    ORDER_LINE: ["Order", "LineNo", "ItemCode", "Packages", "Quantity", "Price"],
    DELIVERY_NOTE: ["Order", "Reference", "Date", "Amount", "Lines"],
}
SEED_KEYS = {"employees": EMPLOYEE, "absences": ABSENCE, "time_import": TIME_IMPORT, "payroll_runs": PAYROLL_RUN,
             "payroll_payments": PAYROLL_PAYMENT, "customers": CUSTOMER, "articles": ARTICLE,
             "sales_invoices": SALES_INVOICE, "sales_orders": SALES_ORDER, "order_lines": ORDER_LINE,
             "delivery_notes": DELIVERY_NOTE}
READ_ONLY = {PAYROLL_RUN, PAYROLL_PAYMENT, ARTICLE, SALES_ORDER, ORDER_LINE}  # no template / create over REST
OPERATORS = (">=", "<=", "=", ">", "<")


class HorizonError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, category: str, message: str) -> Response:
    root = Element("error")
    SubElement(root, "code").text = category
    SubElement(root, "message").text = message
    return Response(tostring(root, encoding="utf-8", xml_declaration=True), status_code=status,
                    media_type="application/xml")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _xml(root: Element, status: int = 200) -> Response:
    return Response(tostring(root, encoding="utf-8", xml_declaration=True), status_code=status,
                    media_type="application/xml")


class HorizonState:
    def __init__(self, config: dict):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.records: dict[str, dict[int, dict]] = {cls: {} for cls in FIELDS}
        self.reserved: set[tuple[str, int]] = set()
        self.pks = itertools.count(1)

    # -- helpers ---------------------------------------------------------------------------------
    def authorize(self, headers) -> None:
        kind, _, token = headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token).decode().partition(":") if kind.lower() == "basic" else ("", "", "")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if not (secrets.compare_digest(user, str(self.config["username"]))
                and secrets.compare_digest(password, str(self.config["password"]))):
            raise HorizonError(401, "AUTHENTICATION_FAILED", "Web user authentication failed")

    def klass(self, name: str) -> dict[int, dict]:
        if name not in self.records:
            raise HorizonError(404, "UNKNOWN_CLASS", f"Unknown business class {name}")
        return self.records[name]

    def employee_by_code(self, code: str) -> tuple[int, dict] | None:
        return next(((pk, r) for pk, r in self.records[EMPLOYEE].items() if r["EmployeeCode"] == code), None)

    def entity(self, cls: str, pk: int, record: dict, columns: list[str] | None = None) -> Element:
        entity = Element("entity")
        SubElement(entity, "pk").text = str(pk)
        for name in columns or FIELDS[cls] + ["Changed"]:
            value = record.get(name)
            element = SubElement(entity, name)
            if name in REFERENCES and value:
                SubElement(element, "href").text = f"{BASE}/{REFERENCES[name]}/{value}"
            elif name == "Lines":
                for line in value or []:
                    row = SubElement(element, "Line")
                    for field in LINE_FIELDS[cls]:
                        SubElement(row, field).text = line.get(field)
            elif value is not None:
                element.text = str(value).lower() if isinstance(value, bool) else str(value)
        return entity

    # -- reads -------------------------------------------------------------------------------------
    def query(self, cls: str, params) -> Element:
        records = self.klass(cls)
        columns = [c.strip() for c in params.get("columns", "").split(",") if c.strip()] or None
        unknown = [c for c in columns or [] if c not in FIELDS[cls] + ["Changed"]]
        if unknown:
            raise HorizonError(400, "INVALID_COLUMN", f"Unknown columns for {cls}: {', '.join(unknown)}")
        clauses = self._criteria(cls, params.get("criteria", ""))
        try:
            offset, limit = int(params.get("offset", 0)), int(params.get("limit", MAX_LIMIT))
        except ValueError:
            raise HorizonError(400, "INVALID_PARAMETER", "offset and limit must be integers") from None
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            raise HorizonError(400, "INVALID_PARAMETER", f"limit must be 1..{MAX_LIMIT}, offset >= 0")
        rows = [(pk, r) for pk, r in sorted(records.items()) if all(test(r) for test in clauses)]
        root = Element("resource")
        for pk, record in rows[offset:offset + limit]:
            root.append(self.entity(cls, pk, record, columns))
        return root

    def _criteria(self, cls: str, criteria: str):
        tests = []
        for clause in filter(None, (c.strip() for c in criteria.split(";"))):
            op = next((o for o in OPERATORS if o in clause), None)
            if op is None:
                raise HorizonError(400, "INVALID_CRITERIA", f"Criterion without an operator: {clause}")
            field, value = (part.strip() for part in clause.split(op, 1))
            if field not in FIELDS[cls] + ["Changed"]:
                raise HorizonError(400, "INVALID_CRITERIA", f"Unknown field in criteria: {field}")
            tests.append(_test(field, op, value))
        return tests

    def get(self, cls: str, pk: int) -> Element:
        records = self.klass(cls)
        if pk not in records:
            raise HorizonError(404, "NOT_FOUND", f"No {cls} record with pk {pk}")
        root = Element("resource")
        root.append(self.entity(cls, pk, records[pk]))
        return root

    # -- writes ------------------------------------------------------------------------------------
    def template(self, cls: str) -> Element:
        self.klass(cls)
        if cls in READ_ONLY:
            raise HorizonError(405, "NOT_ALLOWED", f"{cls} cannot be created over REST")
        pk = next(self.pks)
        self.reserved.add((cls, pk))
        root = Element("resource")
        root.append(self.entity(cls, pk, {}))
        return root

    def create(self, cls: str, pk: int, body: bytes) -> tuple[int, int]:
        """Store the posted entity; returns (pk, HTTP status)."""
        if (cls, pk) not in self.reserved:
            raise HorizonError(404, "NOT_FOUND", f"No open template {pk} for {cls}")
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except Exception:
            raise HorizonError(400, "INVALID_XML", "Request body is not well-formed XML") from None
        entity = root.find("entity") if root.tag == "resource" else root
        if entity is None or entity.tag != "entity":
            raise HorizonError(400, "INVALID_XML", "Expected <resource><entity>…</entity></resource>")
        values = {child.tag: _posted(child, cls) for child in entity if child.tag in FIELDS[cls]}
        unknown = [child.tag for child in entity if child.tag not in FIELDS[cls] + ["pk"]]
        if unknown:
            raise HorizonError(400, "INVALID_FIELD", f"Unknown fields for {cls}: {', '.join(unknown)}")
        record = self.store(cls, values, pk)
        self.reserved.discard((cls, pk))
        return record

    def store(self, cls: str, values: dict, pk: int | None = None) -> tuple[int, int]:
        missing = [f for f in REQUIRED[cls] if values.get(f) in (None, "")]
        if missing:
            raise HorizonError(400, "REQUIRED_FIELD", f"{cls}: required fields missing: {', '.join(missing)}")
        records = self.records[cls]
        if cls == TIME_IMPORT:
            return self._store_time(values, pk)
        record = {f: values.get(f) for f in FIELDS[cls]}
        if cls == EMPLOYEE:
            record["TerminationRegistered"] = str(values.get("TerminationRegistered") or "").lower() in ("true", "1")
            existing = self.employee_by_code(record["EmployeeCode"])
            if existing and existing[0] != pk:
                pk = existing[0]
        if cls == CUSTOMER:
            self._check_customer(record, pk)
        if cls == CUSTOMER and not record["Code"]:
            pk = pk if pk is not None else next(self.pks)
            record["Code"] = f"K{pk}"
        if cls == SALES_INVOICE:
            self._check_invoice(record, pk)
        if cls == SALES_ORDER:
            record["Weighed"] = str(values.get("Weighed") or "").lower() in ("true", "1")
        if cls == DELIVERY_NOTE:
            self._check_note(record)
            self.records[SALES_ORDER][int(record["Order"])]["Status"] = "DELIVERED"
        if cls == PAYROLL_PAYMENT:
            key = (str(record["Run"]), record["EmployeeCode"])
            pk = next((p for p, r in records.items() if (str(r["Run"]), r["EmployeeCode"]) == key), pk)
        record["Changed"] = _now()
        pk = pk if pk is not None else next(self.pks)
        status = 200 if pk in records else 201
        records[pk] = record
        return pk, status

    def _check_customer(self, record: dict, pk: int | None) -> None:
        taken = next((p for p, r in self.records[CUSTOMER].items()
                      if (r["RegNo"], r["Country"]) == (record["RegNo"], record["Country"])), None)
        if taken is not None and taken != pk:
            raise HorizonError(409, "DUPLICATE_REG_NO", f"customer {taken} already has this RegNo in this Country")

    def _check_invoice(self, record: dict, pk: int | None) -> None:
        if record["DocType"] not in ("INVOICE", "CREDIT_NOTE"):
            raise HorizonError(422, "INVALID_VALUE", "DocType must be INVOICE or CREDIT_NOTE")
        for name in ("Customer", "CreditedInvoice"):
            if record.get(name) and _pk(record[name]) not in self.records[REFERENCES[name]]:
                raise HorizonError(422, "UNKNOWN_REFERENCE", f"{name}: no {REFERENCES[name]} record {record[name]}")
            record[name] = _pk(record[name]) if record.get(name) else None
        if record["DocType"] == "CREDIT_NOTE" and not record["CreditedInvoice"]:
            raise HorizonError(422, "REQUIRED_FIELD", "a credit note needs CreditedInvoice")
        taken = next((p for p, r in self.records[SALES_INVOICE].items()
                      if r["ExternalRef"] == record["ExternalRef"]), None)
        if taken is not None and taken != pk:
            raise HorizonError(409, "DUPLICATE_REFERENCE",
                               f"document {taken} already has ExternalRef {record['ExternalRef']}")
        articles = {r["Code"] for r in self.records[ARTICLE].values()}
        if not isinstance(record["Lines"], list) or not record["Lines"]:
            raise HorizonError(400, "REQUIRED_FIELD", "a sales document needs at least one line")
        for number, line in enumerate(record["Lines"], 1):
            if line.get("Article") not in articles:
                raise HorizonError(422, "UNKNOWN_ARTICLE", f"line {number}: no article {line.get('Article')!r}")

    def _check_note(self, note: dict) -> None:
        try:
            order = int(note["Order"])
        except (TypeError, ValueError):
            order = None
        if order not in self.records[SALES_ORDER]:
            raise HorizonError(422, "UNKNOWN_ORDER", f"No sales order {note['Order']}")
        try:
            amounts = [(Decimal(line["Quantity"]), Decimal(line["Price"]), Decimal(line["Amount"]))
                       for line in note["Lines"]]
            total = Decimal(note["Amount"])
        except (TypeError, KeyError, InvalidOperation):
            raise HorizonError(400, "INVALID_VALUE", "Quantity, Price and Amount must be decimal numbers") from None
        for n, (quantity, price, amount) in enumerate(amounts, 1):
            if (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP) != amount:
                raise HorizonError(422, "INVALID_AMOUNT", f"Line {n}: Amount {amount} is not Quantity x Price")
        if not amounts or sum(a for _, _, a in amounts) != total:
            raise HorizonError(422, "INVALID_AMOUNT", f"Amount {total} is not the sum of the lines")

    def _store_time(self, values: dict, pk: int | None) -> tuple[int, int]:
        if self.employee_by_code(values["EmployeeCode"]) is None:
            raise HorizonError(422, "UNKNOWN_EMPLOYEE", f"No employee with code {values['EmployeeCode']}")
        try:
            hours = float(str(values["Hours"]).replace(",", "."))
            day = datetime.strptime(values["Date"], "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise HorizonError(400, "INVALID_VALUE", "Hours must be a number and Date YYYY-MM-DD") from None
        if hours < 0 or hours > 24:
            raise HorizonError(422, "INVALID_VALUE", f"Hours must be between 0 and 24, got {hours}")
        records = self.records[TIME_IMPORT]
        key = (values["EmployeeCode"], day, values["TimeType"])
        existing = next((p for p, r in records.items() if (r["EmployeeCode"], r["Date"], r["TimeType"]) == key), None)
        if hours == 0:
            records.pop(existing, None)
            return existing or pk or 0, 200
        record = {"EmployeeCode": key[0], "Date": day, "TimeType": key[2], "Hours": hours,
                  "Comment": values.get("Comment") or None, "Changed": _now()}
        target = existing if existing is not None else (pk if pk is not None else next(self.pks))
        records[target] = record
        return target, 200 if existing is not None else 201

    # -- admin ---------------------------------------------------------------------------------------
    def seed(self, payload: dict) -> dict:
        unknown = set(payload) - set(SEED_KEYS) - {"delete"}
        if unknown:
            raise ValueError(f"unknown collections: {sorted(unknown)}")
        for key, pks in payload.get("delete", {}).items():
            for pk in pks:
                self.records[SEED_KEYS[key]].pop(int(pk), None)
        created: dict[str, list[int]] = {}
        for key, cls in SEED_KEYS.items():
            created[key] = []
            for item in payload.get(key, []):
                values = {k: v for k, v in item.items() if k in FIELDS[cls]}
                if cls == EMPLOYEE:
                    manager = self.employee_by_code(item["ManagerCode"]) if item.get("ManagerCode") else None
                    if item.get("ManagerCode") and manager is None:
                        raise ValueError(f"manager {item['ManagerCode']} must be seeded before {item['EmployeeCode']}")
                    values["Manager"] = manager[0] if manager else None
                if cls == PAYROLL_PAYMENT and item.get("RunPeriod"):
                    values["Run"] = next((pk for pk, r in self.records[PAYROLL_RUN].items()
                                          if r["Period"] == item["RunPeriod"]), None)
                if cls == ORDER_LINE and item.get("OrderNo"):
                    values["Order"] = next((pk for pk, r in self.records[SALES_ORDER].items()
                                            if r["OrderNo"] == item["OrderNo"]), None)
                if cls == PAYROLL_PAYMENT and values.get("Run") not in self.records[PAYROLL_RUN]:
                    raise ValueError(f"payment of {item.get('EmployeeCode')}: no payroll run {values.get('Run')}")
                if item.get("pk") is not None and int(item["pk"]) not in self.records[cls]:
                    raise ValueError(f"no {key} record with pk {item['pk']}")
                try:
                    created[key].append(self.store(cls, values, item.get("pk") and int(item["pk"]))[0])
                except HorizonError as exc:
                    raise ValueError(exc.message) from None
        return created

    def dump(self) -> dict:
        codes = {pk: r["EmployeeCode"] for pk, r in self.records[EMPLOYEE].items()}
        out = {}
        for key, cls in SEED_KEYS.items():
            rows = []
            for pk, record in sorted(self.records[cls].items()):
                row = {"pk": pk, **record}
                if cls == EMPLOYEE:
                    row["ManagerCode"] = codes.get(record.get("Manager"))
                rows.append(row)
            out[key] = rows
        return out


def _posted(element, cls: str):
    """A posted field's value: its text, a reference's pk (``<href>`` or bare), or a document's lines."""
    if element.tag == "Lines":
        return [{f: (line.findtext(f) or "").strip() or None for f in LINE_FIELDS[cls]}
                for line in element.findall("Line")]
    href = element.findtext("href")
    return href.rsplit("/", 1)[-1] if href else (element.text or "").strip()


def _pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _test(field: str, op: str, value: str):
    wanted = value.split("|") if op == "=" else [value]

    def test(record: dict) -> bool:
        actual = record.get(field)
        if actual is None:
            return False
        actual = str(actual).lower() if isinstance(actual, bool) else str(actual)
        if op == "=":
            return actual in wanted
        return {">=": actual >= value, "<=": actual <= value, ">": actual > value, "<": actual < value}[op]

    return test


def create_app(config: dict | None = None):
    sim = Simulator("horizon", error_response)
    sim.config.update({**DEFAULT_CONFIG, **(config or {})})
    state = HorizonState(sim.config)
    sim.on_reset(state.reset)
    sim.on_seed(state.seed)
    sim.on_state(state.dump)
    app = sim.app

    @app.exception_handler(HorizonError)
    async def on_error(request: Request, exc: HorizonError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.get(BASE + "/{cls}/query")
    async def query(cls: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers)
            return _xml(state.query(cls, request.query_params))

    @app.get(BASE + "/{cls}/template")
    async def template(cls: str, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers)
            return _xml(state.template(cls))

    @app.post(BASE + "/{cls}/template/{pk}")
    async def create(cls: str, pk: int, request: Request) -> Response:
        body = await request.body()
        with sim.lock:
            state.authorize(request.headers)
            state.klass(cls)
            stored, status = state.create(cls, pk, body)
            root = state.get(cls, stored) if stored in state.records[cls] else Element("resource")
            response = _xml(root, status)
            response.headers["Location"] = f"{BASE}/{cls}/{stored}"
            return response

    @app.get(BASE + "/{cls}/{pk}")
    async def get_one(cls: str, pk: int, request: Request) -> Response:
        with sim.lock:
            state.authorize(request.headers)
            return _xml(state.get(cls, pk))

    return app


def _last_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def demo_today() -> date:
    """Today where the demo's Horizon is (Latvia): the payroll review's default period is the month before it, so
    the demo's data must be dated in the same zone (in UTC the two months differ for hours at a month's end)."""
    return datetime.now(ZoneInfo("Europe/Riga")).date()


_DEMO_MONTH, _ = _last_month(demo_today())  # the payroll review's default period
DEMO_SERVICES = {"ZG-IZRAKSTS": "ZG-EXTRACT", "ZG-NOSTIPR": "ZG-REGISTRATION"}  # the e-service demo's codes
DEMO_SEED: dict = {
    "employees": [
        {"EmployeeCode": "E1001", "FirstName": "Jānis", "LastName": "Bērziņš", "Department": "Finanses",
         "Position": "Finanšu direktors", "EmploymentStart": "2020-02-01"},
        {"EmployeeCode": "E1002", "FirstName": "Łukasz", "LastName": "Żółć", "Department": "IT",
         "Position": "Programmer", "ManagerCode": "E1001", "EmploymentStart": "2023-09-01"},
        {"EmployeeCode": "E1003", "FirstName": "Līga", "LastName": "Ozoliņa", "Department": "Finanses",
         "Position": "Grāmatvede", "ManagerCode": "E1001", "EmploymentStart": "2021-03-15",
         "EmploymentEnd": "2025-12-31", "TerminationRegistered": True},
        {"EmployeeCode": "E1004", "FirstName": "Małgorzata", "LastName": "Wiśniewska", "Department": "IT",
         "Position": "Tester", "ManagerCode": "E1002", "EmploymentStart": "2030-01-02"},
    ],
    "absences": [
        {"EmployeeCode": "E1002", "DateFrom": "2026-07-06", "DateTo": "2026-07-17", "AbsenceType": "ATV"},
        {"EmployeeCode": "E1002", "DateFrom": (_DEMO_MONTH + timedelta(days=14)).isoformat(),
         "DateTo": (_DEMO_MONTH + timedelta(days=15)).isoformat(), "AbsenceType": "ATV"},  # see demo_work_time
    ],
    "time_import": [],
    "payroll_runs": [{"Period": f"{_DEMO_MONTH:%Y-%m}", "PayDate": date.today().isoformat(), "Currency": "EUR",
                      "Status": "CONFIRMED"}],
    "payroll_payments": [
        {"RunPeriod": f"{_DEMO_MONTH:%Y-%m}", "EmployeeCode": "E1001", "EmployeeName": "Jānis Bērziņš",
         "IBAN": "LV87HABA0551012345678", "NetAmount": "2350.40", "PayerIBAN": "LV11RIKO0002013001234"},
        {"RunPeriod": f"{_DEMO_MONTH:%Y-%m}", "EmployeeCode": "E1002", "EmployeeName": "Łukasz Żółć",
         "IBAN": "LV29HABA0551087654321", "NetAmount": "1875.15", "PayerIBAN": "LV11RIKO0002013001234"},
    ],
    "articles": [{"Code": code, "Name": f"E-service {service}"} for service, code in DEMO_SERVICES.items()],
    # weighed goods for horizon_weighing; the weighing simulator's DEMO_SEED has their labels
    "sales_orders": [{"OrderNo": no, "Customer": customer, "DeliveryDate": (date.today() + timedelta(days=1)).isoformat(),
                      "Status": "REGISTERED", "Weighed": True}
                     for no, customer in (("SO-1001", "Rīgas Deli SIA"), ("SO-1002", "Kafejnīca Ezerzeme"))],
    "order_lines": [
        {"OrderNo": "SO-1001", "LineNo": "1", "ItemCode": "CHEESE", "GTIN": "04750001000016", "Packages": "2",
         "Quantity": "20.000", "Price": "8.95"},
        {"OrderNo": "SO-1001", "LineNo": "2", "ItemCode": "HAM", "GTIN": "04750001000023", "Packages": "1",
         "Quantity": "5.000", "Price": "12.40"},
        {"OrderNo": "SO-1002", "LineNo": "1", "ItemCode": "HAM", "GTIN": "04750001000023", "Packages": "2",
         "Quantity": "10.000", "Price": "12.40"},
    ],
}


def demo_work_time(today: date | None = None) -> tuple[str, str]:
    """The demo's payroll inbox file (name, CSV text): work time of the month before ``today`` (the demo's), the
    period the payroll review covers by default, with a row for each thing the review flags. E1002's absence of that
    month is in DEMO_SEED."""
    today = today or demo_today()
    first, _ = _last_month(today)
    day = lambda n: (first + timedelta(days=n)).isoformat()  # noqa: E731
    worked = [day(n) for n in range(10) if (first + timedelta(days=n)).isoweekday() <= 5]
    lines = ["employee_code;date;time_type;hours;comment"]
    lines += [f"{code};{when};WORK;{hours};regular" for when in worked for code, hours in (("E1001", "7,5"),
                                                                                         ("E1002", "8"))]
    lines += [f"E1001;{worked[0]};WORK;7,5;regular",  # a duplicate of an earlier line
              f"E9999;{day(2)};WORK;8;who is this",  # an employee Horizon does not know
              f"E1002;{day(14)};WORK;4;on a vacation day",  # work on a day of absence
              f"E1001;{today.replace(day=1).isoformat()};WORK;8;next month",  # outside the period
              f"E1001;{day(16)};WORK;-2;correction",  # negative hours
              f"E1001;{day(20)};WORK;20;go-live", f"E1001;{day(20)};WORK;6;and the night after",  # 26 h in a day
              f"E1002;{day(21)};WORK;seven;typo",  # unreadable hours
              f";{day(22)};WORK;8;no code"]  # a required field missing
    return f"work-time-{first:%Y-%m}.csv", "\n".join(lines) + "\n"

