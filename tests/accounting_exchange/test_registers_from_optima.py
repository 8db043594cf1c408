"""accounting_saldeo_registers reading a Comarch ERP Optima offline XML export (dag.test(), the SaldeoSMART simulator
over HTTP, a real ledger; the export written here by hand from the structure description, cp1250): counterparties,
VAT registers, categories and payment forms merged once, a second run changes nothing, a record the file cannot
give is quarantined naming the file, the record and the field while the rest goes on, a register the hub refuses
waits in the quarantine in its words, a file that is not an Optima export (or carries a DTD) is named, a dry run
writes nothing."""

from __future__ import annotations

import pytest

from tests.accounting_exchange.test_accounting_saldeo_registers import merged, quarantine, run, source  # noqa: F401
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)

NS = "http://www.comarch.pl/cdn/optima/offline"
HEAD = "<WERSJA>2.00</WERSJA><BAZA_ZRD_ID>KSIEG</BAZA_ZRD_ID><BAZA_DOC_ID>KSIEG</BAZA_DOC_ID>"
BROKEN_CONTRACTOR, BROKEN_RECORD = "{0B4C8D3A-0000-4000-8000-000000000003}", "{0B4C8D3A-0000-4000-8000-000000000013}"


def contractor(guid: str, acronym: str, kind: str, name1: str, name2: str, nip_country: str, nip: str,
               city: str = "Łódź") -> str:
    return (f"<KONTRAHENT><ID_ZRODLA>{guid}</ID_ZRODLA><AKRONIM>{acronym}</AKRONIM><RODZAJ>{kind}</RODZAJ>"
            f"<KRAJ_ISO>{nip_country}</KRAJ_ISO><ADRESY><ADRES><STATUS>aktualny</STATUS><NAZWA1>{name1}</NAZWA1>"
            f"<NAZWA2>{name2}</NAZWA2><KRAJ>Polska</KRAJ><ULICA>ul. Łąkowa</ULICA><NR_DOMU>7</NR_DOMU>"
            f"<MIASTO>{city}</MIASTO><KOD_POCZTOWY>90-001</KOD_POCZTOWY><NIP_KRAJ>{nip_country}</NIP_KRAJ>"
            f"<NIP>{nip}</NIP><TELEFON1>42 630 00 00</TELEFON1></ADRES></ADRESY></KONTRAHENT>")


def record(tag: str, guid: str, register: str, category: str, payment_form: str) -> str:
    return (f"<{tag}><ID_ZRODLA>{guid}</ID_ZRODLA><MODUL>Rejestr Vat</MODUL><REJESTR>{register}</REJESTR>"
            f"<NUMER>FV/{guid[-3:]}</NUMER><KATEGORIA>{category}</KATEGORIA><FORMA_PLATNOSCI>{payment_form}"
            f"</FORMA_PLATNOSCI><POZYCJE><POZYCJA><KATEGORIA_POS>{category}</KATEGORIA_POS><STAWKA_VAT>23.00"
            "</STAWKA_VAT><NETTO>100.00</NETTO><VAT>23.00</VAT></POZYCJA></POZYCJE><PLATNOSCI><PLATNOSC>"
            f"<FORMA_PLATNOSCI_PLAT>{payment_form}</FORMA_PLATNOSCI_PLAT><KWOTA_PLAT>123.00</KWOTA_PLAT></PLATNOSC>"
            f"</PLATNOSCI></{tag}>")


def optima_file(contractors: list[str], sales: list[str], purchases: list[str], version: str = "2.00") -> bytes:
    head = HEAD.replace("2.00", version)
    return ('<?xml version="1.0" encoding="windows-1250"?>\r\n'
            f'<ROOT xmlns="{NS}"><KONTRAHENCI>{head}{"".join(contractors)}</KONTRAHENCI>'
            f'<REJESTRY_SPRZEDAZY_VAT>{head}{"".join(sales)}</REJESTRY_SPRZEDAZY_VAT>'
            f'<REJESTRY_ZAKUPU_VAT>{head}{"".join(purchases)}</REJESTRY_ZAKUPU_VAT></ROOT>').encode("cp1250")


