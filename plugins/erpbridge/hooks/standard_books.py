"""Standard Books / Standard ERP REST API v2: XML over HTTP(S), Basic auth, one company per connection.

Records read cross this hook as plain dicts of the register's field names (``Code``,
``AccNumber``...) with text values, plus ``rows`` (a list of dicts) when the register has rows,
``sequence`` (the record's last change, an int) and ``url``. Writes are ``set_field.`` /
``set_row_field.`` form commands; their answer names the record by the ``url`` on ``<data>``
(documented) and lists only its non-blank fields, so nothing else is read from it. The vendor's ``<error code description row field/>`` becomes a RecordRejected whose
reason is the description, unchanged; warnings (``<message description/>``) are logged.

Assumed, not in the public contract (README: "assumed, verify first"): the ``Attach`` endpoints
(``attach``, ``attachments``, ``attachment``); ``<error>`` / ``<message>`` inside ``<data>`` and the
HTTP statuses in ``RECORD_STATUSES``; ``sequence`` / ``url`` attributes on a GET answer's records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator
from urllib.parse import quote, unquote

from requests.auth import HTTPBasicAuth

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks import safe_xml as xml
from erpbridge.hooks.base import HttpSystemHook

PAGE_SIZE = 1000  # the vendor advises 1000-5000 records per page
# an <error> with these statuses means the data was refused (some servers answer 200 with the
# element); anything else is a system problem
RECORD_STATUSES = {200, 400, 409, 422}


@dataclass
class Page:
    """One page of a register listing and the company's change ``sequence`` when it was read."""

    records: list[dict]
    sequence: int


