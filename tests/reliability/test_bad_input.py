"""Bad input corpus (issue 7): every kind of bad input the flows meet, each its own test, in one place.

Most kinds run through the real path in one batch per flow: the DAG runs once against the simulators with
every bad record *and* good records in the same source batch (module fixtures ``registers``, ``sales_invoices``, ``documents``), and each test
then asserts for its record: refused with a reason naming the record (or, for input that is odd but valid,
carried over unchanged), the good records of the same batch arrived, and nothing is lost: the refused
record is in the quarantine *and* in the transfer log (action ``rejected``).

Kinds run here (real flow, simulators over HTTP, real ledger), 24 kinds in 28 tests:
  flow A registers (Severa customers -> Netvisor): 1 a negative number (Severa's customer numbers are unique
  integers, so leading zeros, letters, non-Latin digits and '3005' / '3005 ' twins cannot come from it);
  4 over-long code; 5 missing (blank) name; 6 over-long name; 7 control characters
  (BEL, NUL) in a name; 8 a three-letter country code; 9 XML special characters in a name (carried
  intact); 10 non-Latin scripts and emoji (carried intact); 11 an empty register (products).
  Severa -> Netvisor sales invoices: 12 rows that do not add up to the total; 13 a foreign currency
  without a rate; 14 a negative total that is not a credit note; 15 a missing date; 16 a date out of
  range (2026-02-30, refused by Netvisor, quarantined under the invoice number); 17 float-trap amounts
  (3 x 0.1 + 0.2, priced exactly).
  flow B purchase documents (Envoice -> Standard Books): 18 an oversize PDF; 19 control characters in
  the invoice number; 20 a missing document date; 21 no coded lines; 22 a line without an account;
  23 XML special characters, non-Latin and emoji in the text (carried intact); 24 duplicate numbers in
  the source (one supplier invoice published twice: one record, both logged).
  Unsafe XML in a live vendor answer (the simulators' `respond` fault): 25 XXE (an external entity naming a
  local file holding a marker) and 26 billion laughs, served by Netvisor to the registers DAG (the run fails
  naming the answer as unsafe XML, the marker appears nowhere, memory stays flat, the next run recovers) and
  by Standard Books and Horizon to their hooks.

Issue 14 (security and slips of the finger), here: 27 TLS ``verify`` given as "", 0, "0", "no", "off",
  [], {} or a missing CA file (the connection test fails naming the value; the key never reaches a
  self-signed server; only false / "false" turns checks off, with a warning each run); 28 an AD
  ``tls_server_name`` wildcard; 29 settings out of bounds (watermark_overlap_minutes -100000 / 10^9,
  max_hours_per_day -1 / NaN / inf, relative or no inbox_roots, max_removal_share 2).
Issue 14, covered elsewhere: an inbox outside the roots, symbolic links to /etc/passwd and outside files, a
  mistyped or empty inbox that would zero loaded hours, markdown links / images / HTML in a CSV cell, hours
  NaN / Infinity / 1e9999 / 7.555, a NUL character and a 1 MB employee code in a CSV, a file that is not
  UTF-8 -> tests/flows/test_horizon_payroll_time_import.py; Host-header SSRF, per-DAG rights, date_to
  9999-12-31, NUL in a filter or form field, hours NaN / Infinity / 1e9999 / 8.001 / 7.555 and a 1 MB
  employee code in a review edit, an unreachable or non-JSON Airflow API -> tests/control_room/test_attacks.py.

Kinds already covered elsewhere (counted here, not repeated), 32 more (59 in all):
  float traps 0.1 + 0.2, '1e3', '1 234,50', NBSP thousands -> tests/test_mappings.py::test_amounts_are_exact;
  'NaN', 'Infinity', 'abc', True as amounts -> tests/test_mappings.py::test_amounts_that_are_not_amounts_are_refused;
  external DTD, unclosed XML, non-UTF-8 bytes in XML responses (and XXE, billion laughs at parser level) ->
      tests/contract/test_netvisor_hook.py::test_xml_parse_refuses_dtds_entities_and_garbage;
  half (malformed) bodies from the vendor -> tests/contract/test_netvisor_hook.py::
      test_a_persistently_malformed_body_raises_a_system_error, and every fault soak (malformed_rate);
  non-PDF attachment, missing PDF, unknown supplier / account / object, totals that do not add up ->
      tests/flows/test_standardbooks_envoice.py::test_refusals_wait_in_quarantine_with_a_clear_reason_and_move_once_when_fixed;
  customer unknown in Netvisor, row product unknown to Netvisor, an amount in another currency ->
      tests/flows/test_severa_netvisor_sales_invoices.py::test_ready_invoices_become_netvisor_sales_invoices_with_exact_amounts_and_dimensions;
  LDAP filter injection ('*', ')(employeeID=*', "O'Brien (QA)*") and DN injection ('Jean+Luc, \\Dev=Ops',
      'Smith;<x>#"') in person names, against a real Samba AD ->
      tests/identity/test_horizon_ad_accounts.py::test_same_names_special_characters_and_adoption;
  names without letters -> tests/test_horizon_ad_mapping.py::test_names_without_letters_are_rejected;
  huge registers -> tests/reliability/test_fault_soak.py (300 customers, 3000 in `make soak`) and bench P4;
  wrong credentials -> tests/contract/test_netvisor_hook.py::test_a_wrong_key_is_refused_as_a_system_error,
      test_severa_hook.py::test_a_wrong_secret_is_a_system_error_naming_the_token_refusal,
      test_standard_books_hook.py::test_wrong_password_fails_the_connection_test_and_is_a_system_error,
      test_visma_horizon_hook.py::test_wrong_credentials_fail_the_test_button_without_showing_the_secret,
      test_envoice_hook.py::test_test_connection_uses_the_api_key; at flow level in the secrets tests;
  expired and revoked tokens -> tests/contract/test_severa_hook.py::test_an_expired_token_is_replaced_before_use,
      ::test_a_revoked_token_mid_run_is_fetched_again_once, ::test_a_401_that_persists_after_a_new_token_is_a_system_error.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest

from include.simulators.envoice import minimal_pdf
from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.conftest import SECRETS, Sim
from tests.flows.dagrun import run_dag, task_states

REGISTERS, SALES, DOCUMENTS = ("severa_netvisor_registers", "severa_netvisor_sales_invoices",
                               "envoice_standardbooks_purchase_documents")

# --- the source batches: one bad record per kind, next to good ones -------------------------------------
CUSTOMERS = {  # kind -> Severa customer
    "code_negative": {"number": -42, "name": "Negative Oy"},
    "code_over_long": {"number": int("1" * 17), "name": "Long Code Oy"},
    "name_missing": {"number": 3001, "name": "   "},  # Severa requires a name; blanks pass its check
    "name_over_long": {"number": 3002, "name": "N" * 251},
    "name_control_characters": {"number": 3003, "name": "Bell\x07 Oy\x00"},
    "country_code_three_letters": {"number": 3004, "name": "Maa Oy", "headquarterAddress": {"country": "FIN"}},
}
VALID_ODD_CUSTOMERS = {
    "xml_special_characters": {"number": 3101, "name": "<Oy> & \"Ab\" 'Co' ]]> <!-- x --> &amp;"},
    "non_latin_and_emoji": {"number": 3102, "name": "Ромашка 株式会社 ΑΒΓ مرحبا 🚀👩‍💻"},
}
INVOICE_NUMBERS = {  # kind -> Severa invoice number; the invoices themselves are built in run_sales_invoices
    "rows_do_not_add_up_to_the_total": 8101, "foreign_currency_without_rate": 8102,
    "negative_total_not_a_credit_note": 8103, "invoice_date_missing": 8104, "invoice_date_out_of_range": 8105,
}
DOCUMENT_NUMBERS = {  # kind -> Envoice document number
    "oversize_pdf": "OVERSIZE-1", "control_characters_in_invoice_number": "CTRL\x07-1",
    "document_date_missing": "NODATE-1", "no_coded_lines": "NOLINES-1",
    "line_without_account": "NOACCOUNT-1",
}
GOOD_CUSTOMERS = [{"number": 4000 + i, "name": f"Good customer {i}"} for i in range(5)]


@dataclass
class Outcome:
    """What one flow run left: its state, the refusals by source key, the transfer log and the target."""
    state: str = ""
    quarantine: dict[str, str] = field(default_factory=dict)  # source id and source key -> reason
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (source id, source key, action)
    target: dict = field(default_factory=dict)


def _ledger_db(postgres, patch) -> object:
    import psycopg

    admin_uri = postgres.get_uri()
    name = f"ledger_bad_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    patch.setenv("AIRFLOW_CONN_ERPBRIDGE_LEDGER", json.dumps(
        {"conn_type": "postgres", "host": admin_uri.split("host=", 1)[1], "login": "postgres", "schema": name}))
    return psycopg.connect(postgres.get_uri(name), autocommit=True)


def _outcome(ledger, flow: str, run, target: dict) -> Outcome:
    return Outcome(
        state=str(run.state) + ("" if run.state == "success" else f" {task_states(run)}"),
        quarantine={k: reason for sid, key, reason in ledger.execute(
            "SELECT source_id, source_key, reason FROM quarantine").fetchall() for k in (sid, key) if k},
        log=[tuple(map(str, r)) for r in ledger.execute(
            "SELECT source_id, source_key, action FROM transfer_log ORDER BY id").fetchall()],
        target=target)


def guid(kind: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"erpbridge-bad-input/{kind}"))


def _sim(simulators, name: str, patch, conn: dict) -> Sim:
    sim = Sim(simulators[name])
    sim.reset()
    if name in SECRETS:
        sim.configure(**SECRETS[name])
    patch.setenv(f"AIRFLOW_CONN_{conn.pop('_id').upper()}", json.dumps(conn))
    return sim


def run_registers(simulators, postgres) -> Outcome:
    with pytest.MonkeyPatch.context() as patch:
        ledger = _ledger_db(postgres, patch)
        nv, sv = SECRETS["netvisor"], SECRETS["severa"]
        netvisor = _sim(simulators, "netvisor", patch, {
            "_id": "netvisor_default", "conn_type": "netvisor", "host": simulators["netvisor"],
            "login": nv["customer_id"], "password": nv["customer_key"],
            "extra": {"partner_id": nv["partner_id"], "partner_key": nv["partner_key"],
                      "organisation_id": nv["organisation_id"], "backoff": 0.05, "timeout": 10}})
        severa = _sim(simulators, "severa", patch, {
            "_id": "severa_default", "conn_type": "severa", "host": f"{simulators['severa']}/rest-api",
            "login": sv["client_id"], "password": sv["client_secret"],
            "extra": {"backoff": 0.05, "timeout": 10, "rate_per_second": 0}})
        severa.configure(rate_limit_per_second=1000)
        customers = [{**c, "guid": guid(k)} for k, c in (CUSTOMERS | VALID_ODD_CUSTOMERS).items()]
        severa.seed(customers=customers + [{**c, "guid": guid(c["number"])} for c in GOOD_CUSTOMERS],
                    businessunits=[{"name": "Helsinki", "code": "HEL"}])  # products: an empty register
        run = run_dag(REGISTERS)
        outcome = _outcome(ledger, REGISTERS, run, netvisor.state())
        outcome.target["writes"] = [(w["method"], w["path"]) for w in netvisor.writes()]
        ledger.close()
    return outcome


@pytest.fixture(scope="module")
def registers(simulators, postgres, airflow_db) -> Outcome:
    return run_registers(simulators, postgres)


def run_sales_invoices(simulators, postgres) -> Outcome:
    from tests.flows.test_severa_netvisor_sales_invoices import NETVISOR_SEED, invoice, row, severa_seed

    with pytest.MonkeyPatch.context() as patch:
        ledger = _ledger_db(postgres, patch)
        nv, sv = SECRETS["netvisor"], SECRETS["severa"]
        netvisor = _sim(simulators, "netvisor", patch, {
            "_id": "netvisor_default", "conn_type": "netvisor", "host": simulators["netvisor"],
            "login": nv["customer_id"], "password": nv["customer_key"],
            "extra": {"partner_id": nv["partner_id"], "partner_key": nv["partner_key"],
                      "organisation_id": nv["organisation_id"], "backoff": 0.05, "timeout": 10}})
        severa = _sim(simulators, "severa", patch, {
            "_id": "severa_default", "conn_type": "severa", "host": f"{simulators['severa']}/rest-api",
            "login": sv["client_id"], "password": sv["client_secret"],
            "extra": {"backoff": 0.05, "timeout": 10, "rate_per_second": 0}})
        severa.configure(rate_limit_per_second=1000)
        netvisor.seed(**NETVISOR_SEED)
        n = INVOICE_NUMBERS
        invoices = [
            invoice(n["rows_do_not_add_up_to_the_total"], totalExcludingTax={"amount": 999.0, "currencyCode": "EUR"}),
            invoice(n["foreign_currency_without_rate"], currency="USD", currencyRate=0),
            invoice(n["negative_total_not_a_credit_note"], rows=[row("CONS-H", -2, 120.0)]),
            invoice(n["invoice_date_missing"], date=None),
            invoice(n["invoice_date_out_of_range"], date="2026-02-30"),
            invoice(8201, rows=[row("CONS-H", 3, 0.1), row("CONS-H", 1, 0.2)]),  # float traps, priced exactly
            invoice(8001), invoice(8002, customer="1002"),
        ]
        severa.seed(**severa_seed(invoices))
        run = run_dag(SALES)
        outcome = _outcome(ledger, SALES, run, {
            "invoices": {i["number"]: i for i in netvisor.state()["sales_invoices"]},
            "severa": {str(i["number"]): i["status"]["name"] for i in severa.state()["invoices"]}})
        ledger.close()
    return outcome


def oversize_pdf(number: str) -> bytes:
    """A PDF with a valid header and trailer, just over the size limit (the limit is lowered for the test)."""
    pdf = minimal_pdf(number)
    return pdf.replace(b"\n", b"\n%" + b"x" * (OVERSIZE_LIMIT + 10) + b"\n", 1)


OVERSIZE_LIMIT = 64 * 1024  # the real limit (MAX_PDF_BYTES, 20 MB) is lowered to keep the test fast


def run_documents(simulators, postgres) -> Outcome:
    from erpbridge.flows.standardbooks_envoice import sync as flow_b
    from tests.flows.test_standardbooks_envoice import doc

    with pytest.MonkeyPatch.context() as patch:
        ledger = _ledger_db(postgres, patch)
        sbc = SECRETS["standard_books"]
        standard_books = _sim(simulators, "standard_books", patch, {
            "_id": "standard_books_default", "conn_type": "standard_books", "host": simulators["standard_books"],
            "login": sbc["username"], "password": sbc["password"],
            "extra": {"company": sbc["company"], "backoff": 0.05, "timeout": 10}})
        envoice = _sim(simulators, "envoice", patch, {
            "_id": "envoice_default", "conn_type": "envoice", "host": simulators["envoice"],
            "password": SECRETS["envoice"]["api_key"], "extra": {"backoff": 0.05, "timeout": 10, "rate_per_second": 0}})
        patch.setattr(flow_b, "MAX_PDF_BYTES", OVERSIZE_LIMIT)
        standard_books.seed(**SB_DEMO)
        d = DOCUMENT_NUMBERS
        odd_text = "Töö <&> \"x\" 'y' ]]> 日本語 Ελληνικά 🚀"
        documents = [
            doc(9101, d["oversize_pdf"], pdf_base64=base64.b64encode(oversize_pdf(d["oversize_pdf"])).decode()),
            doc(9102, d["control_characters_in_invoice_number"]),
            doc(9103, d["document_date_missing"], issue_date=None),
            doc(9108, "GOOD-1"),  # the same supplier invoice published twice in Envoice
            doc(9105, d["no_coded_lines"], lines=[]),
            doc(9106, d["line_without_account"], account=""),
            doc(9107, "ODD-TEXT-1"),
            doc(9001, "GOOD-1"), doc(9002, "GOOD-2"),
        ]
        documents[6]["lines"][0]["description"] = odd_text
        envoice.seed(documents=documents)
        run = run_dag(DOCUMENTS)
        outcome = _outcome(ledger, DOCUMENTS, run, {
            "incoming": {r["InvoiceNr"]: r for r in standard_books.state()["EInvoiceInVc"]},
            "incoming_count": Counter(r["InvoiceNr"] for r in standard_books.state()["EInvoiceInVc"]),
            "envoice": {d["number"]: d["status"] for d in envoice.state()["documents"]}, "odd_text": odd_text})
        ledger.close()
    return outcome


@pytest.fixture(scope="module")
def sales_invoices(simulators, postgres, airflow_db) -> Outcome:
    return run_sales_invoices(simulators, postgres)


@pytest.fixture(scope="module")
def documents(simulators, postgres, airflow_db) -> Outcome:
    return run_documents(simulators, postgres)


# --- flow A registers: Severa customers -> Netvisor ------------------------------------------------

CUSTOMER_REASONS = {
    "code_negative": "customer code '-42' is not numeric",
    "code_over_long": f"customer code '{'1' * 17}' is longer than 16 digits",
    "name_missing": "customer 3001: name is missing",
    "name_over_long": "customer 3002: name is 251 characters long, at most 250",
    "name_control_characters": "customer 3003: name contains control characters",
    "country_code_three_letters": "customer 3004: country code is 3 characters long",
}


def assert_good_customers_arrived(registers: Outcome) -> None:
    held = {c["code"]: c["name"] for c in registers.target["customers"]}
    assert {str(c["number"]): held.get(str(c["number"])) for c in GOOD_CUSTOMERS} == {
        str(c["number"]): c["name"] for c in GOOD_CUSTOMERS}


@pytest.mark.parametrize("kind", sorted(CUSTOMER_REASONS))
def test_bad_customer_is_refused_naming_it_and_the_batch_moves_on(registers, kind):
    customer = CUSTOMERS[kind]
    assert registers.state == "success"
    reason = registers.quarantine.get(guid(kind))
    assert reason is not None, f"{kind}: not in the quarantine"
    assert CUSTOMER_REASONS[kind] in reason
    assert (guid(kind), str(customer["number"]), "rejected") in registers.log, f"{kind}: not in the transfer log"
    assert str(customer["number"]) not in {c["code"] for c in registers.target["customers"]}
    assert_good_customers_arrived(registers)


@pytest.mark.parametrize("kind", sorted(VALID_ODD_CUSTOMERS))
def test_odd_but_valid_customer_name_arrives_unchanged(registers, kind):
    customer = VALID_ODD_CUSTOMERS[kind]
    held = {c["code"]: c["name"] for c in registers.target["customers"]}
    assert held.get(str(customer["number"])) == customer["name"]
    assert guid(kind) not in registers.quarantine
    assert (guid(kind), str(customer["number"]), "created") in registers.log
    assert_good_customers_arrived(registers)


def test_an_empty_register_writes_nothing_and_refuses_nothing(registers):
    assert registers.state == "success"
    assert registers.target["products"] == []
    assert not [w for w in registers.target["writes"] if "product" in w[1]]
    assert len(registers.target["customers"]) == len(GOOD_CUSTOMERS) + len(VALID_ODD_CUSTOMERS)


# --- Severa -> Netvisor sales invoices ------------------------------------------------------------

INVOICE_REASONS = {
    "rows_do_not_add_up_to_the_total": "invoice 8101: rows add up to 240.00 but the invoice total excluding tax is 999",
    "foreign_currency_without_rate": "invoice 8102: is in USD but has no exchange rate",
    "negative_total_not_a_credit_note": "invoice 8103: has a negative total but is not a credit note",
    "invoice_date_missing": "invoice 8104: date is missing",
    "invoice_date_out_of_range": "not an ANSI date (YYYY-MM-DD): 2026-02-30",  # Netvisor's words; keyed 8105
}


@pytest.mark.parametrize("kind", sorted(INVOICE_REASONS))
def test_bad_sales_invoice_is_refused_and_stays_ready_in_severa(sales_invoices, kind):
    number = str(INVOICE_NUMBERS[kind])
    assert sales_invoices.state == "success"
    assert INVOICE_REASONS[kind] in sales_invoices.quarantine.get(number, ""), sales_invoices.quarantine
    assert any(key == number and action == "rejected" for _, key, action in sales_invoices.log)
    assert number not in sales_invoices.target["invoices"]
    assert sales_invoices.target["severa"][number] == "Ready to be sent to Netvisor"  # waits, not lost
    assert {n: sales_invoices.target["severa"][n] for n in ("8001", "8002")} == {
        "8001": "Invoice sent to Netvisor", "8002": "Invoice sent to Netvisor"}
    assert sorted(sales_invoices.target["invoices"]) == ["8001", "8002", "8201"]


def test_float_trap_amounts_are_priced_exactly(sales_invoices):
    moved = sales_invoices.target["invoices"]["8201"]  # 3 x 0.1 + 1 x 0.2: 0.5000000000000001 in floats
    assert [(line["quantity"], line["unit_price"]) for line in moved["lines"]] == [("3", "0.1"), ("1", "0.2")]
    assert moved["amount"] == "0.63"  # 0.50 net x 1.255 = 0.6275, rounded half up


# --- flow B purchase documents: Envoice -> Standard Books ----------------------------------------

DOCUMENT_REASONS = {
    "oversize_pdf": "invoice OVERSIZE-1: the PDF in Envoice is 0.1 MB, more than the 0.0625 MB",
    "control_characters_in_invoice_number": "invoice CTRL\x07-1: invoice number contains control characters",
    "document_date_missing": "invoice NODATE-1: the document date is missing",
    "no_coded_lines": "invoice NOLINES-1: the document has no coded lines",
    "line_without_account": "invoice NOACCOUNT-1: line 1 (Work) has no account",
}


@pytest.mark.parametrize("kind", sorted(DOCUMENT_REASONS))
def test_bad_document_is_refused_and_waits_in_envoice(documents, kind):
    number = DOCUMENT_NUMBERS[kind]
    assert documents.state == "success"
    assert DOCUMENT_REASONS[kind] in documents.quarantine.get(number, ""), documents.quarantine
    assert any(key == number and action == "rejected" for _, key, action in documents.log)
    assert number not in documents.target["incoming"]
    assert documents.target["envoice"][number] == "published"  # not marked transferred: nothing lost
    assert {"GOOD-1", "GOOD-2"} <= set(documents.target["incoming"])


def test_xml_special_characters_non_latin_and_emoji_in_a_document_arrive_unchanged(documents):
    record = documents.target["incoming"]["ODD-TEXT-1"]
    assert record["rows"][0]["Comment"] == documents.target["odd_text"]
    assert "ODD-TEXT-1" not in documents.quarantine


def test_a_document_published_twice_becomes_one_record_both_logged(documents):
    """Duplicate numbers in the source: the second Envoice document of the same supplier invoice is matched
    to the record the first one made (adopted, never a second booking), and both are in the transfer log."""
    assert list(documents.target["incoming"]).count("GOOD-1") == 1
    assert documents.target["incoming_count"]["GOOD-1"] == 1
    assert sorted(action for sid, key, action in documents.log if key == "GOOD-1") == ["created", "updated"]


# --- XXE and billion laughs in a live vendor response ------------------------------------------
# The simulators' `respond` fault makes a real endpoint answer the payload over HTTP; the hooks must refuse it
# (defusedxml, no DTD) before any entity is read or expanded, fail the run naming the response as unsafe XML,
# and the next run, once the vendor answers normally again, moves everything.

LAUGHS = "".join(f'<!ENTITY lol{n} "{("&lol%d;" % (n - 1)) * 10}">' for n in range(1, 10))


def xxe_body(secret_file) -> str:
    """A Netvisor-shaped answer whose customer name is an external entity pointing at a local file."""
    return (f'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE Root [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
            "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Customerlist><Customer>"
            "<Netvisorkey>1</Netvisorkey><Code>4000</Code><Name>&xxe;</Name></Customer></Customerlist>"
            "<resource><entity><pk>1</pk><EmployeeCode>&xxe;</EmployeeCode></entity></resource>"
            "<data><CUVc><Code>&xxe;</Code></CUVc></data></Root>")


def billion_laughs_body() -> str:
    """10^9 'lol's (3 GB) if the entities were expanded."""
    return (f'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE Root [<!ENTITY lol0 "lol">{LAUGHS}]>'
            "<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Name>&lol9;</Name></Root>")


def _memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _reset_peak_memory() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS; returns that RSS in kB."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _memory_kb("VmRSS")


def _everything_written(ledger, *sims) -> str:
    import sqlite3
    from pathlib import Path

    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT dag_id, key, value FROM xcom"))
    metadata.close()
    tables = [t for (t,) in ledger.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
    dump = " ".join(str(row) for table in tables for row in ledger.execute(f'SELECT * FROM "{table}"'))
    return "\n".join([logs, xcoms, dump, *(json.dumps(sim.state()) for sim in sims)])


@pytest.fixture
def secret_file(tmp_path):
    marker = f"erpbridge-xxe-marker-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(marker)
    return path, marker


@pytest.mark.parametrize("kind", ["xxe", "billion_laughs"])
def test_an_unsafe_xml_answer_fails_the_run_naming_it_reads_nothing_and_the_next_run_recovers(
        kind, airflow_db, ledger, netvisor, severa, secret_file, monkeypatch, capfd):
    path, marker = secret_file
    severa.configure(rate_limit_per_second=1000)
    good = [{"number": 4000 + i, "name": f"Safe customer {i}"} for i in range(3)]
    severa.seed(customers=good)
    body = xxe_body(path) if kind == "xxe" else billion_laughs_body()
    netvisor.faults(respond={"body": body, "count": 10_000})  # every Netvisor answer, every retry
    rss = _reset_peak_memory()

    run = run_dag(REGISTERS, {"registers": ["customers"]})

    peak_growth_mb = (_memory_kb("VmHWM") - rss) / 1024
    output = capfd.readouterr()
    console = output.out + output.err
    assert run.state == "failed"
    assert task_states(run)["sync_customers"] == "failed"
    assert sum(1 for r in netvisor.requests() if r["status"] == 200) >= 1, "the payload was never served"
    assert "unsafe XML refused" in console, "the failure does not name the answer as unsafe XML"
    # the whole run, Airflow's own first-run imports included (~200 MB); expanded laughs would be 3 GB
    assert peak_growth_mb < 512, f"the run grew by {peak_growth_mb:.0f} MB: entities expanded?"
    assert netvisor.state()["customers"] == []

    netvisor.admin("DELETE", "faults")
    recovered = run_dag(REGISTERS, {"registers": ["customers"]})

    assert recovered.state == "success", task_states(recovered)
    assert sorted((c["code"], c["name"]) for c in netvisor.state()["customers"]) == [
        (str(c["number"]), c["name"]) for c in good]
    written = console + capfd.readouterr().out + _everything_written(ledger, netvisor, severa)
    assert marker not in written, "the local file's content was read into the run"
    print(f"unsafe XML ({kind}): refused, peak growth {peak_growth_mb:.1f} MB, recovered on the next run")


@pytest.mark.parametrize("kind", ["xxe", "billion_laughs"])
@pytest.mark.parametrize("system", ["standard_books", "horizon"])
def test_the_other_xml_hooks_refuse_an_unsafe_answer_as_a_system_error(system, kind, request, secret_file,
                                                                       monkeypatch):
    from erpbridge.errors import ExternalSystemError
    from erpbridge.hooks.standard_books import StandardBooksHook
    from erpbridge.hooks.visma_horizon import VismaHorizonHook

    path, marker = secret_file
    sim = request.getfixturevalue(system)
    conn = {"standard_books": "AIRFLOW_CONN_STANDARD_BOOKS_DEFAULT",
            "horizon": "AIRFLOW_CONN_VISMA_HORIZON_DEFAULT"}[system]
    settings = json.loads(os.environ[conn])
    monkeypatch.setenv(conn, json.dumps({**settings, "extra": {**settings["extra"], "attempts": 2}}))
    if system == "standard_books":
        sim.seed(**SB_DEMO)
        call = lambda: StandardBooksHook().get("CUVc", "2001")  # noqa: E731
    else:
        sim.seed(employees=[{"EmployeeCode": "E1", "FirstName": "A", "LastName": "B", "EmploymentStart": "2020-01-01"}])
        call = lambda: VismaHorizonHook().employees()  # noqa: E731
    assert call(), "no answer before the fault"  # also warms the hook up: the figure below is the parse's own
    sim.faults(respond={"body": xxe_body(path) if kind == "xxe" else billion_laughs_body(), "count": 10_000})
    rss = _reset_peak_memory()
    since = sim.last_seq()

    with pytest.raises(ExternalSystemError) as caught:
        call()

    assert "unsafe XML refused" in str(caught.value) and marker not in str(caught.value)
    assert len(sim.requests(since)) == 1, "asked again: asking again does not make an answer safe"
    assert (_memory_kb("VmHWM") - rss) / 1024 < 32, "entities expanded?"
    sim.admin("DELETE", "faults")
    assert call(), "no answer once the vendor answers normally again"


# --- issue 14: values that turned security off or were accepted as settings -----------------------------

class SelfSignedServer:
    """HTTPS with a certificate nobody trusts; records the Authorization / API key headers it receives."""

    def __init__(self, tmp_path):
        import datetime as dt
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        from include.airflow_services import free_port

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        self.seen: list[dict] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def self_signed(tmp_path):
    server = SelfSignedServer(tmp_path)
    yield server
    server.close()


@pytest.mark.parametrize("verify", ["", 0, "0", "no", "off", "/no/such/ca.pem", [], {}])
def test_a_tls_verify_value_that_is_not_explicit_false_never_turns_checks_off(self_signed, monkeypatch, verify):
    """Issue 14 finding 6: ``verify`` "", null or 0 disabled certificate checks and the API key went to a
    self-signed server. Now only false / "false" does; anything unreadable fails the connection test, naming it
    (null, the form's untouched switch, keeps the checks on: the next test)."""
    from erpbridge.hooks.envoice import EnvoiceHook

    monkeypatch.setenv("AIRFLOW_CONN_ENVOICE_DEFAULT", json.dumps({
        "conn_type": "envoice", "host": self_signed.url, "password": "envoice-key-9b47fa",
        "extra": {"verify": verify, "attempts": 1, "timeout": 5}}))

    ok, message = EnvoiceHook().test_connection()

    assert not ok and self_signed.seen == [], "the key reached a server whose certificate nobody checked"
    assert f"extra verify={verify!r}" in message and "envoice_default" in message


def test_a_null_verify_keeps_tls_checks_on(self_signed, monkeypatch):
    from erpbridge.hooks.envoice import EnvoiceHook

    monkeypatch.setenv("AIRFLOW_CONN_ENVOICE_DEFAULT", json.dumps({
        "conn_type": "envoice", "host": self_signed.url, "password": "envoice-key-9b47fa",
        "extra": {"verify": None, "attempts": 1, "timeout": 5}}))

    ok, message = EnvoiceHook().test_connection()

    assert not ok and "CERTIFICATE_VERIFY_FAILED" in message and self_signed.seen == []


def test_only_an_explicit_false_turns_tls_checks_off_and_says_so_on_every_run(self_signed, monkeypatch, caplog):
    from erpbridge.hooks.envoice import EnvoiceHook

    for verify in (False, "false"):
        monkeypatch.setenv("AIRFLOW_CONN_ENVOICE_DEFAULT", json.dumps({
            "conn_type": "envoice", "host": self_signed.url, "password": "k", "extra": {"verify": verify,
                                                                                       "attempts": 1}}))
        caplog.clear()
        EnvoiceHook().test_connection()
        assert "TLS certificate checks are OFF" in caplog.text, verify
    assert len(self_signed.seen) == 2


@pytest.mark.parametrize("name", ["*", "*.corp.example", "dc*"])
def test_an_ad_host_name_check_cannot_be_switched_off_by_a_wildcard(monkeypatch, name):
    from erpbridge.hooks.active_directory import ActiveDirectoryHook

    monkeypatch.setenv("AIRFLOW_CONN_ACTIVE_DIRECTORY_DEFAULT", json.dumps({
        "conn_type": "active_directory", "host": "127.0.0.1", "login": "u", "password": "p",
        "extra": {"tls_server_name": name, "base_dn": "DC=corp,DC=example"}}))

    ok, message = ActiveDirectoryHook().test_connection()

    assert not ok and "tls_server_name" in message and "wildcard" in message


@pytest.mark.parametrize("model, overrides, named", [
    ("SeveraNetvisorSettings", {"watermark_overlap_minutes": -100000}, "watermark_overlap_minutes"),
    ("HorizonAdSettings", {"watermark_overlap_minutes": 10 ** 9}, "watermark_overlap_minutes"),
    ("HorizonPayrollSettings", {"max_hours_per_day": -1}, "max_hours_per_day"),
    ("HorizonPayrollSettings", {"max_hours_per_day": "NaN"}, "max_hours_per_day"),
    ("HorizonPayrollSettings", {"max_hours_per_day": float("inf")}, "max_hours_per_day"),
    ("HorizonPayrollSettings", {"inbox_roots": ["relative/inbox"]}, "inbox_roots.0"),
    ("HorizonPayrollSettings", {"inbox_roots": []}, "inbox_roots"),
    ("HorizonPayrollSettings", {"max_removal_share": 2}, "max_removal_share"),
    ("HorizonPaymentsSettings", {"bank_folder": "relative/bank"}, "bank_folder"),
    ("HorizonPaymentsSettings", {"debtor_name": ""}, "debtor_name"),
    ("HorizonSeveraAbsencesSettings", {"days_back": -1}, "days_back"),
    ("HorizonWeighingSettings", {"tolerance_percent": 101}, "tolerance_percent"),
])
def test_settings_out_of_bounds_are_refused_naming_the_key(model, overrides, named):
    from erpbridge import settings
    from erpbridge.catalog import FLOWS

    models = {flow.settings().__name__: flow.settings() for flow in FLOWS.values()}  # in their flow packages
    with pytest.raises(settings.SettingsError, match=rf"{named}: "):
        settings.parse(models[model], overrides, "the Variable")
