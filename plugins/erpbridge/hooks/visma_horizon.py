"""Visma Horizon REST (XML): employee cards, absences and the payroll time import.

Public contract: XML ``<resource><entity>…``; references ``<X><href>/rest/<Class>/<pk></href></X>``;
``GET /rest/<Class>/query?columns=…&criteria=…``; ``GET /rest/<Class>/template`` then
``POST /rest/<Class>/template/{pk}`` creates. Everything else is an ASSUMPTION kept in this one
module (the simulator in include/simulators/horizon.py implements the same):

- HTTP Basic auth of the Horizon Web user (connection login / password).
- Query paging by ``offset`` + ``limit`` (max 500); a short page is the last one.
- Criteria: ``;``-joined clauses ``Field<op>value`` (op ``= >= <= > <``; ``=`` takes ``a|b``);
  every record has ``Changed`` (UTC ISO-8601): the changed-since criterion is ``Changed>=…``.
- Class and field names below (:data:`EMPLOYEE`, :data:`ABSENCE`, :data:`TIME_IMPORT`, and the
  ``*_FIELDS`` maps from the API's names to ours). A time import row posted again for the same
  employee, date and time type replaces the previous one (the import is idempotent by that key).
- Payroll runs and their net payments (:data:`PAYROLL_RUN`, :data:`PAYROLL_PAYMENT`, the ``*_FIELDS``
  maps): Horizon's payroll module publishes no REST classes for them. A run is paid once it has
  ``Status`` ``CONFIRMED``; each payment names the employee's IBAN and the company account paying it
  (``PayerIBAN``); ``NetAmount`` is decimal text with a point.
- Weighed goods (:data:`SALES_ORDER`, :data:`ORDER_LINE`, :data:`DELIVERY_NOTE`, the ``*_FIELDS`` maps): the
  sales orders to weigh are those with ``Weighed`` true and ``Status`` :data:`REGISTERED`; each line gives the
  GTIN of its item, the packages and kilograms ordered and the price per kilogram. A delivery note is one POST
  with its lines nested (``<Lines><Line>…``), carries our ``Reference`` (found again by the criterion
  ``Reference=…``), and its order leaves ``REGISTERED``. Horizon refuses a line whose Amount is not Quantity x
  Price to the cent (amounts sent rounded half up).
- A cancelled absence is deleted: no longer listed, ``GET`` of its pk answers 404 ``NOT_FOUND``.
- Sales (:data:`CUSTOMER`, :data:`SALES_INVOICE`, ``CUSTOMER_FIELDS``, ``INVOICE_FIELDS``, ``LINE_FIELDS``): a
  customer's ``RegNo`` holds a person's personal code or a company's registration number (compact; one customer per
  ``RegNo`` and ``Country``, a second refused 409 ``DUPLICATE_REG_NO``), ``PersonType``
  ``PERSON`` / ``COMPANY``, its ``Code`` is given by Horizon when left empty. A sales invoice and a credit note are
  one class (``DocType`` ``INVOICE`` / ``CREDIT_NOTE``, a credit note naming ``CreditedInvoice``), posted with their
  rows nested as ``<Lines><Line>…`` in the one POST; ``ExternalRef`` is unique per document (a second one is
  refused 409 ``DUPLICATE_REFERENCE``) and queryable, which is how a document is found before it is created. A
  reference is posted as ``<X><href>/rest/<Class>/<pk></href></X>``.
- Errors: ``<error><code/><message/></error>``; 400/404/409/422 = the record is refused.

Records leave this hook as plain dicts with our field names.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from typing import Iterable, Iterator

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks import safe_xml as xml
from erpbridge.hooks.base import HttpSystemHook

EMPLOYEE = "TdmDarbBaseBL"
ABSENCE = "TdmPrombBL"
TIME_IMPORT = "TdmLaikaImportBL"
PAYROLL_RUN = "TdmAlgSarBL"
PAYROLL_PAYMENT = "TdmAlgIzmBL"
CUSTOMER = "TdmKlBL"
SALES_INVOICE = "TdmRekBL"
SALES_ORDER = "TdmRPasBL"
ORDER_LINE = "TdmRPasRindBL"
DELIVERY_NOTE = "TdmPavZBL"
CONFIRMED = "CONFIRMED"
REGISTERED = "REGISTERED"
PAGE_SIZE = 500
EMPLOYEE_FIELDS = {  # API name -> our name
    "EmployeeCode": "code", "FirstName": "first_name", "LastName": "last_name", "Department": "department",
    "Position": "position", "Manager": "manager", "EmploymentStart": "employment_start",
    "EmploymentEnd": "employment_end", "TerminationRegistered": "termination_registered", "Changed": "changed",
}
ABSENCE_FIELDS = {"EmployeeCode": "employee_code", "DateFrom": "date_from", "DateTo": "date_to",
                  "AbsenceType": "absence_type"}
TIME_FIELDS = {"EmployeeCode": "employee_code", "Date": "date", "TimeType": "time_type", "Hours": "hours",
               "Comment": "comment"}
PAYROLL_RUN_FIELDS = {"Period": "period", "PayDate": "pay_date", "Currency": "currency", "Status": "status",
                      "Changed": "changed"}
PAYMENT_FIELDS = {"EmployeeCode": "employee_code", "EmployeeName": "name", "IBAN": "iban", "NetAmount": "net_amount",
                  "PayerIBAN": "payer_iban"}
CUSTOMER_FIELDS = {"Code": "code", "Name": "name", "RegNo": "reg_no", "PersonType": "person_type",
                   "Country": "country", "Address": "address", "Email": "email"}
INVOICE_FIELDS = {"DocType": "doc_type", "DocDate": "doc_date", "Currency": "currency", "ExternalRef": "external_ref",
                  "PaidDate": "paid_date", "PaymentChannel": "payment_channel", "Total": "total",
                  "VatTotal": "vat_total"}
LINE_FIELDS = {"Article": "article", "Description": "description", "Quantity": "quantity", "Price": "price",
               "VatRate": "vat_rate", "Amount": "amount", "Vat": "vat"}
SALES_ORDER_FIELDS = {"OrderNo": "order_no", "Customer": "customer", "DeliveryDate": "delivery_date"}
ORDER_LINE_FIELDS = {"LineNo": "line_no", "ItemCode": "item_code", "GTIN": "gtin", "Packages": "packages",
                     "Quantity": "quantity_kg", "Price": "price"}
NOTE_FIELDS = {"Order": "order_pk", "Reference": "reference", "Date": "date", "Amount": "amount"}
NOTE_LINE_FIELDS = {"LineNo": "line_no", "ItemCode": "item_code", "GTIN": "gtin", "Packages": "packages",
                    "Quantity": "quantity_kg", "Price": "price", "Amount": "amount", "Lots": "lots"}
RECORD_STATUSES = {400, 404, 409, 422}


class VismaHorizonHook(HttpSystemHook):
    """Horizon client. Connection: host = base URL up to (not including) /rest, login/password = Web user."""

    conn_name_attr = "visma_horizon_conn_id"
    default_conn_name = "visma_horizon_default"
    conn_type = "visma_horizon"
    hook_name = "Visma Horizon"
    system_name = "Horizon"

    def __init__(self, visma_horizon_conn_id: str | None = None, **kwargs):
        super().__init__(visma_horizon_conn_id, **kwargs)

    def configure(self, conn) -> None:
        token = base64.b64encode(f"{conn.login or ''}:{conn.password or ''}".encode()).decode()
        self._auth_header = f"Basic {token}"

    def authorize(self, request) -> None:
        request.headers["Authorization"] = self._auth_header

    def probe(self) -> str:
        rows = self.query(EMPLOYEE, ["EmployeeCode"], limit=1)
        return f"Web user accepted, employee cards readable ({len(rows)} on the first page)"

    # --- wire -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params=None, body: bytes | None = None, write: bool = False):
        headers = {"Accept": "application/xml"}
        if body is not None:
            headers["Content-Type"] = "application/xml; charset=utf-8"
        return self.client.call(method, f"rest/{path}", params=params, data=body, headers=headers,
                                parse=_parse, write=write)

    def query(self, cls: str, columns: list[str] | None = None, criteria: Iterable[str] = (),
              limit: int | None = None) -> list[dict]:
        """Every row of ``cls`` matching all ``criteria`` (each ``Field<op>value``), as {API field: text}."""
        return [row for page in self.iter_query(cls, columns, criteria, limit) for row in page]

    def iter_query(self, cls: str, columns: list[str] | None = None, criteria: Iterable[str] = (),
                   limit: int | None = None) -> Iterator[list[dict]]:
        size = min(limit or PAGE_SIZE, PAGE_SIZE)
        params = {"limit": size}
        if columns:
            params["columns"] = ",".join(columns)
        joined = ";".join(criteria)
        if joined:
            params["criteria"] = joined
        offset = 0
        while True:
            root = self.request("GET", f"{cls}/query", params={**params, "offset": offset})
            page = [_entity(e) for e in xml.children(root, "entity")]
            if page:
                yield page
            if len(page) < size or limit:
                return
            offset += len(page)

    def create(self, cls: str, values: dict) -> str:
        """Template then POST: returns the pk of the stored record."""
        template = self.request("GET", f"{cls}/template")
        pk = xml.text(xml.child(template, "entity"), "pk")
        if not pk:
            raise ExternalSystemError(self.system_name, f"{cls} template carried no pk")
        body = xml.serialize(xml.build("resource", {"entity": {k: _wire(v) for k, v in values.items()}}))
        stored = self.request("POST", f"{cls}/template/{pk}", body=body, write=True)
        return xml.text(xml.child(stored, "entity"), "pk") or pk

    # --- employees and absences -----------------------------------------------------------------

    def employees(self, changed_since: datetime | None = None, *, codes: Iterable[str] | None = None,
                  extra_criteria: Iterable[str] = ()) -> list[dict]:
        """Employee cards (changed since, or with these codes), manager resolved to its employee code."""
        criteria = list(extra_criteria)
        if changed_since is not None:
            criteria.append(f"Changed>={_stamp(changed_since)}")
        if codes is not None:
            codes = [c for c in codes if c]
            if not codes:
                return []
            criteria.append("EmployeeCode=" + "|".join(codes))
        rows = self.query(EMPLOYEE, list(EMPLOYEE_FIELDS), criteria)
        return self._with_manager_codes([_employee(row) for row in rows])

    def employees_with_dates_between(self, field: str, start: date, end: date) -> list[dict]:
        """Employees whose employment start or end (``field``) falls in [start, end]."""
        api = {"employment_start": "EmploymentStart", "employment_end": "EmploymentEnd"}[field]
        return self.employees(extra_criteria=[f"{api}>={start.isoformat()}", f"{api}<={end.isoformat()}"])

    def _with_manager_codes(self, employees: list[dict]) -> list[dict]:
        by_pk = {e["pk"]: e["code"] for e in employees}
        missing = {e["manager"] for e in employees if e["manager"] and e["manager"] not in by_pk}
        for pk in missing:
            root = self.request("GET", f"{EMPLOYEE}/{pk}")
            entity = xml.child(root, "entity")
            by_pk[pk] = xml.text(entity, "EmployeeCode")
        for employee in employees:
            employee["manager_code"] = by_pk.get(employee.pop("manager")) if employee.get("manager") else None
        return employees

    def absences(self, start: date, end: date) -> list[dict]:
        """Absences overlapping [start, end], each with its ``pk``."""
        rows = self.query(ABSENCE, list(ABSENCE_FIELDS), [f"DateFrom<={end.isoformat()}", f"DateTo>={start.isoformat()}"])
        return [_absence(row) for row in rows]

    def absence(self, pk: str) -> dict | None:
        """One absence by pk; None when Horizon no longer has it (a cancelled absence is deleted)."""
        try:
            root = self.request("GET", f"{ABSENCE}/{pk}")
        except RecordRejected as exc:
            if exc.category == "NOT_FOUND":
                return None
            raise
        return _absence(_entity(xml.child(root, "entity")))

    # --- payroll time import --------------------------------------------------------------------

    def import_time(self, row: dict) -> str:
        """One payroll time row (employee_code, date, time_type, hours, comment); replaces the same key."""
        values = {api: row.get(ours) for api, ours in TIME_FIELDS.items() if row.get(ours) is not None}
        return self.create(TIME_IMPORT, values)

    def imported_time(self, start: date, end: date) -> list[dict]:
        rows = self.query(TIME_IMPORT, list(TIME_FIELDS), [f"Date>={start.isoformat()}", f"Date<={end.isoformat()}"])
        return [{ours: (float(row[api]) if ours == "hours" else row.get(api)) for api, ours in TIME_FIELDS.items()}
                for row in rows]


    # --- payroll runs and their payments ------------------------------------------------------------

    def confirmed_payroll_runs(self, paid_from: date | None = None) -> list[dict]:
        """The confirmed payroll runs (paid on or after ``paid_from``, when given), each with its ``pk``."""
        criteria = [f"Status={CONFIRMED}"] + ([f"PayDate>={paid_from.isoformat()}"] if paid_from else [])
        rows = self.query(PAYROLL_RUN, list(PAYROLL_RUN_FIELDS), criteria)
        return [{"pk": row["pk"], **{ours: row.get(api) for api, ours in PAYROLL_RUN_FIELDS.items()}} for row in rows]

    def payroll_payments(self, run_pk: str) -> list[dict]:
        """The net payments of one payroll run (amounts as text, exactly as Horizon gives them)."""
        rows = self.query(PAYROLL_PAYMENT, list(PAYMENT_FIELDS), [f"Run={run_pk}"])
        return [{ours: row.get(api) for api, ours in PAYMENT_FIELDS.items()} for row in rows]

    # --- customers and sales documents --------------------------------------------------------------

    def customers_with_reg_no(self, reg_no: str, country: str) -> list[str]:
        """The pks of the customers with this personal code / registration number (compact) in ``country``."""
        rows = self.query(CUSTOMER, ["RegNo"], [f"RegNo={reg_no}", f"Country={country}"])
        return sorted((row["pk"] for row in rows), key=int)

    def create_customer(self, customer: dict) -> str:
        """A new customer from our field names (``CUSTOMER_FIELDS``); returns its pk."""
        return self.create(CUSTOMER, {api: customer[ours] for api, ours in CUSTOMER_FIELDS.items()
                                      if customer.get(ours) not in (None, "")})

    def sales_document(self, external_ref: str) -> str | None:
        """The pk of the sales invoice or credit note carrying ``external_ref``, if Horizon has one."""
        rows = self.query(SALES_INVOICE, ["ExternalRef"], [f"ExternalRef={external_ref}"])
        return min((row["pk"] for row in rows), key=int, default=None)

    def create_sales_document(self, document: dict) -> str:
        """A sales invoice or credit note (our field names, ``customer_pk``, ``credited_pk``, ``lines``) posted
        whole with its lines; returns its pk."""
        values = {api: document[ours] for api, ours in INVOICE_FIELDS.items() if document.get(ours) is not None}
        values["Customer"] = {"href": f"/rest/{CUSTOMER}/{document['customer_pk']}"}
        if document.get("credited_pk"):
            values["CreditedInvoice"] = {"href": f"/rest/{SALES_INVOICE}/{document['credited_pk']}"}
        values["Lines"] = {"Line": [{api: _wire(line[ours]) for api, ours in LINE_FIELDS.items()}
                                    for line in document["lines"]]}
        return self.create(SALES_INVOICE, values)

    # --- weighed goods: sales orders and delivery notes ---------------------------------------------

    def weighed_orders(self) -> list[dict]:
        """Registered sales orders of weighed goods, each with its ``pk`` and ``lines`` (texts as Horizon gives
        them)."""
        rows = self.query(SALES_ORDER, list(SALES_ORDER_FIELDS), [f"Status={REGISTERED}", "Weighed=true"])
        orders = {row["pk"]: {"pk": row["pk"], **{ours: row.get(api) for api, ours in SALES_ORDER_FIELDS.items()},
                              "lines": []} for row in rows}
        if orders:
            for line in self.query(ORDER_LINE, ["Order", *ORDER_LINE_FIELDS], ["Order=" + "|".join(orders)]):
                orders[line["Order"]]["lines"].append({ours: line.get(api) for api, ours in ORDER_LINE_FIELDS.items()})
        return list(orders.values())

    def delivery_note_by_reference(self, reference: str) -> str | None:
        """The pk of the delivery note carrying our ``reference``, if Horizon has one."""
        rows = self.query(DELIVERY_NOTE, ["Reference"], [f"Reference={reference}"])
        return rows[0]["pk"] if rows else None

    def create_delivery_note(self, note: dict) -> str:
        """One delivery note (NOTE_FIELDS, ``lines`` of NOTE_LINE_FIELDS) in one POST; returns its pk."""
        values = {api: note[ours] for api, ours in NOTE_FIELDS.items()}
        values["Lines"] = {"Line": [{api: _wire(line[ours]) for api, ours in NOTE_LINE_FIELDS.items()}
                                    for line in note["lines"]]}
        return self.create(DELIVERY_NOTE, values)


def _parse(response):
    if response.ok:
        return xml.parse_response(response, "Horizon")
    try:
        root = xml.parse(response.content)
        code, message = xml.text(root, "code") or f"HTTP{response.status_code}", xml.text(root, "message") or ""
    except xml.MalformedXml:
        code, message = f"HTTP{response.status_code}", response.text[:300]
    if response.status_code in RECORD_STATUSES:
        raise RecordRejected(f"{code}: {message}", code)
    raise ExternalSystemError("Horizon", f"HTTP {response.status_code} {code}: {message}", code,
                              response.status_code)


def _entity(element) -> dict:
    row = {}
    for child in element:
        href = xml.text(child, "href")
        row[child.tag] = href.rsplit("/", 1)[-1] if href else (child.text or None)
    return row


def _absence(row: dict) -> dict:
    return {"pk": row.get("pk"), **{ours: row.get(api) for api, ours in ABSENCE_FIELDS.items()}}


def _employee(row: dict) -> dict:
    employee = {ours: row.get(api) for api, ours in EMPLOYEE_FIELDS.items()}
    employee["pk"] = row.get("pk")
    employee["termination_registered"] = str(employee.get("termination_registered") or "").lower() in ("true", "1")
    return employee


def _wire(value):
    if isinstance(value, dict):  # nested elements (a reference, a document's lines)
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
