"""The SaldeoSMART simulator driven by raw HTTP with the published signing algorithm written out here (no code
shared with our hook): signed requests only, the command signed as sent, one request at a time per user,
envelopes, documents with VAT rows and the KSeF number, ``document/sync`` taking a document off the export list,
bank statements with their operations."""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
import time
from urllib.parse import quote_plus
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.saldeo import COMPANY, TOKEN, USER, saldeo  # noqa: F401 (fixture)

LIST = "/api/xml/2.12/document/list"
SYNC = "/api/xml/1.13/document/sync"
BANK = "/api/xml/2.18/bank_statement/list"
_counter = iter(range(10**9))


def sign(params: dict, token: str = TOKEN) -> str:
    return hashlib.md5((quote_plus("".join(f"{k}={params[k]}" for k in sorted(params))) + token).encode()).hexdigest()


def signed(params: dict, user: str = USER, token: str = TOKEN) -> dict:
    auth = {"username": user, "req_id": f"t-{time.time_ns()}-{next(_counter)}"}
    return {**auth, "req_sig": sign({**params, **auth}, token)}


def command(xml: str, mtime: float = 0) -> str:
    return base64.b64encode(gzip.compress(xml.encode(), mtime=mtime)).decode()


def get(sim, path: str, **params) -> requests.Response:
    return requests.get(sim.base + path, params={**params, **signed(params)}, timeout=10)


def post(sim, path: str, form: dict, **query) -> requests.Response:
    return requests.post(sim.base + path, params={**query, **signed({**query, **form})}, data=form, timeout=10)


def body(response) -> ET.Element:
    return ET.fromstring(response.content)


def sync_xml(*saldeo_ids, status: str = "INTRODUCED") -> str:
    items = "".join(f"<DOCUMENT_SYNC><SALDEO_ID>{i}</SALDEO_ID><ACCOUNT_DOCUMENT_NUMBER>EPP-{i}"
                    f"</ACCOUNT_DOCUMENT_NUMBER><DOCUMENT_STATUS>{status}</DOCUMENT_STATUS></DOCUMENT_SYNC>"
                    for i in saldeo_ids)
    return f"<ROOT><DOCUMENT_SYNCS>{items}</DOCUMENT_SYNCS></ROOT>"


def seed_invoice(sim, **extra) -> int:
    document = {"company_program_id": COMPANY, "number": "FV 7/2026", "model_type": "INVOICE_COST",
                "issue_date": "2026-01-15", "category": "Usługi", "ksef_number": "5252344078-20260115-AB12CD34EF56-7A",
                "contractor": {"contractor_program_id": "K-9", "short_name": "Dostawca", "vat_number": "5252344078"},
                "vat_rows": [{"rate": "23", "net": "100.00", "vat": "23.00"}, {"rate": "zw", "net": "10.00", "vat": "0.00"}],
                **extra}
    return sim.seed(documents=[document])["document_ids"][0]


def test_a_signed_read_lists_documents_with_vat_rows_and_the_ksef_number(saldeo):
    seed_invoice(saldeo)
    response = get(saldeo, LIST, company_program_id=COMPANY, policy="SALDEO")
    root = body(response)
    assert response.status_code == 200 and root.findtext("STATUS") == "OK"
    assert root.findtext("METAINF/OPERATION") == "document.list"
    document = root.find("DOCUMENTS/DOCUMENT")
    assert document.findtext("KSEF_NUMBER") == "5252344078-20260115-AB12CD34EF56-7A"
    assert [(r.findtext("RATE"), r.findtext("NETTO"), r.findtext("VAT")) for r in document.find("VAT_REGISTRIES")] \
        == [("23", "100.00", "23.00"), ("zw", "10.00", "0.00")]
    assert document.findtext("SUM") == "133.00"
    assert document.findtext("DOCUMENT_TYPE/MODEL_TYPE") == "INVOICE_COST"


