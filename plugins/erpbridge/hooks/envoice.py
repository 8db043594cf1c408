"""Envoice REST/JSON API: the contract this project ASSUMES (Envoice publishes no API documentation).

Every Envoice assumption lives in this module, so the real contract can replace it here alone:
``Authorization: Bearer <api key>``; master data under ``/api/v1/{contacts|accounts|
dimension-groups|dimensions}`` keyed by the ERP's ``code`` (GET list, POST, GET/PUT/DELETE by
code); lists paged with ``page`` / ``per_page`` answering ``{"data", "meta": {"total_pages"}}``;
purchase documents ``/api/v1/purchase-documents`` (``status`` filter, ``/{id}``, ``/{id}/pdf``,
``POST /{id}/transfer {"erp_id"}``) and ``/api/v1/archive``; errors ``{"error": {"code",
"message"}}`` (401 unauthorized; 404 not_found; 409 duplicate / in_use / invalid_status; 422
validation); at most ``PER_PAGE`` records a page; no published rate limit, so ``rate_per_second``.
Records cross this hook as the API's own JSON dicts. The README's "assumed, verify first" table
lists the same.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import quote

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

API = "api/v1"
PER_PAGE = 200  # the assumed maximum
MASTER_DATA_KINDS = ("contacts", "accounts", "dimension-groups", "dimensions")
RECORD_STATUSES = {400, 404, 409, 422}


class EnvoiceHook(HttpSystemHook):
    """Connection: host = base URL (without /api/v1), password = the company's API key."""

    conn_name_attr = "envoice_conn_id"
    default_conn_name = "envoice_default"
    conn_type = "envoice"
    hook_name = "Envoice"
    system_name = "Envoice"
    rate_per_second = 20.0  # no published limit: stay polite

    def __init__(self, envoice_conn_id: str | None = None, **kwargs):
        super().__init__(envoice_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.api_key = conn.password or ""

    def authorize(self, request) -> None:
        request.headers["Authorization"] = f"Bearer {self.api_key}"

    def request(self, method: str, path: str, *, params=None, json=None, write: bool = False, parse=None):
        self.connection  # noqa: B018 - reads the API key before the first request
        return self.client.call(method, f"{API}/{path}", params=params, json=json, write=write,
                                parse=parse or _parse_json)

    def probe(self) -> str:
        meta = self.request("GET", "accounts", params={"page": 1, "per_page": 1})["meta"]
        return f"API key accepted, {meta.get('total', 0)} accounts readable"

    def iter_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        page = 1
        while True:
            body = self.request("GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE})
            yield body["data"]
            if page >= int(body["meta"].get("total_pages") or 0):
                return
            page += 1

    # --- master data (kind: one of MASTER_DATA_KINDS) -------------------------------------------

    def list_all(self, kind: str) -> list[dict]:
        return [record for page in self.iter_pages(_kind(kind)) for record in page]

    def get(self, kind: str, code: str) -> dict | None:
        try:
            return self.request("GET", f"{_kind(kind)}/{quote(code, safe='')}")
        except RecordRejected as exc:
            if exc.category == "not_found":
                return None
            raise

    def create(self, kind: str, record: dict) -> dict:
        return self.request("POST", _kind(kind), json=record, write=True)

    def update(self, kind: str, code: str, record: dict) -> dict:
        body = {k: v for k, v in record.items() if k != "code"}
        return self.request("PUT", f"{_kind(kind)}/{quote(code, safe='')}", json=body, write=True)

    def delete(self, kind: str, code: str) -> None:
        self.request("DELETE", f"{_kind(kind)}/{quote(code, safe='')}", write=True)

    # --- purchase documents ---------------------------------------------------------------------

    def iter_documents(self, statuses: tuple[str, ...] = ("published",)) -> Iterator[list[dict]]:
        """Pages of purchase documents in the given workspace statuses (draft, approved, published,
        transferred)."""
        return self.iter_pages("purchase-documents", {"status": ",".join(statuses)})

    def document(self, doc_id: str) -> dict:
        return self.request("GET", f"purchase-documents/{doc_id}")

    def pdf(self, doc_id: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of the document's original file, None when it has none."""
        try:
            return self.request("GET", f"purchase-documents/{doc_id}/pdf", parse=_parse_file)
        except RecordRejected as exc:
            if exc.category == "not_found":
                return None
            raise

    def transfer(self, doc_id: str, erp_id: str) -> dict:
        """Tell Envoice the document is in the ERP as ``erp_id`` (repeating with the same id is harmless)."""
        return self.request("POST", f"purchase-documents/{doc_id}/transfer", json={"erp_id": erp_id}, write=True)

    def archive(self) -> list[dict]:
        return [entry for page in self.iter_pages("archive") for entry in page]


def _kind(kind: str) -> str:
    if kind not in MASTER_DATA_KINDS:
        raise ValueError(f"unknown Envoice master data {kind!r}; known: {', '.join(MASTER_DATA_KINDS)}")
    return kind


def _error(response) -> Exception:
    try:
        error = (response.json() or {}).get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code") or f"HTTP{response.status_code}"
    message = error.get("message") or response.text[:300]
    if response.status_code in RECORD_STATUSES:
        return RecordRejected(message, code)
    return ExternalSystemError("Envoice", f"{code}: {message}", code, response.status_code)


def _parse_json(response):
    if not response.ok:
        raise _error(response)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc


def _parse_file(response) -> tuple[bytes, str]:
    if not response.ok:
        raise _error(response)
    return response.content, response.headers.get("Content-Type", "").split(";")[0].strip()
