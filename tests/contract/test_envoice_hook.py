"""EnvoiceHook against the Envoice simulator over real HTTP: Bearer key, CRUD by code, paging,
purchase documents, PDF bytes and the transfer."""

from __future__ import annotations

import base64

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.envoice import PER_PAGE, EnvoiceHook
from include.simulators.envoice import DEMO_SEED, minimal_pdf
from tests.contract._support import override_connection

ENV = "AIRFLOW_CONN_ENVOICE_DEFAULT"


def test_test_connection_uses_the_api_key(envoice, monkeypatch):
    ok, message = EnvoiceHook().test_connection()
    assert ok, message
    override_connection(monkeypatch, ENV, password="wrong")
    ok, message = EnvoiceHook().test_connection()
    assert not ok and "valid API key" in message
    with pytest.raises(ExternalSystemError):
        EnvoiceHook().list_all("accounts")


def test_crud_by_code(envoice):
    hook = EnvoiceHook()
    hook.create("dimension-groups", {"code": "DEP", "name": "Departments", "active": True})
    hook.create("dimensions", {"code": "ADM", "group_code": "DEP", "name": "Admin", "active": True})
    hook.update("dimensions", "ADM", {"code": "ADM", "group_code": "DEP", "name": "Administration", "active": False})
    assert hook.get("dimensions", "ADM")["name"] == "Administration"
    assert hook.get("dimensions", "NOPE") is None
    with pytest.raises(RecordRejected) as duplicate:
        hook.create("dimension-groups", {"code": "DEP", "name": "Again"})
    assert duplicate.value.category == "duplicate"
    with pytest.raises(RecordRejected, match="still has dimensions"):
        hook.delete("dimension-groups", "DEP")
    hook.delete("dimensions", "ADM")
    hook.delete("dimension-groups", "DEP")
    assert hook.list_all("dimension-groups") == []


def test_lists_are_read_page_by_page(envoice):
    count = PER_PAGE + 5
    envoice.seed(accounts=[{"code": f"{4000 + i}", "name": f"A{i}"} for i in range(count)])
    assert len(EnvoiceHook().list_all("accounts")) == count
    pages = [r["query"] for r in envoice.requests() if r["path"] == "/api/v1/accounts"]
    assert len(pages) == 2 and "page=2" in pages[1]


def test_published_documents_pdf_and_transfer(envoice):
    envoice.seed(**DEMO_SEED)
    hook = EnvoiceHook()
    published = [d for page in hook.iter_documents() for d in page]
    assert sorted(d["number"] for d in published) == ["ER-2024-117", "R-5531", "SÕJ-0042"]
    pdf, content_type = hook.pdf("1001")
    assert content_type == "application/pdf"
    assert pdf == base64.b64decode(DEMO_SEED["documents"][0]["pdf_base64"])
    hook.transfer("1001", "10000001")
    hook.transfer("1001", "10000001")  # repeating it is harmless
    entry = next(e for e in hook.archive() if e["id"] == 1001)
    assert entry["transfer_status"] == "transferred" and entry["transfer"]["erp_id"] == "10000001"
    with pytest.raises(RecordRejected, match="only published"):
        hook.transfer("1003", "1")


def test_a_document_without_pdf_has_none(envoice):
    envoice.seed(documents=[{"id": 7, "number": "X", "supplier": {"code": "1", "name": "S"}}])
    assert EnvoiceHook().pdf("7") is None
    assert minimal_pdf("x").startswith(b"%PDF-")


def test_reads_are_retried_after_429(envoice):
    envoice.faults(next_n={"count": 2, "status": 429})
    assert EnvoiceHook().list_all("contacts") == []