@pytest.mark.parametrize("tamper", ["token", "user", "param", "unsigned"])
def test_a_wrongly_signed_request_is_refused_in_an_error_envelope(saldeo, tamper):
    params = {"company_program_id": COMPANY, "policy": "SALDEO"}
    auth = signed(params, token="wrong-token" if tamper == "token" else TOKEN,
                  user="nobody" if tamper == "user" else USER)
    if tamper == "param":
        params["policy"] = "LAST_10_DAYS"  # changed after signing
    if tamper == "unsigned":
        auth.pop("req_sig")
    response = requests.get(saldeo.base + LIST, params={**params, **auth}, timeout=10)
    root = body(response)
    assert response.status_code == 401 and root.findtext("STATUS") == "ERROR"
    assert root.findtext("ERROR_CODE") == ("UNKNOWN_USER" if tamper == "user" else "INVALID_SIGNATURE")


def test_a_req_id_is_used_once(saldeo):
    params = {"company_program_id": COMPANY, "policy": "SALDEO"}
    auth = signed(params)
    assert requests.get(saldeo.base + LIST, params={**params, **auth}, timeout=10).status_code == 200
    again = requests.get(saldeo.base + LIST, params={**params, **auth}, timeout=10)
    assert again.status_code == 409 and body(again).findtext("ERROR_CODE") == "REQ_ID_USED"


def test_a_command_re_encoded_after_signing_is_refused(saldeo):
    saldeo_id = seed_invoice(saldeo)
    xml = sync_xml(saldeo_id)
    query = {"company_program_id": COMPANY}
    signed_command = command(xml, mtime=0)
    auth = signed({**query, "command": signed_command})
    re_encoded = command(xml, mtime=1700000000)  # the same XML, gzipped again: other bytes than were signed
    assert re_encoded != signed_command
    refused = requests.post(saldeo.base + SYNC, params={**query, **auth}, data={"command": re_encoded}, timeout=10)
    assert refused.status_code == 401 and body(refused).findtext("ERROR_CODE") == "INVALID_SIGNATURE"
    assert saldeo.state()["syncs"] == []
    accepted = post(saldeo, SYNC, {"command": re_encoded}, **query)  # signed as sent: accepted
    assert body(accepted).findtext("DOCUMENT_SYNCS/DOCUMENT_SYNC/STATUS") == "OK"


def test_sync_marks_the_document_and_takes_it_off_the_export_list_with_per_item_results(saldeo):
    saldeo_id = seed_invoice(saldeo)
    response = post(saldeo, SYNC, {"command": command(sync_xml(saldeo_id, 999999))}, company_program_id=COMPANY)
    items = body(response).findall("DOCUMENT_SYNCS/DOCUMENT_SYNC")
    assert body(response).findtext("STATUS") == "OK"
    assert [(i.findtext("SALDEO_ID"), i.findtext("STATUS")) for i in items] == [(str(saldeo_id), "OK"),
                                                                                 ("999999", "NOT_VALID")]
    assert items[1].findtext("ERRORS/ERROR/PATH") == "SALDEO_ID"
    listed = body(get(saldeo, LIST, company_program_id=COMPANY, policy="SALDEO"))
    assert listed.find("DOCUMENTS/DOCUMENT") is None
    recent = body(get(saldeo, LIST, company_program_id=COMPANY, policy="LAST_10_DAYS"))
    assert recent.findtext("DOCUMENTS/DOCUMENT/ACCOUNT_DOCUMENT_NUMBER") == f"EPP-{saldeo_id}"


def test_a_broken_command_and_an_unknown_company_are_refused(saldeo):
    broken = post(saldeo, SYNC, {"command": "not-base64!"}, company_program_id=COMPANY)
    assert broken.status_code == 400 and body(broken).findtext("ERROR_CODE") == "INVALID_COMMAND"
    unknown = get(saldeo, LIST, company_program_id="NOPE", policy="SALDEO")
    assert unknown.status_code == 404 and body(unknown).findtext("ERROR_CODE") == "UNKNOWN_COMPANY"


