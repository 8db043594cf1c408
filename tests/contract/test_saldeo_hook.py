"""SaldeoHook against the SaldeoSMART simulator over real HTTP: every call signed with a fresh req_id (the
token never on the wire), documents as dicts, document/sync with per-item results, refusals as our error
kinds, a busy user retried."""

from __future__ import annotations

import pytest

from erpbridge.errors import ExternalSystemError
from erpbridge.hooks.saldeo import SaldeoHook
from tests.contract._support import override_connection
from tests.saldeo import COMPANY, TOKEN, saldeo  # noqa: F401 (fixture)

ENV = "AIRFLOW_CONN_SALDEO_DEFAULT"


def seed(sim, n: int = 2) -> list[int]:
    return sim.seed(documents=[{
        "company_program_id": COMPANY, "number": f"FV {i}/2026", "model_type": "INVOICE_COST", "issue_date": "2026-01-10",
        "category": "Usługi", "ksef_number": f"5252344078-20260110-{i:012X}-1A",
        "contractor": {"contractor_program_id": f"K-{i}", "short_name": "Dostawca & Syn", "vat_number": "5252344078"},
        "vat_rows": [{"rate": "23", "net": "100.00", "vat": "23.00"}]} for i in range(1, n + 1)])["document_ids"]


def test_test_connection_signs_and_keeps_the_token_off_the_wire(saldeo, monkeypatch):
    ok, message = SaldeoHook().test_connection()
    assert ok and "1 company" in message, message
    requests_seen = saldeo.requests()
    assert requests_seen and all(TOKEN not in r["query"] for r in requests_seen)
    override_connection(monkeypatch, ENV, password="wrong")
    ok, message = SaldeoHook(saldeo_conn_id="saldeo_default").test_connection()
    assert not ok and "INVALID_SIGNATURE" in message
    with pytest.raises(ExternalSystemError) as failed:
        SaldeoHook().documents_to_export(COMPANY)
    assert failed.value.category == "AuthenticationRequired"


def test_documents_to_export_and_marked_once_exported(saldeo):
    ids = seed(saldeo)
    hook = SaldeoHook()
    documents = hook.documents_to_export(COMPANY)
    assert [d["document_id"] for d in documents] == [str(i) for i in ids]
    first = documents[0]
    assert first["contractor"]["short_name"] == "Dostawca & Syn"
    assert first["vat_registries"] == [{"rate": "23", "netto": "100.00", "vat": "23.00"}]
    assert first["ksef_number"].startswith("5252344078-20260110-")
    results = hook.mark_exported(COMPANY, [{"saldeo_id": str(ids[0]), "account_document_number": "epp-1"},
                                           {"saldeo_id": "424242", "account_document_number": "epp-1"}])
    assert results == {str(ids[0]): None, "424242": "SALDEO_ID: document not found"}
    assert [d["document_id"] for d in hook.documents_to_export(COMPANY)] == [str(ids[1])]
    req_ids = [r["query"].split("req_id=")[1].split("&")[0] for r in saldeo.requests()]
    assert len(req_ids) == len(set(req_ids)) == 3


def test_a_busy_user_is_retried_not_failed(saldeo):
    seed(saldeo, 1)
    saldeo.faults(respond={"path": "/api/xml/2.12/document/list", "status": 429, "count": 2,
                           "body": "<RESPONSE><STATUS>ERROR</STATUS><ERROR_CODE>CONCURRENT_REQUEST</ERROR_CODE>"
                                   "<ERROR_MESSAGE>busy</ERROR_MESSAGE></RESPONSE>"})
    assert len(SaldeoHook().documents_to_export(COMPANY)) == 1
    assert [r["status"] for r in saldeo.requests()] == [429, 429, 200]


def test_an_unknown_company_is_a_system_error_naming_the_code(saldeo):
    with pytest.raises(ExternalSystemError) as failed:
        SaldeoHook().documents_to_export("NOPE")
    assert failed.value.category == "UNKNOWN_COMPANY" and "NOPE" in str(failed.value)


