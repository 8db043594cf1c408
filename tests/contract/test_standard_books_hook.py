"""StandardBooksHook against the Standard Books simulator over real HTTP: auth, paging, sequences,
filters, set_field writes, attachments, the vendor's error element."""

from __future__ import annotations

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.standard_books import StandardBooksHook
from include.simulators.standard_books import DEMO_SEED
from tests.contract._support import calls, override_connection

ENV = "AIRFLOW_CONN_STANDARD_BOOKS_DEFAULT"


@pytest.fixture
def sb(standard_books):
    standard_books.seed(**DEMO_SEED)
    return standard_books


def accounts(n: int) -> list[dict]:
    return [{"AccNumber": str(5000 + i), "Comment": f"Account {i}"} for i in range(n)]


def test_test_connection_reads_with_basic_auth(sb):
    ok, message = StandardBooksHook().test_connection()
    assert ok, message
    assert "company 7" in message


def test_wrong_password_fails_the_connection_test_and_is_a_system_error(sb, monkeypatch):
    override_connection(monkeypatch, ENV, password="wrong")
    ok, message = StandardBooksHook().test_connection()
    assert not ok and "Invalid username or password" in message
    with pytest.raises(ExternalSystemError):
        next(StandardBooksHook().iter_pages("AccVc"))


def test_pages_by_offset_and_limit_return_plain_dicts_and_the_sequence(standard_books):
    standard_books.seed(AccVc=accounts(5))
    pages = list(StandardBooksHook().iter_pages("AccVc", page_size=2))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [r["AccNumber"] for p in pages for r in p.records] == [str(5000 + i) for i in range(5)]
    assert pages[0].records[0]["Comment"] == "Account 0"
    assert pages[0].sequence == standard_books.state()["sequence"] == 5
    queries = [r["query"] for r in calls(standard_books, "/api/7/AccVc")]
    assert all("limit=2" in q for q in queries) and "offset=4" in queries[-1]


def test_updates_after_returns_only_later_changes(standard_books):
    standard_books.seed(AccVc=accounts(3))
    hook = StandardBooksHook()
    sequence = next(hook.iter_pages("AccVc")).sequence
    hook.update("AccVc", "5001", {"Comment": "Renamed"})
    changed = [r for p in hook.iter_pages("AccVc", updates_after=sequence) for r in p.records]
    assert [(r["AccNumber"], r["Comment"]) for r in changed] == [("5001", "Renamed")]
    assert changed[0]["sequence"] > sequence


def test_filter_find_and_get(sb):
    hook = StandardBooksHook()
    suppliers = hook.find("CUVc", VEType="1")
    assert sorted(r["Code"] for r in suppliers) == ["2001", "2002", "2003"]
    assert hook.get("CUVc", "2002")["Name"] == "Šveitsi Õlitööstus Jäätmekäitlus Žürii AS"
    assert hook.get("CUVc", "9999") is None


def test_create_with_rows_returns_the_key_then_patch_and_attach(sb):
    hook = StandardBooksHook()
    key = hook.create("EInvoiceInVc", {"SerNr": "", "SupplierCode": "2001", "InvoiceNr": "A & B <1>",
                                       "InvDate": "2024-05-02", "TotSum": "124.00", "VATSum": "24.00"},
                      [{"AccNumber": "4100", "Objects": "ADM,P100", "Sum": "100.00", "VATCode": "24"}])
    assert key == "10000001"
    record = hook.get("EInvoiceInVc", key)
    assert record["InvoiceNr"] == "A & B <1>" and record["SupplierName"] == "Ehitus & Remont OÜ"
    assert record["rows"][0]["Objects"] == "ADM,P100"
    hook.update("EInvoiceInVc", key, {"Comment": "checked"})
    assert hook.get("EInvoiceInVc", key)["Comment"] == "checked"
    pdf = b"%PDF-1.4\n\x00\xff binary\n%%EOF\n"
    assert hook.attach("EInvoiceInVc", key, "invoice.pdf", pdf) == 0
    assert [a["filename"] for a in hook.attachments("EInvoiceInVc", key)] == ["invoice.pdf"]
    assert hook.attachment("EInvoiceInVc", key, 0) == pdf


def test_the_vendor_error_element_is_a_record_rejection_with_the_description_unchanged(sb):
    hook = StandardBooksHook()
    with pytest.raises(RecordRejected) as refused:
        hook.create("EInvoiceInVc", {"SupplierCode": "9999", "InvDate": "2024-05-02"})
    assert refused.value.reason == "Supplier 9999 does not exist"
    assert refused.value.category == "20060"
    with pytest.raises(RecordRejected, match="^Account 4999 is blocked$"):
        hook.create("EInvoiceInVc", {"SupplierCode": "2001", "InvDate": "2024-05-02"},
                    [{"AccNumber": "4999", "Sum": "1.00"}])


def test_reads_are_retried_after_503s(sb):
    sb.faults(next_n={"count": 2, "status": 503})
    assert len(StandardBooksHook().find("AccVc", AccType="4")) == 5


def test_a_wrong_company_is_a_system_error_naming_it(sb, monkeypatch):
    override_connection(monkeypatch, ENV, extra={"company": "99"})
    with pytest.raises(ExternalSystemError, match="Company 99 does not exist"):
        StandardBooksHook().find("AccVc")


def test_create_reads_the_key_from_the_url_on_data(sb):
    key = StandardBooksHook().create("CUVc", {"Code": "", "Name": "Uus Tarnija OÜ", "VEType": "1"})
    [logged] = [c for c in calls(sb, "/api/7/CUVc") if c["method"] == "POST"]
    assert logged["status"] == 200 and key == "2004"  # auto-numbered after the seeded 2003
    assert StandardBooksHook().get("CUVc", key)["Name"] == "Uus Tarnija OÜ"


def test_a_create_whose_answer_was_lost_is_found_again_not_duplicated(sb):
    from erpbridge.flows.standardbooks_envoice.sync import StandardBooksIncomingInvoices

    target = StandardBooksIncomingInvoices(StandardBooksHook(), auto_create=False)
    payload = {"fields": {"SerNr": "", "SupplierCode": "2001", "InvoiceNr": "INV-9", "InvDate": "2024-05-02",
                          "TotSum": "124.00", "VATSum": "24.00", "ExternalId": "envoice-9"},
               "rows": [{"AccNumber": "4100", "Sum": "100.00", "VATCode": "24"}]}
    assert target.find("envoice-9", payload) is None
    sb.faults(malformed_rate=1)  # the record is stored, its answer arrives cut in half
    with pytest.raises(ExternalSystemError, match="the server may have acted"):
        target.post(payload)
    sb.admin("DELETE", "faults")
    found = target.find("envoice-9", payload)  # what the rerun does before posting again
    assert [r["SerNr"] for r in sb.state()["EInvoiceInVc"]] == [found]