def test_one_request_at_a_time_per_user(saldeo):
    saldeo.configure(hold_seconds=0.5)
    answers = []
    first = threading.Thread(target=lambda: answers.append(get(saldeo, LIST, company_program_id=COMPANY,
                                                               policy="SALDEO")))
    first.start()
    time.sleep(0.2)
    second = get(saldeo, LIST, company_program_id=COMPANY, policy="SALDEO")
    first.join()
    assert answers[0].status_code == 200
    assert second.status_code == 429 and body(second).findtext("ERROR_CODE") == "CONCURRENT_REQUEST"


@pytest.mark.parametrize("path,container,tag", [
    ("/api/xml/1.23/contractor/merge", "CONTRACTORS", "CONTRACTOR"),
    ("/api/xml/1.0/category/merge", "CATEGORIES", "CATEGORY"),
    ("/api/xml/1.0/register/merge", "REGISTERS", "REGISTER"),
    ("/api/xml/1.0/payment_method/merge", "PAYMENT_METHODS", "PAYMENT_METHOD"),
])
def test_a_merge_creates_then_updates_by_program_id_and_refuses_an_item_with_a_path(saldeo, path, container, tag):
    names = "<SHORT_NAME>Dostawca</SHORT_NAME><FULL_NAME>Dostawca Sp. z o.o.</FULL_NAME>" if tag == "CONTRACTOR" \
        else "<NAME>Przelew</NAME>"
    xml = (f"<ROOT><{container}><{tag}><{tag}_PROGRAM_ID>P-1</{tag}_PROGRAM_ID>{names}</{tag}>"
           f"<{tag}><{tag}_PROGRAM_ID>P-2</{tag}_PROGRAM_ID></{tag}></{container}></ROOT>")
    first = body(post(saldeo, path, {"command": command(xml)}, company_program_id=COMPANY))
    assert first.findtext("STATUS") == "OK" and first.findtext("METAINF/OPERATION").endswith(".merge")
    items = first.findall(f"{container}/{tag}")
    assert [(i.findtext(f"{tag}_PROGRAM_ID"), i.findtext("STATUS")) for i in items] == [("P-1", "CREATED"),
                                                                                       ("P-2", "NOT_VALID")]
    assert items[1].findtext("ERRORS/ERROR/PATH") in ("SHORT_NAME", "NAME")
    again = body(post(saldeo, path, {"command": command(xml)}, company_program_id=COMPANY))
    [merged, _] = again.findall(f"{container}/{tag}")
    assert (merged.findtext("STATUS"), merged.findtext(f"{tag}_ID")) == ("MERGED", items[0].findtext(f"{tag}_ID"))
    kind = path.split("/")[-2]
    assert list(saldeo.state()["registers"][kind][COMPANY]) == ["P-1"]


def test_a_contractor_with_a_malformed_vat_number_is_not_valid(saldeo):
    xml = ("<ROOT><CONTRACTORS><CONTRACTOR><CONTRACTOR_PROGRAM_ID>K-1</CONTRACTOR_PROGRAM_ID><SHORT_NAME>A</SHORT_NAME>"
           "<FULL_NAME>A SA</FULL_NAME><VAT_NUMBER>12AB</VAT_NUMBER></CONTRACTOR></CONTRACTORS></ROOT>")
    answer = body(post(saldeo, "/api/xml/1.23/contractor/merge", {"command": command(xml)}, company_program_id=COMPANY))
    assert answer.findtext("CONTRACTORS/CONTRACTOR/STATUS") == "NOT_VALID"
    assert answer.findtext("CONTRACTORS/CONTRACTOR/ERRORS/ERROR/PATH") == "VAT_NUMBER"