PAPIERNIK = contractor("{0B4C8D3A-0000-4000-8000-000000000001}", "PAPIERNIK", "dostawca", "Papiernik Żółw",
                       "Sp. z o.o.", "PL", "525-234-40-78")
ODBIORCA = contractor("{0B4C8D3A-0000-4000-8000-000000000002}", "ODBIORCA-DE", "odbiorca dostawca", "Abnehmer GmbH",
                      "", "DE", "123456789", city="Berlin")
NO_ACRONYM = contractor(BROKEN_CONTRACTOR, "", "dostawca", "Bez akronimu", "", "PL", "1132853869")
SALE = record("REJESTR_SPRZEDAZY_VAT", "{0B4C8D3A-0000-4000-8000-000000000011}", "SPRZEDAŻ", "Usługi", "przelew")
PURCHASE = record("REJESTR_ZAKUPU_VAT", "{0B4C8D3A-0000-4000-8000-000000000012}", "ZAKUP", "Materiały biurowe",
                  "gotówka")
NO_REGISTER = record("REJESTR_ZAKUPU_VAT", BROKEN_RECORD, "", "Paliwo", "przelew")


@pytest.fixture
def hub(airflow_db, ledger, saldeo, source):
    (source / "optima.xml").write_bytes(optima_file([PAPIERNIK, ODBIORCA, NO_ACRONYM], [SALE], [PURCHASE, NO_REGISTER]))
    return saldeo


def test_counterparties_and_both_registers_are_merged_once_and_a_second_run_changes_nothing(hub, ledger):
    run()
    contractors = merged(hub, "contractor")
    assert {k: v for k, v in contractors["PAPIERNIK"].items() if k != "id"} == {
        "program_id": "PAPIERNIK", "SHORT_NAME": "PAPIERNIK", "FULL_NAME": "Papiernik Żółw Sp. z o.o.",
        "SUPPLIER": "true", "CUSTOMER": "false", "VAT_NUMBER": "5252344078", "CITY": "Łódź", "POSTCODE": "90-001",
        "STREET": "ul. Łąkowa 7", "TELEPHONE": "42 630 00 00", "COUNTRY_ISO3166A2": "PL"}
    assert (contractors["ODBIORCA-DE"]["SUPPLIER"], contractors["ODBIORCA-DE"]["CUSTOMER"],
            contractors["ODBIORCA-DE"]["VAT_NUMBER"]) == ("true", "true", "DE123456789")
    assert {k: v["NAME"] for k, v in merged(hub, "register").items()} == {"SPRZEDAŻ": "SPRZEDAŻ", "ZAKUP": "ZAKUP"}
    assert set(merged(hub, "category")) == {"Usługi", "Materiały biurowe", "Paliwo"}  # the rest of a record goes on
    assert set(merged(hub, "payment_method")) == {"przelew", "gotówka"}
    assert quarantine(ledger) == [
        ("contractor", BROKEN_CONTRACTOR, "INVALID_DATA",
         f"counterparty at optima.xml, KONTRAHENT {BROKEN_CONTRACTOR} (position 3): field AKRONIM is empty; "
         "SaldeoSMART keys the counterparty by it"),
        ("register", BROKEN_RECORD, "INVALID_DATA",
         f"VAT register record at optima.xml, REJESTR_ZAKUPU_VAT {BROKEN_RECORD} (position 2): field REJESTR is "
         "empty; the record names no VAT register")]
    writes = len(hub.state()["merges"])
    run()
    assert len(hub.state()["merges"]) == writes
    assert [r[:2] for r in quarantine(ledger)] == [("contractor", BROKEN_CONTRACTOR), ("register", BROKEN_RECORD)]


