"""SaldeoSMART API (the document hub), as the open client ``piotrlinski/saldeosmart-mcp`` describes it:
every request signed (``username``, a fresh ``req_id``, ``req_sig`` = MD5 of the URL-encoded, key-sorted
``k=v`` pairs of every parameter plus the API token), rich requests as a ``command`` form field (gzip +
base64 XML, signed as sent), ``<RESPONSE><STATUS>`` envelopes, one request at a time per user.
Records cross this hook as plain dicts of the API's own fields (tags in lower case).

ASSUMED, verify first (no public source settles them; each lives only here): ``CREDENTIALS_REFUSED`` -
the error codes meaning a wrong user or token; ``BUSY`` - the code refusing a concurrent request (retried);
``SYNC_BATCH`` - documents per ``document/sync`` call; the per-item sync result
``DOCUMENT_SYNCS/DOCUMENT_SYNC`` with ``SALDEO_ID`` and ``STATUS`` (``OK`` or ``NOT_VALID`` with
``ERRORS/ERROR/{PATH,MESSAGE}``); ``EXPORTED_STATUS`` - the status that takes a document off the
export list (policy ``SALDEO``); the KSeF number as ``KSEF_NUMBER``; ``MERGE_RESULT_KEY`` - a merge's per-item
result names its item by the item's program id (``<CONTRACTOR_PROGRAM_ID>`` ...); ``MERGE_BATCH`` - items per
``*/merge`` call (and per ``company/create|synchronize`` call); ``COMPANY_WELCOME_BY_EMAIL`` - a created company's
admin user gets the welcome with the password by e-mail (``SEND_EMAIL`` true), so no password comes back here;
the per-item result of ``company/create|synchronize`` naming the company by ``COMPANY_PROGRAM_ID``.

Bank statements (``bank_statement/list``, the client's ``tools/bank.py`` and ``models/bank.py``): every statement
of the company, each with its ``BANK_OPERATIONS``; the answer carries no statement id, and the client knows no call
marking a statement exported ("no write counterpart"), so the ledger alone keeps a statement's export once.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote_plus, urlsplit
from xml.etree.ElementTree import Element, tostring

from erpbridge.errors import ExternalSystemError
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.safe_xml import build, each_in_response, parse_response
from erpbridge.hooks.transport import Retryable

COMPANY_LIST = "api/xml/1.0/company/list"
COMPANY_CREATE = "api/xml/2.19/company/create"
COMPANY_SYNCHRONIZE = "api/xml/1.0/company/synchronize"
COMPANY_WELCOME_BY_EMAIL = "true"  # COMPANY_WELCOME_BY_EMAIL: SEND_EMAIL of a created company
DOCUMENT_LIST = "api/xml/2.12/document/list"
DOCUMENT_SYNC = "api/xml/1.13/document/sync"
BANK_STATEMENT_LIST = "api/xml/2.18/bank_statement/list"
EXPORT_POLICY = "SALDEO"  # the documents marked for export in the hub
EXPORTED_STATUS = "INTRODUCED"  # EXPORTED_STATUS: written back once a document is in an exchange file
CREDENTIALS_REFUSED = {"UNKNOWN_USER", "INVALID_SIGNATURE"}  # CREDENTIALS_REFUSED
BUSY = "CONCURRENT_REQUEST"  # BUSY: the user's previous request is still being served
SYNC_BATCH = 100  # SYNC_BATCH
# register -> (path, container, item tag), as the open client's tools/{contractors,catalog}.py send them
MERGES = {
    "contractor": ("api/xml/1.23/contractor/merge", "CONTRACTORS", "CONTRACTOR"),
    "category": ("api/xml/1.0/category/merge", "CATEGORIES", "CATEGORY"),
    "register": ("api/xml/1.0/register/merge", "REGISTERS", "REGISTER"),
    "payment_method": ("api/xml/1.0/payment_method/merge", "PAYMENT_METHODS", "PAYMENT_METHOD"),
}
MERGED = {"CREATED", "MERGED"}  # a merged item's STATUS (the open client's happy values for */merge, company/*)
MERGE_RESULT_KEY = "{tag}_PROGRAM_ID"  # MERGE_RESULT_KEY: the element naming an item in a merge's answer
MERGE_BATCH = 100  # MERGE_BATCH
# elements holding a list
REPEATED = {"VAT_REGISTRIES", "DOCUMENTS", "COMPANIES", "DOCUMENT_SYNCS", "ERRORS", "BANK_OPERATIONS"}

_user_locks: dict[tuple[str, str], threading.Lock] = {}
_user_locks_guard = threading.Lock()


def signature(params: dict[str, str], token: str) -> str:
    """``req_sig``: sort by key, join ``k=v`` without a separator, URL-encode (space as ``+``), append the token, MD5."""
    joined = "".join(f"{key}={params[key]}" for key in sorted(params))
    return hashlib.md5((quote_plus(joined) + token).encode("utf-8"), usedforsecurity=False).hexdigest()


def encode_command(root: Element) -> str:
    """A ``command`` field: the XML gzipped (no timestamp, so equal requests are equal bytes) and base64-encoded."""
    return base64.b64encode(gzip.compress(tostring(root, encoding="utf-8"), mtime=0)).decode("ascii")


def record(element: Element) -> dict:
    """An API element as a dict: leaves as text, list containers (``REPEATED``) as lists of dicts."""
    out: dict = {}
    for item in element:
        key = item.tag.lower()
        if item.tag in REPEATED:
            out[key] = [record(child) for child in item]
        elif len(item):
            out[key] = record(item)
        else:
            out[key] = (item.text or "").strip()
    return out


class SaldeoHook(HttpSystemHook):
    """Connection: host = the API's base URL (https://saldeo.brainshare.pl), login = the API user name,
    password = the user's API token (SaldeoSMART: Settings -> API)."""

    conn_name_attr = "saldeo_conn_id"
    default_conn_name = "saldeo_default"
    conn_type = "saldeo"
    hook_name = "SaldeoSMART"
    system_name = "SaldeoSMART"

    def __init__(self, saldeo_conn_id: str | None = None, **kwargs):
        super().__init__(saldeo_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.username = conn.login or ""
        self.api_token = conn.password or ""

    def authorize(self, request) -> None:
        """Sign the request as it will be sent (URL query + form fields), with a new ``req_id`` per attempt."""
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        if isinstance(request.body, str):
            params.update(parse_qsl(request.body, keep_blank_values=True))
        auth = {"username": self.username, "req_id": f"{time.time_ns()}-{uuid.uuid4().hex[:12]}"}
        auth["req_sig"] = signature({**params, **auth}, self.api_token)
        request.prepare_url(request.url, auth)

    def request(self, method: str, path: str, *, params: dict | None = None, command: Element | None = None,
                parse=None):
        """One signed call (its answer parsed by ``parse``, default: the envelope checked, the root returned); the
        user's calls from this process go one at a time, as the API demands."""
        self.connection  # noqa: B018 - reads the credentials before the first request
        data = {"command": encode_command(command)} if command is not None else None
        key = (self.connection.host or "", self.username)
        with _user_locks_guard:
            lock = _user_locks.setdefault(key, threading.Lock())
        with lock:  # a sync repeated after a lost answer sets the same number again: reads' retry rules are safe
            return self.client.call(method, path, params=params, data=data, parse=parse or _parse)

    def probe(self) -> str:
        companies = self.request("GET", COMPANY_LIST).find("COMPANIES")
        return f"API user accepted, {len(companies) if companies is not None else 0} company(ies) readable"

    def documents_to_export(self, company_program_id: str) -> list[dict]:
        """The company's documents marked for export (policy ``SALDEO``), oldest id first."""
        return self.request("GET", DOCUMENT_LIST, params={"company_program_id": company_program_id,
                                                          "policy": EXPORT_POLICY}, parse=_documents)

    def bank_statements(self, company_program_id: str) -> list[dict]:
        """Every bank statement of the company (``BANK_STATEMENTS/BANK_STATEMENT``), operations as a list."""
        root = self.request("GET", BANK_STATEMENT_LIST, params={"company_program_id": company_program_id})
        return [record(statement) for statement in root.findall("BANK_STATEMENTS/BANK_STATEMENT")]

    def mark_exported(self, company_program_id: str, marks: list[dict]) -> dict[str, str | None]:
        """``document/sync`` for each {saldeo_id, account_document_number}: status ``EXPORTED_STATUS``.
        Returns {saldeo id: None when marked, else the hub's reason}."""
        results: dict[str, str | None] = {}
        for start in range(0, len(marks), SYNC_BATCH):
            items = [{"SALDEO_ID": m["saldeo_id"], "ACCOUNT_DOCUMENT_NUMBER": m["account_document_number"],
                      "DOCUMENT_STATUS": EXPORTED_STATUS} for m in marks[start:start + SYNC_BATCH]]
            command = build("ROOT", {"DOCUMENT_SYNCS": {"DOCUMENT_SYNC": items}})
            root = self.request("POST", DOCUMENT_SYNC, params={"company_program_id": company_program_id},
                                command=command)
            for item in record(root).get("document_syncs", []):
                refused = "; ".join(f"{e.get('path')}: {e.get('message')}" for e in item.get("errors", []))
                results[item.get("saldeo_id", "")] = None if item.get("status") == "OK" else refused or item.get("status")
        return results

    def merge(self, kind: str, company_program_id: str, items: list[dict]) -> dict[str, str | None]:
        """``<kind>/merge`` of items {TAG: value} (each with its ``<ITEM>_PROGRAM_ID``; ``None`` values left out),
        created or updated by that id. Returns {program id: (the hub's id, None) when merged, else (None, the hub's
        reason)}."""
        path, container, tag = MERGES[kind]
        return self._batches(path, container, tag, items, {"company_program_id": company_program_id})

    def companies(self) -> list[dict]:
        """Every company the API user sees (``company_id``, ``company_program_id`` when one is linked,
        ``vat_number``, names, address)."""
        return record(self.request("GET", COMPANY_LIST)).get("companies", [])

    def create_companies(self, companies: list[dict]) -> dict[str, tuple[str | None, str | None]]:
        """``company/create`` of companies {TAG: value} (``COMPANY_PROGRAM_ID``, ``USERNAME``, ``EMAIL``, names,
        ``VAT_NUMBER``, address), each with its admin user, welcomed by e-mail. Returns as :meth:`merge`."""
        items = [{**company, "SEND_EMAIL": COMPANY_WELCOME_BY_EMAIL} for company in companies]
        return self._batches(COMPANY_CREATE, "COMPANIES", "COMPANY", items, None)

    def synchronize_companies(self, links: list[dict]) -> dict[str, tuple[str | None, str | None]]:
        """``company/synchronize`` of {``COMPANY_ID``, ``COMPANY_PROGRAM_ID``}: each hub company gets the program id.
        Returns as :meth:`merge`."""
        return self._batches(COMPANY_SYNCHRONIZE, "COMPANIES", "COMPANY", links, None)

    def _batches(self, path: str, container: str, tag: str, items: list[dict], params: dict | None):
        """Items posted ``MERGE_BATCH`` at a time; {program id: (hub id, None) or (None, the hub's reason)}."""
        key = MERGE_RESULT_KEY.format(tag=tag)
        results: dict[str, tuple[str | None, str | None]] = {}
        for start in range(0, len(items), MERGE_BATCH):
            batch = [{k: v for k, v in item.items() if v is not None} for item in items[start:start + MERGE_BATCH]]
            root = self.request("POST", path, params=params, command=build("ROOT", {container: {tag: batch}}))
            for answer in root.findall(f"{container}/{tag}"):
                status = (answer.findtext("STATUS") or "").strip()
                refused = "; ".join(f"{(e.findtext('PATH') or '').strip()}: {(e.findtext('MESSAGE') or '').strip()}"
                                    for e in answer.findall("ERRORS/ERROR"))
                hub_id = (answer.findtext(f"{tag}_ID") or "").strip()
                results[(answer.findtext(key) or "").strip()] = \
                    (hub_id, None) if status in MERGED else (None, refused or status)
        return results


def _documents(response) -> list[dict]:
    """A document list read as a stream (thousands of documents never stand as one tree); an error envelope
    (it opens the answer) is raised as :func:`_parse` raises it."""
    if not response.ok or b"<STATUS>ERROR</STATUS>" in response.content[:512]:
        _parse(response)
    return each_in_response(response, SaldeoHook.system_name, "DOCUMENT", record)


def _parse(response) -> Element:
    root = parse_response(response, SaldeoHook.system_name)
    if (root.findtext("STATUS") or "").strip().upper() == "ERROR":
        code = (root.findtext("ERROR_CODE") or "").strip() or f"HTTP{response.status_code}"
        message = (root.findtext("ERROR_MESSAGE") or "").strip()
        if code == BUSY:
            raise Retryable(f"{code}: {message}", status=response.status_code)
        category = "AuthenticationRequired" if code in CREDENTIALS_REFUSED else code
        raise ExternalSystemError(SaldeoHook.system_name, f"{code}: {message}", category, response.status_code)
    if not response.ok:
        raise ExternalSystemError(SaldeoHook.system_name, f"HTTP {response.status_code} without an error envelope",
                                  f"HTTP{response.status_code}", response.status_code)
    return root