def test_bank_statements_are_listed_with_their_operations_as_the_open_client_reads_them(saldeo):
    """``models/bank.py`` of the open client: BANK_STATEMENTS/BANK_STATEMENT with FOLDER, the account, the period and
    BANK_OPERATIONS/BANK_OPERATION; a company without the module answers 6001."""
    saldeo.seed(companies=[{"program_id": "BEZ-BANKU", "name": "Bez modułu", "bank_module": False}],
                bank_statements=[{"company_program_id": COMPANY, "bank_statement_account_number": "PL61 1090 1014",
                                  "currency_iso4217": "PLN", "bank_statement_period_from": "2026-01-01",
                                  "bank_statement_period_to": "2026-01-31", "bank_statement_filename": "wyciag.pdf",
                                  "operations": [{"operation_date": "2026-01-05", "value": "12.34",
                                                  "debit_credit": "CREDIT", "operation_description": "Wpłata",
                                                  "is_approved": "true"}]}])
    root = body(get(saldeo, BANK, company_program_id=COMPANY))
    assert root.findtext("STATUS") == "OK" and root.findtext("METAINF/OPERATION") == "bank_statement.list"
    [statement] = root.findall("BANK_STATEMENTS/BANK_STATEMENT")
    assert (statement.findtext("FOLDER/YEAR"), statement.findtext("FOLDER/MONTH")) == ("2026", "1")
    assert statement.findtext("BANK_STATEMENT_ACCOUNT_NUMBER") == "PL61 1090 1014"
    assert statement.findtext("BANK_STATEMENT_PERIOD_TO") == "2026-01-31"
    [operation] = statement.findall("BANK_OPERATIONS/BANK_OPERATION")
    assert [(e.tag, e.text) for e in operation] == [("OPERATION_DATE", "2026-01-05"), ("OPERATION_DESCRIPTION", "Wpłata"),
                                                   ("VALUE", "12.34"), ("DEBIT_CREDIT", "CREDIT"), ("IS_APPROVED", "true")]
    refused = get(saldeo, BANK, company_program_id="BEZ-BANKU")
    assert body(refused).findtext("STATUS") == "ERROR" and body(refused).findtext("ERROR_CODE") == "6001"
    assert body(refused).findtext("ERROR_MESSAGE") == "User does not have access"


COMPANY_CREATE, COMPANY_SYNCHRONIZE = "/api/xml/2.19/company/create", "/api/xml/1.0/company/synchronize"


def company_xml(program_id: str, short_name: str = "KLIENT", username: str | None = None, send_email: str = "") -> str:
    """A company/create COMPANY as the open client's _build_company_create_xml orders it."""
    return (f"<COMPANY><COMPANY_PROGRAM_ID>{program_id}</COMPANY_PROGRAM_ID><USERNAME>{username or program_id}"
            "</USERNAME><EMAIL>biuro@example.pl</EMAIL>"
            f"<SHORT_NAME>{short_name}</SHORT_NAME><FULL_NAME>Klient Sp. z o.o.</FULL_NAME>"
            "<VAT_NUMBER>5252344078</VAT_NUMBER><CITY>Łódź</CITY><POSTCODE>90-001</POSTCODE>"
            "<STREET>ul. Łąkowa 7</STREET>"
            f"{f'<SEND_EMAIL>{send_email}</SEND_EMAIL>' if send_email else ''}</COMPANY>")