def test_a_register_the_hub_refuses_waits_in_the_quarantine_in_its_words(hub, ledger, source):
    hub.seed(registers=[{"kind": "register", "company_program_id": COMPANY, "program_id": "R-7", "NAME": "ZAKUP"}])
    (source / "optima.xml").write_bytes(optima_file([PAPIERNIK], [SALE], [PURCHASE]))
    run()
    assert quarantine(ledger) == [("register", "ZAKUP", "NOT_VALID", "register ZAKUP (optima.xml, REJESTR_ZAKUPU_VAT "
                                   "{0B4C8D3A-0000-4000-8000-000000000012} (position 1)): SaldeoSMART refused it: "
                                   "NAME: Obiekt o podanej nazwie już istnieje")]
    assert "SPRZEDAŻ" in merged(hub, "register") and set(merged(hub, "contractor")) == {"PAPIERNIK"}
    since = hub.last_seq()
    run()  # sent again (alone), refused again: still waiting
    assert [r["path"] for r in hub.writes(since)] == ["/api/xml/1.0/register/merge"]
    assert [r[:3] for r in quarantine(ledger)] == [("register", "ZAKUP", "NOT_VALID")]


def test_retry_now_sends_just_the_named_item_and_leaves_the_rest_to_the_next_run(hub, ledger, source):
    hub.seed(registers=[{"kind": "register", "company_program_id": COMPANY, "program_id": "R-7", "NAME": "ZAKUP"}])
    (source / "optima.xml").write_bytes(optima_file([PAPIERNIK], [SALE], [PURCHASE]))
    run()
    assert [r[:2] for r in quarantine(ledger)] == [("register", "ZAKUP")]
    # a person renames the hub's old register, and meanwhile the program exported a new counterparty
    hub.seed(registers=[{"kind": "register", "company_program_id": COMPANY, "program_id": "R-7",
                         "NAME": "ZAKUP (stary)"}])
    (source / "optima.xml").write_bytes(optima_file([PAPIERNIK, ODBIORCA], [SALE], [PURCHASE]))
    since = hub.last_seq()
    run(retry_records=[{"entity": "register", "source_id": "ZAKUP"}])
    assert [r["path"] for r in hub.writes(since)] == ["/api/xml/1.0/register/merge"]
    assert quarantine(ledger) == [] and merged(hub, "register")["ZAKUP"]["NAME"] == "ZAKUP"
    assert "ODBIORCA-DE" not in merged(hub, "contractor")  # not named: the next run takes it
    run()
    assert "ODBIORCA-DE" in merged(hub, "contractor")


@pytest.mark.parametrize("content,expected", [
    (b"Kontrahenci;NIP\r\n", "is not readable XML"),
    (b'<?xml version="1.0"?><ROOT xmlns="urn:other"/>', "is not an Optima offline export: its root is {urn:other}ROOT"),
    (optima_file([PAPIERNIK], [], [], version="1.00"), "section KONTRAHENCI is version 1.00, this reader reads 2.00"),
    (b'<?xml version="1.0"?><!DOCTYPE ROOT [<!ENTITY x SYSTEM "file:///etc/passwd">]><ROOT xmlns="' + NS.encode()
     + b'">&x;</ROOT>', "unsafe XML refused"),
])
def test_a_file_that_is_not_an_optima_export_is_named_and_the_others_go_on(hub, ledger, source, content, expected):
    (source / "zestawienie.xml").write_bytes(content)
    run()
    [(entity, source_id, category, reason)] = [r for r in quarantine(ledger) if r[0] == "source_file"]
    assert (entity, source_id, category) == ("source_file", "zestawienie.xml", "SOURCE_FORMAT")
    assert "a Comarch ERP Optima offline XML export" in reason and expected in reason and "What to do" in reason
    assert set(merged(hub, "contractor")) == {"PAPIERNIK", "ODBIORCA-DE"}


def test_a_file_without_an_encoding_declaration_is_read_as_cp1250(hub, source):
    (source / "optima.xml").write_bytes(optima_file([PAPIERNIK], [SALE], []).split(b"\r\n", 1)[1])
    run()
    assert merged(hub, "contractor")["PAPIERNIK"]["FULL_NAME"] == "Papiernik Żółw Sp. z o.o."
    assert set(merged(hub, "register")) == {"SPRZEDAŻ"}


def test_dry_run_writes_nothing(hub, ledger):
    run(dry_run=True)
    assert hub.state()["merges"] == [] and quarantine(ledger) == []
    assert ledger.execute("SELECT count(*) FROM id_map").fetchone() == (0,)