class StandardBooksHook(HttpSystemHook):
    """Connection: host = base URL (up to, not including, /api), login/password = Basic auth,
    extra ``company`` = the company code in the URL (default 1)."""

    conn_name_attr = "standard_books_conn_id"
    default_conn_name = "standard_books_default"
    conn_type = "standard_books"
    hook_name = "Standard Books"
    system_name = "Standard Books"

    def __init__(self, standard_books_conn_id: str | None = None, **kwargs):
        super().__init__(standard_books_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.username = conn.login or ""
        self.password = conn.password or ""
        self.company = str(conn.extra_dejson.get("company", "1"))

    def authorize(self, request) -> None:
        HTTPBasicAuth(self.username, self.password)(request)

    def probe(self) -> str:
        page = next(self.iter_pages("AccVc", fields=["AccNumber"], page_size=1))
        return f"company {self.company} readable (change sequence {page.sequence})"

    # --- wire -----------------------------------------------------------------------------------

    def _path(self, *parts) -> str:
        """``api/<company>/<parts...>``, each part URL-quoted."""
        self.connection  # noqa: B018 - reads credentials and company before the first request
        return "/".join(["api", *(quote(str(p), safe="") for p in (self.company, *parts))])

    def _call(self, method: str, path: str, *, params=None, data=None, headers=None, write=False):
        return self.client.call(method, path, params=params, data=data, headers=headers,
                                parse=self._parse, write=write)

    def _parse(self, response):
        """The ``<data>`` element of a good answer, or the vendor's error turned into our error kinds."""
        root = xml.parse_response(response, "Standard Books")
        error = xml.child(root, "error")
        if error is None and response.ok:
            for message in xml.children(root, "message"):
                self.log.warning("Standard Books: %s", message.get("description", ""))
            return root
        code = error.get("code", "") if error is not None else ""
        description = error.get("description", "") if error is not None else response.text[:300]
        if response.status_code in RECORD_STATUSES:
            raise RecordRejected(description, code or f"HTTP{response.status_code}")
        if response.status_code == 404:
            raise _NotFound(description)
        raise ExternalSystemError(self.system_name, f"{code} {description}".strip(), code or "SYSTEM",
                                  response.status_code)

    # --- reading --------------------------------------------------------------------------------

    def iter_pages(self, register: str, *, updates_after: int | None = None, filters: dict | None = None,
                   fields: list[str] | None = None, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        """Pages of ``register`` (offset/limit), changed after ``updates_after`` and matching
        ``filters`` ({Field: value}, exact). Always yields at least one (maybe empty) page."""
        params: dict = {f"filter.{name}": value for name, value in (filters or {}).items()}
        if updates_after is not None:
            params["updates_after"] = str(updates_after)
        if fields:
            params["fields"] = ",".join(fields)
        offset = 0
        while True:
            root = self._call("GET", self._path(register), params={**params, "offset": offset, "limit": page_size})
            records = [_record(node) for node in xml.children(root, register)]
            yield Page(records, int(root.get("sequence") or 0))
            if len(records) < page_size:
                return
            offset += len(records)

    def find(self, register: str, **filters: str) -> list[dict]:
        """Every record whose fields equal ``filters`` (the vendor's ``filter.Field=``; a scan, keep it rare)."""
        return [r for page in self.iter_pages(register, filters=filters) for r in page.records]

    def get(self, register: str, key: str) -> dict | None:
        try:
            root = self._call("GET", self._path(register, key))
        except _NotFound:
            return None
        node = xml.child(root, register)
        return _record(node) if node is not None else None

    # --- writing --------------------------------------------------------------------------------

    def create(self, register: str, fields: dict, rows: list[dict] | None = None) -> str:
        """POST a new record; returns its key, taken from the url on the answer's ``<data>``. An empty
        key auto-numbers. An answer without it is a system error after the record may exist: callers
        find it again by a field of their own (e.g. ``ExternalId``) before posting again."""
        root = self._call("POST", self._path(register), data=_commands(fields, rows), write=True)
        url = root.get("url", "")
        if not url:
            raise ExternalSystemError(self.system_name, f"the answer to a new {register} record carries no url")
        return _unquote_key(url)

    def update(self, register: str, key: str, fields: dict, rows: list[dict] | None = None) -> None:
        """PATCH ``set_field`` / ``set_row_field`` commands onto an existing record."""
        self._call("PATCH", self._path(register, key), data=_commands(fields, rows), write=True)

    def attach(self, register: str, key: str, filename: str, content: bytes,
               content_type: str = "application/pdf") -> int:
        """Attach a file to a record; returns the attachment number."""
        root = self._call("POST", self._path("Attach", register, key), params={"filename": filename},
                          data=content, headers={"Content-Type": content_type}, write=True)
        return int(xml.child(root, "Attach").get("nr"))

    def attachments(self, register: str, key: str) -> list[dict]:
        """[{nr, filename, size, contenttype, url}] of a record's attachments."""
        root = self._call("GET", self._path("Attach", register, key))
        return [dict(node.attrib) for node in xml.children(root, "Attach")]

    def attachment(self, register: str, key: str, nr: int) -> bytes:
        return self.client.call("GET", self._path("Attach", register, key, nr), parse=_bytes)


class _NotFound(ExternalSystemError):
    """A 404: an unknown record (``get`` answers None) or a wrong company / register (a system error)."""

    def __init__(self, description: str):
        super().__init__("Standard Books", description, "NOT_FOUND", 404)


def _bytes(response) -> bytes:
    if response.ok:
        return response.content
    raise ExternalSystemError("Standard Books", f"HTTP {response.status_code}: {response.text[:300]}",
                              status=response.status_code)


def _record(node) -> dict:
    record: dict = {"sequence": int(node.get("sequence") or 0), "url": node.get("url", "")}
    for element in node:
        if element.tag == "rows":
            record["rows"] = [{c.tag: c.text or "" for c in row} for row in element]
        elif element.tag == "Attachments":
            record["attachments"] = [dict(a.attrib) for a in element]
        else:
            record[element.tag] = element.text or ""
    return record


def _commands(fields: dict, rows: list[dict] | None) -> list[tuple[str, str]]:
    commands = [(f"set_field.{name}", _text(value)) for name, value in fields.items()]
    for number, row in enumerate(rows or []):
        commands += [(f"set_row_field.{number}.{name}", _text(value)) for name, value in row.items()]
    return commands


def _text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _unquote_key(url: str) -> str:
    return unquote(url.rstrip("/").rsplit("/", 1)[-1])
