"""Comarch ERP Optima offline XML ("Struktura plików XML do pracy rozproszonej", version 2.00): the documents
as VAT register records for Optima's import, cp1250.

``ROOT xmlns="http://www.comarch.pl/cdn/optima/offline"`` holds ``KONTRAHENCI`` (every document's counterparty,
once), ``REJESTRY_SPRZEDAZY_VAT`` and ``REJESTRY_ZAKUPU_VAT``, each opening with ``WERSJA`` 2.00, ``BAZA_ZRD_ID``
and ``BAZA_DOC_ID``. Every record carries ``ID_ZRODLA``, a GUID derived from the company and the hub's id, so
a file written again (or a re-import) names the same records and Optima does not take them twice; a
document's ``PODMIOT_ID`` is its counterparty's ``ID_ZRODLA``. ``POZYCJE`` hold the VAT rows, ``PLATNOSCI``
the amount due; ``NR_KSEF`` the KSeF number. Bank statements go into a file of their own: ``RAPORTY_KB``, a
``RAPORT_KB`` per statement (the bank register ``RACHUNEK``, the period as ``DATA_OTWARCIA`` /
``DATA_ZAMKNIECIA``) with its operations as ``ZAPISY_KB/ZAPIS_KB`` (``KWOTA``, ``KIERUNEK`` przychód / rozchód).

ASSUMED, verify first (each lives only here): ``SOURCE_BASE`` - the source database id written as
``BAZA_ZRD_ID`` / ``BAZA_DOC_ID``; ``VAT_STATUS`` - ``STATUS_VAT`` per EPP VAT symbol; the accounting id
(``IDENTYFIKATOR_KSIEGOWY``) as the document's own number; the counterparty's acronym as its code in the hub;
``UNKNOWN_COUNTERPARTY`` - a bank operation's counterparty (the hub's list names none) as Optima's undetermined
one; the report's number left to Optima's numbering, the hub's statement file name as ``NUMER_OBCY``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from erpbridge.flows.accounting_exchange.documents import AccountingDocument, Counterparty

if TYPE_CHECKING:
    from erpbridge.flows.accounting_exchange.bank_statements import BankStatement

VERSIONS = ("2.00",)
NAMESPACE = "http://www.comarch.pl/cdn/optima/offline"
XML_ENCODING = "windows-1250"  # cp1250, under the name the XML declaration gives it
SOURCE_BASE = "ERPBRIDGE"  # SOURCE_BASE
VAT_STATUS = {"zw": "zwolniona", "np": "nie podlega", "npo": "nie podlega", "oo": "nie podlega"}  # VAT_STATUS
UNKNOWN_COUNTERPARTY = "!NIEOKREŚLONY!"  # UNKNOWN_COUNTERPARTY
GUIDS = uuid.UUID("6f1c2a8e-3f4b-5c7d-9e0a-1b2c3d4e5f60")  # the namespace of every ID_ZRODLA written here


def guid(company: str, kind: str, key: str) -> str:
    """A stable ID_ZRODLA: the same company, kind and key give the same GUID in every file."""
    return str(uuid.uuid5(GUIDS, f"{company}/{kind}/{key}")).upper()


def add(parent: Element, tag: str, value) -> Element:
    element = SubElement(parent, tag)
    element.text = "" if value is None else str(value)
    return element


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def section(root: Element, tag: str) -> Element:
    block = SubElement(root, tag)
    add(block, "WERSJA", VERSIONS[0])
    add(block, "BAZA_ZRD_ID", SOURCE_BASE)
    add(block, "BAZA_DOC_ID", SOURCE_BASE)
    return block


def counterparty(parent: Element, company: str, c: Counterparty) -> None:
    record = SubElement(parent, "KONTRAHENT")
    add(record, "ID_ZRODLA", guid(company, "counterparty", c.code))
    add(record, "AKRONIM", c.code)
    address = SubElement(SubElement(record, "ADRESY"), "ADRES")
    add(address, "STATUS", "aktualny")
    add(address, "NAZWA1", c.full_name or c.short_name)
    add(address, "KRAJ", "Polska")
    add(address, "ULICA", c.street)
    add(address, "MIASTO", c.city)
    add(address, "KOD_POCZTOWY", c.postcode)
    add(address, "POCZTA", c.city)
    add(address, "NIP_KRAJ", "PL")
    add(address, "NIP", c.nip)


def register_record(parent: Element, tag: str, company: str, register: str, d: AccountingDocument) -> None:
    sales = tag == "REJESTR_SPRZEDAZY_VAT"
    c = d.counterparty
    record = SubElement(parent, tag)
    add(record, "ID_ZRODLA", guid(company, "document", d.saldeo_id))
    add(record, "MODUL", "Rejestr Vat")
    add(record, "TYP", "Rejestr sprzedaży" if sales else "Rejestr zakupu")
    add(record, "REJESTR", register)
    add(record, "DATA_WYSTAWIENIA", d.issue_date.isoformat())
    add(record, "DATA_SPRZEDAZY" if sales else "DATA_ZAKUPU", d.sale_date.isoformat())
    if not sales:
        add(record, "DATA_WPLYWU", d.receive_date.isoformat())
    add(record, "TERMIN", (d.payment_date or d.issue_date).isoformat())
    add(record, "NUMER", d.number)
    add(record, "KOREKTA", "Tak" if d.corrected_number else "Nie")
    add(record, "KOREKTA_NUMER", d.corrected_number)
    add(record, "IDENTYFIKATOR_KSIEGOWY", d.number)
    add(record, "TYP_PODMIOTU", "kontrahent")
    add(record, "PODMIOT", c.code)
    add(record, "PODMIOT_ID", guid(company, "counterparty", c.code))
    add(record, "PODMIOT_NIP", c.nip)
    add(record, "NAZWA1", c.full_name or c.short_name)
    add(record, "NIP_KRAJ", "PL")
    add(record, "NIP", c.nip)
    add(record, "KRAJ", "Polska")
    add(record, "ULICA", c.street)
    add(record, "MIASTO", c.city)
    add(record, "KOD_POCZTOWY", c.postcode)
    add(record, "KATEGORIA", d.account)
    add(record, "WALUTA", d.currency)
    add(record, "NR_KSEF", d.ksef_number)
    rows = SubElement(record, "POZYCJE")
    for number, row in enumerate(d.vat_rows, start=1):
        item = SubElement(rows, "POZYCJA")
        add(item, "LP", number)
        add(item, "KATEGORIA_POS", d.account)
        add(item, "STAWKA_VAT", money(row.percent))
        add(item, "STATUS_VAT", VAT_STATUS.get(row.symbol, "opodatkowana"))
        add(item, "NETTO", money(row.net))
        add(item, "VAT", money(row.vat))
        add(item, "NETTO_SYS", money(row.net))
        add(item, "VAT_SYS", money(row.vat))
    payment = SubElement(SubElement(record, "PLATNOSCI"), "PLATNOSC")
    add(payment, "ID_ZRODLA_PLAT", guid(company, "payment", d.saldeo_id))
    add(payment, "TERMIN_PLAT", (d.payment_date or d.issue_date).isoformat())
    add(payment, "KWOTA_PLAT", money(d.gross))
    add(payment, "WALUTA_PLAT", d.currency)
    add(payment, "KIERUNEK", "przychód" if sales else "rozchód")


def render(documents: Iterable[AccountingDocument], company: str, registers: dict[str, str]) -> bytes:
    """The file's bytes; ``registers`` maps the document kind ("sales", "purchase") to the Optima register name."""
    documents = sorted(documents, key=lambda d: int(d.saldeo_id))
    root = Element("ROOT", {"xmlns": NAMESPACE})
    counterparties = section(root, "KONTRAHENCI")
    first_seen: dict[str, Counterparty] = {}
    for d in documents:
        first_seen.setdefault(d.counterparty.code, d.counterparty)
    for code in sorted(first_seen):
        counterparty(counterparties, company, first_seen[code])
    sales, purchases = section(root, "REJESTRY_SPRZEDAZY_VAT"), section(root, "REJESTRY_ZAKUPU_VAT")
    for d in documents:
        if d.sales:
            register_record(sales, "REJESTR_SPRZEDAZY_VAT", company, registers["sales"], d)
        else:
            register_record(purchases, "REJESTR_ZAKUPU_VAT", company, registers["purchase"], d)
    indent(root)
    return tostring(root, encoding=XML_ENCODING, xml_declaration=True)


