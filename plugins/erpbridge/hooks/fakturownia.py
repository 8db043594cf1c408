"""Fakturownia API (the ``fakturownia/API`` README): ``/<resource>.json``, JSON wrapped in the record's
name, bare-array lists paged with ``page`` / ``per_page`` (<= 100). Records cross this hook as the
API's own JSON dicts.

ASSUMED, verify first (the public description does not settle them; each lives only here):
``ERROR_SHAPE`` - errors are ``{"code": "error", "message": ...}`` with 401 for a bad token, 404 for
an unknown id and 422 with ``message`` = ``{field: [reasons]}`` for refused data; ``OID_TAKEN`` -
a second document with an ``oid_unique`` order id is refused as 422 on field ``oid``;
``OID_FILTER`` - ``GET /invoices.json?oid=`` lists the documents with that order id;
``PRICE_LIST_POSITIONS`` - the price list list shows each list's positions under that key (the README
shows only what is sent: ``price_list_positions_attributes``). The token
travels in an ``Authorization: Bearer`` header (accepted by the live API, keeps it out of URLs).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterator

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

PER_PAGE = 100  # the API's maximum
OID_TAKEN_FIELD = "oid"  # OID_TAKEN: the 422 field naming a taken order id
OID_FILTER = "oid"  # OID_FILTER: the invoice list's filter by order id
PRICE_LIST_POSITIONS = "price_list_positions"  # PRICE_LIST_POSITIONS: a listed price list's positions


class FakturowniaHook(HttpSystemHook):
    """Connection: host = the account's URL (https://<account>.fakturownia.pl), password = API token."""

    conn_name_attr = "fakturownia_conn_id"
    default_conn_name = "fakturownia_default"
    conn_type = "fakturownia"
    hook_name = "Fakturownia"
    system_name = "Fakturownia"

    def __init__(self, fakturownia_conn_id: str | None = None, **kwargs):
        super().__init__(fakturownia_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.api_token = conn.password or ""

    def authorize(self, request) -> None:
        request.headers["Authorization"] = f"Bearer {self.api_token}"

    def request(self, method: str, path: str, *, params=None, json=None, write: bool = False):
        self.connection  # noqa: B018 - reads the token before the first request
        return self.client.call(method, path, params=params, json=json, write=write, parse=_parse,
                                headers={"Accept": "application/json"})

    def probe(self) -> str:
        warehouses = self.request("GET", "warehouses.json", params={"per_page": PER_PAGE})
        return f"API token accepted, {len(warehouses)} warehouse(s) readable"

    def iter_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Pages of a list until a short one (the API gives no total)."""
        page = 1
        while True:
            rows = self.request("GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE})
            yield rows
            if len(rows) < PER_PAGE:
                return
            page += 1

    def get(self, resource: str, record_id: int | str, params: dict | None = None) -> dict | None:
        try:
            return self.request("GET", f"{resource}/{int(record_id)}.json", params=params)
        except RecordRejected as exc:
            if exc.category == "not_found":
                return None
            raise

    def create(self, resource: str, wrapper: str, record: dict) -> dict:
        return self.request("POST", f"{resource}.json", json={wrapper: record}, write=True)

    # --- stock ----------------------------------------------------------------------------------

    def warehouses(self) -> list[dict]:
        return [w for page in self.iter_pages("warehouses.json") for w in page]

    def products(self, warehouse_id: int | None = None, changed_since: datetime | None = None) -> Iterator[list[dict]]:
        """Pages of products with ``stock_level`` of ``warehouse_id``; only those added or changed
        (stock included) since ``changed_since`` when given."""
        params: dict = {}
        if warehouse_id is not None:
            params["warehouse_id"] = warehouse_id
        if changed_since is not None:
            params["date_from"] = changed_since.astimezone(timezone.utc).isoformat(timespec="seconds")
        return self.iter_pages("products.json", params)

    def stock_level(self, product_id: int, warehouse_id: int) -> Decimal:
        """The product's stock in one warehouse (0 for a product the ERP no longer has)."""
        product = self.get("products", product_id, {"warehouse_id": warehouse_id}) or {}
        return Decimal(str(product.get("stock_level") or 0))

    def warehouse_documents(self, kind: str) -> Iterator[list[dict]]:
        return self.iter_pages("warehouse_documents.json", {"kind": kind})

    def create_warehouse_document(self, document: dict) -> dict:
        return self.create("warehouse_documents", "warehouse_document", document)

    # --- price lists ----------------------------------------------------------------------------

    def price_list_positions(self, price_list_ids: list[int]) -> dict[int, list[dict]]:
        """Price list id -> its positions, for those of ``price_list_ids`` the account has."""
        wanted = set(price_list_ids)
        return {int(p["id"]): p.get(PRICE_LIST_POSITIONS) or [] for page in self.iter_pages("price_lists.json")
                for p in page if int(p["id"]) in wanted}

    # --- clients --------------------------------------------------------------------------------

    def find_clients(self, **filters: str) -> list[dict]:
        """Clients by ``tax_no``, ``email``, ``external_id``, ``name`` (exact, as the list filters)."""
        return [c for page in self.iter_pages("clients.json", filters) for c in page]

    def create_client(self, client: dict) -> dict:
        return self.create("clients", "client", client)

    # --- documents ------------------------------------------------------------------------------

    def invoices_by_oid(self, oid: str) -> list[dict]:
        """Every document (any kind, any period) carrying order id ``oid``."""
        found = [i for page in self.iter_pages("invoices.json", {OID_FILTER: oid, "period": "all",
                                                                 "include_positions": "true"}) for i in page]
        return [i for i in found if str(i.get("oid") or "") == oid]

    def create_invoice(self, invoice: dict) -> dict:
        """Create a document; one whose ``oid`` is taken (``oid_unique``) is refused as ``oid_taken``."""
        return self.create("invoices", "invoice", invoice)

    def set_status(self, invoice_id: int | str, status: str) -> None:
        """``issued``, ``sent``, ``paid``, ``partial`` or ``rejected`` (repeating it is harmless)."""
        self.request("POST", f"invoices/{int(invoice_id)}/change_status.json", params={"status": status}, write=True)

    def create_payment(self, payment: dict) -> dict:
        return self.create("banking/payments", "banking_payment", payment)


def _parse(response):
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc
    if response.ok:
        return body
    raise _error(response.status_code, body, response.text)


def _error(status: int, body, text: str) -> Exception:
    """ERROR_SHAPE: ``{"code": "error", "message": text or {field: [reasons]}}``."""
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, dict):
        fields = {str(k): v if isinstance(v, list) else [v] for k, v in message.items()}
        reason = "; ".join(f"{field}: {', '.join(map(str, reasons))}" for field, reasons in fields.items())
        category = "oid_taken" if OID_TAKEN_FIELD in fields else "invalid_data"
    else:
        reason, category = str(message or text[:300]), "not_found" if status == 404 else f"HTTP{status}"
    if status in (400, 404, 409, 422):
        return RecordRejected(f"Fakturownia refused it: {reason}", category)
    return ExternalSystemError("Fakturownia", reason, "AuthenticationRequired" if status in (401, 403) else category,
                               status)