def test_company_create_creates_then_merges_by_program_id_and_refuses_in_its_words(saldeo):
    companies = (company_xml("KL-1", send_email="true") + company_xml("KL-2", short_name="Za długa nazwa")
                 + company_xml("KL-3", username="KL-1"))
    xml = f"<ROOT><COMPANIES>{companies}</COMPANIES></ROOT>"
    answer = body(post(saldeo, COMPANY_CREATE, {"command": command(xml)}))
    assert answer.findtext("STATUS") == "OK" and answer.findtext("METAINF/OPERATION") == "company.create"
    created, too_long, taken = answer.findall("COMPANIES/COMPANY")
    assert (created.findtext("COMPANY_PROGRAM_ID"), created.findtext("STATUS")) == ("KL-1", "CREATED")
    assert created.find("PASSWORD") is None  # sent by e-mail
    assert [(too_long.findtext("STATUS"), e.findtext("PATH"), e.findtext("MESSAGE"))
            for e in too_long.findall("ERRORS/ERROR")] == [
        ("NOT_VALID", "SHORT_NAME", "Nazwa skrócona może mieć najwyżej 8 znaków")]
    assert taken.findtext("ERRORS/ERROR/PATH") == "USERNAME"
    again = body(post(saldeo, COMPANY_CREATE, {"command": command(f"<ROOT><COMPANIES>{company_xml('KL-1')}"
                                                                      "</COMPANIES></ROOT>")}))
    assert (again.findtext("COMPANIES/COMPANY/STATUS"), again.findtext("COMPANIES/COMPANY/COMPANY_ID")) == (
        "MERGED", created.findtext("COMPANY_ID"))
    assert again.findtext("COMPANIES/COMPANY/PASSWORD")  # no e-mail asked: the password in the answer
    listed = body(get(saldeo, "/api/xml/1.0/company/list")).findall("COMPANIES/COMPANY")
    assert sorted(c.findtext("COMPANY_PROGRAM_ID") for c in listed) == [COMPANY, "KL-1"]


def test_company_synchronize_links_a_hub_company_and_refuses_a_taken_program_id(saldeo):
    saldeo.seed(companies=[{"name": "Bez programu", "vat_number": "1132853869"}])
    [unlinked] = [c for c in body(get(saldeo, "/api/xml/1.0/company/list")).findall("COMPANIES/COMPANY")
                  if c.find("COMPANY_PROGRAM_ID") is None]
    company_id = unlinked.findtext("COMPANY_ID")
    xml = ("<ROOT><COMPANIES>"
           f"<COMPANY><COMPANY_ID>{company_id}</COMPANY_ID><COMPANY_PROGRAM_ID>{COMPANY}</COMPANY_PROGRAM_ID></COMPANY>"
           f"<COMPANY><COMPANY_ID>{company_id}</COMPANY_ID><COMPANY_PROGRAM_ID>KL-9</COMPANY_PROGRAM_ID></COMPANY>"
           "<COMPANY><COMPANY_ID>999999</COMPANY_ID><COMPANY_PROGRAM_ID>KL-8</COMPANY_PROGRAM_ID></COMPANY>"
           "</COMPANIES></ROOT>")
    answer = body(post(saldeo, COMPANY_SYNCHRONIZE, {"command": command(xml)}))
    assert [(c.findtext("COMPANY_PROGRAM_ID"), c.findtext("STATUS"), c.findtext("ERRORS/ERROR/PATH"))
            for c in answer.findall("COMPANIES/COMPANY")] == [
        (COMPANY, "CONFLICT", "COMPANY_PROGRAM_ID"), ("KL-9", "MERGED", None), ("KL-8", "NOT_VALID", "COMPANY_ID")]
    state = saldeo.state()
    assert state["unlinked"] == [] and state["companies"]["KL-9"]["company_id"] == int(company_id)


def test_a_register_named_like_another_one_of_the_company_is_not_valid(saldeo):
    saldeo.seed(registers=[{"kind": "register", "company_program_id": COMPANY, "program_id": "R-1", "NAME": "ZAKUP"}])
    xml = ("<ROOT><REGISTERS><REGISTER><REGISTER_PROGRAM_ID>ZAKUP</REGISTER_PROGRAM_ID><NAME>ZAKUP</NAME></REGISTER>"
           "<REGISTER><REGISTER_PROGRAM_ID>R-1</REGISTER_PROGRAM_ID><NAME>ZAKUP</NAME></REGISTER></REGISTERS></ROOT>")
    answer = body(post(saldeo, "/api/xml/1.0/register/merge", {"command": command(xml)}, company_program_id=COMPANY))
    assert [(r.findtext("STATUS"), r.findtext("ERRORS/ERROR/PATH")) for r in answer.findall("REGISTERS/REGISTER")] == [
        ("NOT_VALID", "NAME"), ("MERGED", None)]