def render_statements(statements: Iterable[BankStatement], company: str) -> bytes:
    """A file of cash/bank reports: a RAPORT_KB per statement, its operations as ZAPIS_KB records."""
    root = Element("ROOT", {"xmlns": NAMESPACE})
    reports = section(root, "RAPORTY_KB")
    for s in statements:
        report = SubElement(reports, "RAPORT_KB")
        add(report, "ID_ZRODLA", guid(company, "bank_statement", s.key))
        add(report, "RACHUNEK", s.register)
        add(report, "DATA_OTWARCIA", s.period_from.isoformat())
        add(report, "DATA_ZAMKNIECIA", s.period_to.isoformat())
        add(report, "NUMER_OBCY", s.reference)
        lines = SubElement(report, "ZAPISY_KB")
        for number, o in enumerate(s.operations, start=1):
            line = SubElement(lines, "ZAPIS_KB")
            add(line, "ID_ZRODLA_ZAPISU", guid(company, "bank_operation", f"{s.key}#{number}"))
            add(line, "DATA_DOK", o.day.isoformat())
            add(line, "KWOTA", money(o.amount))
            add(line, "WALUTA", s.currency)
            add(line, "KWOTA_PLN", money(o.amount))
            add(line, "KIERUNEK", "przychód" if o.incoming else "rozchód")
            add(line, "PODLEGA_ROZLICZENIU", "Tak")
            add(line, "TYP_PODMIOTU", "kontrahent")
            add(line, "PODMIOT", UNKNOWN_COUNTERPARTY)
            add(line, "OPIS", o.description)
    indent(root)
    return tostring(root, encoding=XML_ENCODING, xml_declaration=True)
