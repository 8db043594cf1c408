"""KSeF structured invoices, FA(3) (``kodSystemowy="FA (3)"``, schema version 1-0E): one invoice per XML
document, as the Ministry of Finance's schema defines it; the exchange file is a ZIP holding one
``<hub id>.xml`` per document, so that a run still gives one file, written and recorded whole.

Every document is validated offline against the official XSD (shipped by the PyPI package ``ksef-client``,
its imports resolved to the local copies) before it goes into a file: one that does not validate is refused
by name with the schema's words. A cost document's seller (``Podmiot1``) is the counterparty and its buyer
(``Podmiot2``) the company (the settings' sender); a sales document the other way round.

ASSUMED, verify first (each lives only here): ``CREATED_AT`` - the file's creation time
(``DataWytworzeniaFa``) is the document's issue date at midnight UTC, so that the same document gives the
same bytes; ``P13`` - the EPP VAT symbol -> the FA(3) total it belongs to; ``ZIP_ENTRY`` - the archive's entry
names and their fixed date; a buyer without a NIP is written ``BrakID``; the corrected invoice's KSeF number
is not known to the hub, so a correction says ``NrKSeFN``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, time, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Iterable

from lxml import etree

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange.documents import AccountingDocument, Counterparty
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings, Sender

VERSIONS = ("1-0E",)
NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SCHEMA_FILE = "schemat_FA(3)_v1-0E.xsd"
SCHEMAS = "ksef_client.documents.fa3.schemas"
SYSTEM_INFO = "erpbridge"
# EPP VAT symbol -> the FA(3) totals (net, VAT) of its rate; a symbol without VAT has no VAT element (P13)
P13 = {"23": ("P_13_1", "P_14_1"), "22": ("P_13_1", "P_14_1"), "8": ("P_13_2", "P_14_2"),
       "7": ("P_13_2", "P_14_2"), "5": ("P_13_3", "P_14_3"), "0": ("P_13_6_1", None), "ue": ("P_13_6_2", None),
       "ex": ("P_13_6_3", None), "zw": ("P_13_7", None), "np": ("P_13_8", None), "npo": ("P_13_9", None),
       "oo": ("P_13_10", None)}
ZIP_ENTRY_DATE = (1980, 1, 1, 0, 0, 0)  # ZIP_ENTRY: no clock in the archive, so re-exports are byte-identical


def render(documents: Iterable[AccountingDocument], settings: AccountingExportSettings) -> bytes:
    """The ZIP of one FA(3) invoice per document (each already checked by :func:`check`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in sorted(documents, key=lambda d: int(d.saldeo_id)):
            entry = zipfile.ZipInfo(f"{document.saldeo_id}.xml", ZIP_ENTRY_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, invoice(document, settings))
    return buffer.getvalue()


def check(document: AccountingDocument, settings: AccountingExportSettings, variable: str) -> None:
    """Refuse (RecordRejected, naming the document and the schema's complaint) what the XSD would not take."""
    name = f"document {document.number} (Saldeo id {document.saldeo_id})"
    if any(row.symbol == "zw" for row in document.vat_rows) and not settings.ksef_exemption_basis:
        raise RecordRejected(f"{name}: a VAT-exempt (zw) row needs the legal basis of the exemption in FA(3) "
                             f"(Adnotacje/Zwolnienie/P_19A); set ksef_exemption_basis in Variable {variable}, "
                             "then retry", "UNMAPPED_EXEMPTION")
    unknown = sorted({row.symbol for row in document.vat_rows} - P13.keys())
    if unknown:
        raise RecordRejected(f"{name}: VAT symbol(s) {', '.join(unknown)} have no FA(3) total (P_13_x); map the "
                             f"rate to one of {', '.join(P13)} in vat_symbols of Variable {variable}",
                             "UNMAPPED_VAT_RATE")
    errors = schema_errors(invoice(document, settings))
    if errors:
        raise RecordRejected(f"{name}: not a valid FA(3) invoice: {errors}", "INVALID_DATA")


def schema_errors(xml: bytes) -> str:
    """The XSD's complaints about ``xml``, each after the path of the element it is about ('' when it validates)."""
    schema, root = fa3_schema(), etree.fromstring(xml)
    if schema.validate(root):
        return ""
    paths = {element.sourceline: "/".join(etree.QName(e).localname
                                          for e in [*reversed(list(element.iterancestors())), element])
             for element in root.iter()}
    return "; ".join(f"{paths.get(e.line, 'Faktura')}: {e.message.replace('{' + NAMESPACE + '}', '')}"
                     for e in schema.error_log)


def invoice(d: AccountingDocument, settings: AccountingExportSettings) -> bytes:
    """One document as an FA(3) XML document (UTF-8)."""
    root = etree.Element(f"{{{NAMESPACE}}}Faktura", nsmap={None: NAMESPACE})
    header = add(root, "Naglowek")
    add(header, "KodFormularza", "FA", kodSystemowy="FA (3)", wersjaSchemy=VERSIONS[0])
    add(header, "WariantFormularza", "3")
    add(header, "DataWytworzeniaFa",  # CREATED_AT
        datetime.combine(d.issue_date, time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    add(header, "SystemInfo", SYSTEM_INFO)
    company, other = sender_party(settings.sender), d.counterparty
    seller, buyer = (company, other) if d.sales else (other, company)
    party(root, "Podmiot1", seller, seller_side=True)
    party(root, "Podmiot2", buyer, seller_side=False)
    fa = add(root, "Fa")
    add(fa, "KodWaluty", d.currency)
    add(fa, "P_1", d.issue_date.isoformat())
    add(fa, "P_2", d.number)
    if d.sale_date != d.issue_date:
        add(fa, "P_6", d.sale_date.isoformat())
    for tag, value in totals(d):
        add(fa, tag, money(value))
    add(fa, "P_15", money(d.gross))
    annotations(fa, d, settings)
    add(fa, "RodzajFaktury", "KOR" if d.corrected_number else "VAT")
    if d.corrected_number:
        corrected = add(fa, "DaneFaKorygowanej")
        add(corrected, "DataWystFaKorygowanej", (d.corrected_date or d.issue_date).isoformat())
        add(corrected, "NrFaKorygowanej", d.corrected_number)
        add(corrected, "NrKSeFN", "1")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def totals(d: AccountingDocument) -> list[tuple[str, Decimal]]:
    """(element, amount) in the schema's order: the net and VAT of each rate the document has."""
    sums: dict[str, Decimal] = {}
    for row in d.vat_rows:
        net_tag, vat_tag = P13[row.symbol]
        sums[net_tag] = sums.get(net_tag, Decimal(0)) + row.net
        if vat_tag:
            sums[vat_tag] = sums.get(vat_tag, Decimal(0)) + row.vat
    order = [tag for pair in P13.values() for tag in pair if tag]
    return sorted(sums.items(), key=lambda item: order.index(item[0]))


def annotations(fa: etree._Element, d: AccountingDocument, settings: AccountingExportSettings) -> None:
    """``Adnotacje``: every flag the schema requires; reverse charge and exemption from the VAT rows."""
    symbols = {row.symbol for row in d.vat_rows}
    notes = add(fa, "Adnotacje")
    add(notes, "P_16", "2")  # cash accounting
    add(notes, "P_17", "2")  # self-billing
    add(notes, "P_18", "1" if "oo" in symbols else "2")  # reverse charge
    add(notes, "P_18A", "2")  # split payment
    exemption = add(notes, "Zwolnienie")
    if "zw" in symbols:
        add(exemption, "P_19", "1")
        add(exemption, "P_19A", settings.ksef_exemption_basis)
    else:
        add(exemption, "P_19N", "1")
    add(add(notes, "NoweSrodkiTransportu"), "P_22N", "1")
    add(notes, "P_23", "2")  # simplified triangular procedure
    add(add(notes, "PMarzy"), "P_PMarzyN", "1")


def sender_party(sender: Sender) -> Counterparty:
    return Counterparty(code=sender.code, short_name=sender.short_name, full_name=sender.full_name,
                        city=sender.city, postcode=sender.postcode, street=sender.street, nip=sender.nip)


def party(root: etree._Element, tag: str, who: Counterparty, seller_side: bool) -> None:
    element = add(root, tag)
    identity = add(element, "DaneIdentyfikacyjne")
    if who.nip:
        add(identity, "NIP", who.nip)
    elif not seller_side:
        add(identity, "BrakID", "1")
    add(identity, "Nazwa", who.full_name or who.short_name)
    address = add(element, "Adres")
    add(address, "KodKraju", "PL")
    add(address, "AdresL1", who.street or who.city)
    if who.street and (who.postcode or who.city):
        add(address, "AdresL2", f"{who.postcode} {who.city}".strip())
    if not seller_side:
        add(element, "JST", "2")  # not a local government unit's subordinate
        add(element, "GV", "2")  # not a VAT group member


def add(parent: etree._Element, tag: str, text: str | None = None, **attributes) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def money(value: Decimal) -> str:
    return f"{value:.2f}"


class _LocalSchemas(etree.Resolver):
    """The schema's imports (URLs of crd.gov.pl) resolved to the copies beside it: validation stays offline."""

    def resolve(self, url, public_id, context):
        name = url.rsplit("/", 1)[-1]
        copy = resources.files(SCHEMAS).joinpath(name)
        return self.resolve_filename(str(copy), context) if copy.is_file() else None


@lru_cache(maxsize=1)
def fa3_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_LocalSchemas())
    path = resources.files(SCHEMAS).joinpath(SCHEMA_FILE)
    return etree.XMLSchema(etree.parse(str(path), parser))