def test_merge_sends_the_items_and_reads_the_per_item_results(saldeo):
    hook = SaldeoHook()
    items = [{"CONTRACTOR_PROGRAM_ID": "K-1", "SHORT_NAME": "Dostawca & Syn", "FULL_NAME": "Dostawca & Syn s.c.",
              "SUPPLIER": "true", "VAT_NUMBER": "5252344078", "CITY": None},
             {"CONTRACTOR_PROGRAM_ID": "K-2", "SHORT_NAME": "", "FULL_NAME": "Bez skrótu"}]
    results = hook.merge("contractor", COMPANY, items)
    hub_id = saldeo.state()["registers"]["contractor"][COMPANY]["K-1"]["id"]
    assert results == {"K-1": (str(hub_id), None), "K-2": (None, "SHORT_NAME: Pole jest wymagane")}
    assert saldeo.state()["registers"]["contractor"][COMPANY]["K-1"]["SHORT_NAME"] == "Dostawca & Syn"
    assert "CITY" not in saldeo.state()["merges"][0]  # a None value is left out, not sent empty
    assert hook.merge("category", COMPANY, [{"CATEGORY_PROGRAM_ID": "Paliwo", "NAME": "Paliwo"}]) == {
        "Paliwo": (str(saldeo.state()["registers"]["category"][COMPANY]["Paliwo"]["id"]), None)}


def test_bank_statements_are_read_with_their_operations_as_a_list(saldeo):
    saldeo.seed(bank_statements=[{"company_program_id": COMPANY, "bank_statement_account_number": "PL61 1090 1014",
                                  "bank_statement_period_from": "2026-01-01", "bank_statement_period_to": "2026-01-31",
                                  "operations": [{"value": "1.00", "debit_credit": "DEBIT"},
                                                 {"value": "2.00", "debit_credit": "CREDIT"}]}])
    [statement] = SaldeoHook().bank_statements(COMPANY)
    assert statement["bank_statement_account_number"] == "PL61 1090 1014"
    assert statement["folder"] == {"year": "2026", "month": "1"}
    assert statement["bank_operations"] == [{"value": "1.00", "debit_credit": "DEBIT"},
                                            {"value": "2.00", "debit_credit": "CREDIT"}]
    with pytest.raises(ExternalSystemError) as failed:
        SaldeoHook().bank_statements("NOPE")
    assert failed.value.category == "UNKNOWN_COMPANY"


def test_companies_are_listed_created_and_synchronised_with_per_item_results(saldeo):
    saldeo.seed(companies=[{"name": "Bez programu", "vat_number": "1132853869"}])
    hook = SaldeoHook()
    listed = {c["full_name"]: c for c in hook.companies()}
    assert listed["Klient Biura Sp. z o.o."]["company_program_id"] == COMPANY
    assert "company_program_id" not in listed["Bez programu"] and listed["Bez programu"]["company_id"]
    company = {"COMPANY_PROGRAM_ID": "KL-1", "USERNAME": "KL-1", "EMAIL": "biuro@example.pl", "SHORT_NAME": "KL",
               "FULL_NAME": "Klient 1 SA", "VAT_NUMBER": "5252344078", "CITY": "Łódź", "POSTCODE": "90-001",
               "STREET": "ul. Łąkowa 7"}
    created = hook.create_companies([company, {**company, "COMPANY_PROGRAM_ID": "KL-2", "USERNAME": "KL-2",
                                               "SHORT_NAME": "Za długa nazwa"}])
    hub_id = saldeo.state()["companies"]["KL-1"]["company_id"]
    assert created == {"KL-1": (str(hub_id), None),
                       "KL-2": (None, "SHORT_NAME: Nazwa skrócona może mieć najwyżej 8 znaków")}
    linked = hook.synchronize_companies([{"COMPANY_ID": listed["Bez programu"]["company_id"],
                                          "COMPANY_PROGRAM_ID": "KL-3"}])
    assert linked == {"KL-3": (listed["Bez programu"]["company_id"], None)}
    assert [w["operation"] for w in saldeo.state()["company_writes"]] == ["create", "synchronize"]
