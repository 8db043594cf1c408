"""EPP (InsERT EDI++, format 1.05) exchange files for an accounting program (Rachmistrz, Rewizor).

From "Komunikacja - Struktura danych EDI++" (1.05): cp1250, CRLF, sections introduced by a ``[LABEL]`` line,
``[INFO]`` first (24 fields), then a ``[NAGLOWEK]`` (document header, 62 fields) / ``[ZAWARTOSC]`` pair per
document; fields comma-separated, texts in double quotes (a quote doubled), an empty field as nothing,
dates ``yyyymmddhhnnss``, amounts with a decimal point and no thousands separator. For an accounting
program ``[ZAWARTOSC]`` is the document's VAT table: one row per rate (symbol, percent, net, VAT, gross).

ASSUMED, verify first (the spec's text was not at hand for these; each lives only here): ``PURPOSE`` -
the [INFO] purpose code 3 for an accounting office; ``VAT_ROW_FIELDS`` - a VAT row's 18 fields, the 13
after gross written as zeros; ``KSEF_IN_REMARKS`` - the KSeF number carried in the header's remarks
(field 49); four decimal places for amounts and rates. Output is deterministic: the same documents give the
same bytes (the [INFO] creation time is the newest issue date, not the clock).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Iterable, Iterator

from erpbridge.flows.accounting_exchange.documents import CODE_PAGE, AccountingDocument
from erpbridge.flows.accounting_exchange.settings import Sender

VERSIONS = ("1.05",)  # the EDI++ versions this writer produces
CRLF = "\r\n"
INFO_FIELDS, HEADER_FIELDS, VAT_ROW_FIELDS = 24, 62, 18
PURPOSE = 3  # PURPOSE
KSEF_IN_REMARKS = 49  # KSEF_IN_REMARKS: 1-based header field
PROGRAM = "erpbridge"


class UnknownFormatVersion(ValueError):
    """The settings ask for an EDI++ version this writer does not produce."""


def text(value: str) -> str:
    return '"' + value.replace('"', '""').replace("\r", " ").replace("\n", " ") + '"'


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
        text(version), str(PURPOSE), "1250", text(PROGRAM), text(sender.code), text(sender.short_name),
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
        "", amount(Decimal(0)), "", amount(Decimal(0)), text("Polska"), text("PL"), "0",
    ]
    fields[KSEF_IN_REMARKS - 1] = text(f"KSeF: {d.ksef_number}" if d.ksef_number else "")
    return line(fields, HEADER_FIELDS)


def vat_row(symbol: str, percent: Decimal, net: Decimal, vat: Decimal) -> str:
    zeros = [amount(Decimal(0))] * (VAT_ROW_FIELDS - 5)
    return line([text(symbol), amount(percent), amount(net), amount(vat), amount(net + vat), *zeros], VAT_ROW_FIELDS)


def sections(documents: list[AccountingDocument], sender: Sender, version: str = "1.05") -> Iterator[str]:
    """The file's text, a document at a time (the caller encodes and writes as it goes)."""
    if version not in VERSIONS:
        raise UnknownFormatVersion(f"EPP (EDI++) version {version!r} is not one this export writes "
                                   f"(it writes {', '.join(VERSIONS)}); set format_version to one of them")
    if not documents:
        return
    yield "[INFO]" + CRLF + info(sender, documents, version) + CRLF
    for d in documents:
        rows = "".join(vat_row(r.symbol, r.percent, r.net, r.vat) for r in d.vat_rows)
        yield "[NAGLOWEK]" + CRLF + header(d, sender) + CRLF + "[ZAWARTOSC]" + CRLF + rows + CRLF


def render(documents: Iterable[AccountingDocument], sender: Sender, version: str = "1.05") -> bytes:
    return "".join(sections(list(documents), sender, version)).encode(CODE_PAGE)
