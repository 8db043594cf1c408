"""EPP (InsERT EDI++, format 1.05) exchange files for an accounting program (Rachmistrz, Rewizor).

From "Komunikacja - Struktura danych EDI++" (1.05; the 1.11 edition is in repository janexpl/epp2json): cp1250,
CRLF, sections introduced by a ``[LABEL]`` line, ``[INFO]`` first (24 fields, purpose 0 = to an accounting
office), then a ``[NAGLOWEK]`` (document header, 62 fields) / ``[ZAWARTOSC]`` pair per document; fields
comma-separated, texts in double quotes (a quote doubled), an empty field as nothing, dates ``yyyymmddhhnnss``,
amounts with a decimal point and no thousands separator. For an accounting program ``[ZAWARTOSC]`` is the
document's VAT table: one row per rate (symbol, percent, net, VAT, gross). After the documents, the card section
``KONTRAHENCI`` (a ``[NAGLOWEK]`` holding only the keyword, a section the format allows anywhere in the file):
one card (30 fields of 1.05; 1.11 adds a 31st) per counterparty code the headers name, so the program can create
or update the counterparty a document refers to. A card holds the counterparty's current data, a header its data
on the document (the spec's words): a code named by several documents gets the data of the last of them.

ASSUMED, verify first (the spec does not settle these; each lives only here): ``VAT_ROW_FIELDS`` - a VAT row's
18 fields (the layout of subformat 1.05.3; plain 1.05 lists 5), the 13 after gross written as zeros;
``KSEF_IN_REMARKS`` - the KSeF number carried in the header's remarks (field 49); four decimal places for amounts
and rates; the card section's keyword written as a quoted text (``sections``); the last document naming a code (the
highest hub id) carrying the counterparty's current data (``counterparties``). Every counterparty is written as
domestic (``DOMESTIC``: Poland, prefix PL, not EU) and as both customer and supplier (card type 0), whatever the
file's documents make of it, so a later file never narrows it. Output is deterministic: the same documents give
the same bytes (the [INFO] creation time is the newest issue date, not the clock; cards in code order).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable, Iterator

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange.documents import CODE_PAGE, AccountingDocument, Counterparty
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings, Sender

VERSIONS = ("1.05",)  # the EDI++ versions this writer produces
CRLF = "\r\n"
INFO_FIELDS, HEADER_FIELDS, VAT_ROW_FIELDS, CARD_FIELDS = 24, 62, 18, 30
TO_ACCOUNTING_OFFICE = 0  # [INFO] field 2, purpose of the file: 0 - an accounting office
KSEF_IN_REMARKS = 49  # KSEF_IN_REMARKS: 1-based header field
PROGRAM = "erpbridge"
COUNTERPARTIES = "KONTRAHENCI"  # the keyword of the counterparty card section
CUSTOMER_AND_SUPPLIER = 0  # card field 1, the counterparty's type
CODE_LENGTH = 20  # header field 12: a counterparty code has at most 20 characters


class UnknownFormatVersion(ValueError):
    """The settings ask for an EDI++ version this writer does not produce."""


def text(value: str) -> str:
    return '"' + value.replace('"', '""').replace("\r", " ").replace("\n", " ") + '"'


# a counterparty's country, its EU prefix, "from another EU country": header fields 60-62, card fields 28-30
DOMESTIC = (text("Polska"), text("PL"), "0")


def amount(value: Decimal) -> str:
    return f"{value:.4f}"


def stamp(value: date | datetime | None) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    return moment.strftime("%Y%m%d%H%M%S")


def line(fields: list[str], expected: int) -> str:
    assert len(fields) == expected, f"{len(fields)} fields written where the format has {expected}"
    return ",".join(fields) + CRLF


def info(sender: Sender, documents: list[AccountingDocument], version: str) -> str:
    first = min(d.issue_date for d in documents)
    last = max(d.issue_date for d in documents)
    return line([
        text(version), str(TO_ACCOUNTING_OFFICE), "1250", text(PROGRAM), text(sender.code), text(sender.short_name),
        text(sender.full_name), text(sender.city), text(sender.postcode), text(sender.street), text(sender.nip),
        "", "", "", "",  # warehouse code, name, description, analytics: none for an accounting office
        "1", stamp(first), stamp(last),  # the file covers the period of its documents
        text(PROGRAM), stamp(last), text("Polska"), text("PL"), "", "0",
    ], INFO_FIELDS)


def header(d: AccountingDocument, sender: Sender) -> str:
    c = d.counterparty
    fields = [
        text(d.document_type), "1", "0", "0",  # type, status done, not fiscalised, no own number
        text("" if d.sales else d.number), "", text(d.number),  # supplier's number, extension, full number
        text(d.corrected_number), stamp(d.corrected_date), "", "",  # corrected document, its date; order; MM target
        text(c.code), text(c.short_name), text(c.full_name), text(c.city), text(c.postcode), text(c.street),
        text(c.nip), text(d.account), "", text(sender.city),  # category (the mapped account), subtitle, place
        stamp(d.issue_date), stamp(d.sale_date), stamp(d.receive_date), str(len(d.vat_rows)), "1", "",
        amount(d.net), amount(d.vat), amount(d.gross), amount(Decimal(0)), "", amount(Decimal(0)),
        "", stamp(d.payment_date), amount(Decimal(0)), amount(d.gross), amount(Decimal(0)), amount(Decimal(0)),
        "0", "0", "", "", "", amount(Decimal(0)), amount(Decimal(0)),  # no recalculation, statuses, persons, packs
        text(d.currency), amount(Decimal(1)), "", "", "", "", "0", "0", "0",  # currency, rate, remarks .. transaction
        "", amount(Decimal(0)), "", amount(Decimal(0)), *DOMESTIC,
    ]
    fields[KSEF_IN_REMARKS - 1] = text(f"KSeF: {d.ksef_number}" if d.ksef_number else "")
    return line(fields, HEADER_FIELDS)


def card(c: Counterparty) -> str:
    """A counterparty card: the same code and data as a header gives (fields 2-8); none of the others is known."""
    return line([
        str(CUSTOMER_AND_SUPPLIER), text(c.code), text(c.short_name), text(c.full_name), text(c.city),
        text(c.postcode), text(c.street), text(c.nip),
        *[""] * 19,  # REGON, phone, fax, telex, e-mail, web, contact, analytics (2), user fields (8), bank, account
        *DOMESTIC,
    ], CARD_FIELDS)


def counterparties(documents: list[AccountingDocument]) -> list[Counterparty]:
    """One counterparty per code the documents name, in code order, each as the last document naming it gives it."""
    latest = {d.counterparty.code: d.counterparty for d in documents}
    return [latest[code] for code in sorted(latest)]


def check(document: AccountingDocument, settings: AccountingExportSettings, variable: str) -> None:
    """Refuse a document whose counterparty code the file cannot hold (the program would cut it and could join the
    document to another counterparty's card)."""
    c = document.counterparty
    if len(c.code) > CODE_LENGTH:
        field = "CONTRACTOR/VAT_NUMBER" if c.code == c.nip else "CONTRACTOR/CONTRACTOR_PROGRAM_ID"
        raise RecordRejected(
            f"document {document.number} (Saldeo id {document.saldeo_id}): field {field} {c.code!r} has "
            f"{len(c.code)} characters; an EPP file names a counterparty by a code of at most {CODE_LENGTH} (EDI++ "
            "document header field 12). Give the counterparty a shorter code (its program id) in SaldeoSMART, "
            "then retry", "INVALID_DATA")


def vat_row(symbol: str, percent: Decimal, net: Decimal, vat: Decimal) -> str:
    zeros = [amount(Decimal(0))] * (VAT_ROW_FIELDS - 5)
    return line([text(symbol), amount(percent), amount(net), amount(vat), amount(net + vat), *zeros], VAT_ROW_FIELDS)


def sections(documents: list[AccountingDocument], sender: Sender, version: str = "1.05",
             cards: bool = True) -> Iterator[str]:
    """The file's text, a document at a time, then (``cards``) the counterparty cards."""
    if version not in VERSIONS:
        raise UnknownFormatVersion(f"EPP (EDI++) version {version!r} is not one this export writes "
                                   f"(it writes {', '.join(VERSIONS)}); set format_version to one of them")
    if not documents:
        return
    yield "[INFO]" + CRLF + info(sender, documents, version) + CRLF
    for d in documents:
        rows = "".join(vat_row(r.symbol, r.percent, r.net, r.vat) for r in d.vat_rows)
        yield "[NAGLOWEK]" + CRLF + header(d, sender) + CRLF + "[ZAWARTOSC]" + CRLF + rows + CRLF
    if cards:
        rows = "".join(card(c) for c in counterparties(documents))
        yield "[NAGLOWEK]" + CRLF + text(COUNTERPARTIES) + CRLF + CRLF + "[ZAWARTOSC]" + CRLF + rows + CRLF


def render(documents: Iterable[AccountingDocument], sender: Sender, version: str = "1.05",
           cards: bool = True) -> bytes:
    return "".join(sections(list(documents), sender, version, cards)).encode(CODE_PAGE)
