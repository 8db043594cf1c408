"""Hub documents (SaldeoHook dicts) -> accounting documents, mapped with the settings. Pure: a document that
cannot be mapped raises RecordRejected naming the document, the field and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings

CODE_PAGE = "cp1250"  # every text of an EPP file must be writable in it
CENT = Decimal("0.01")
SALES_KIND = "INVOICE_SALES"  # the hub's kind (DOCUMENT_TYPE/MODEL_TYPE) of a sales document


@dataclass(frozen=True)
class VatRow:
    symbol: str  # the EPP VAT symbol
    percent: Decimal
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class Counterparty:
    code: str
    short_name: str
    full_name: str
    city: str
    postcode: str
    street: str
    nip: str


@dataclass(frozen=True)
class AccountingDocument:
    saldeo_id: str
    sales: bool  # a sales document (else a purchase / cost one)
    document_type: str  # EPP type: FZ, FS, KFZ, KFS ...
    number: str
    issue_date: date
    sale_date: date
    receive_date: date
    payment_date: date | None
    account: str
    counterparty: Counterparty
    vat_rows: tuple[VatRow, ...]
    currency: str
    ksef_number: str
    corrected_number: str = ""
    corrected_date: date | None = None

    @property
    def net(self) -> Decimal:
        return sum((r.net for r in self.vat_rows), Decimal(0))

    @property
    def vat(self) -> Decimal:
        return sum((r.vat for r in self.vat_rows), Decimal(0))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def label(document: dict) -> str:
    return f"document {document.get('number') or '(no number)'} (Saldeo id {document.get('document_id')})"


def to_accounting(document: dict, settings: AccountingExportSettings, variable: str) -> AccountingDocument:
    """The hub document as the accounting program will receive it; ``variable`` (where the settings live) is
    named in a refusal."""
    name = label(document)
    kind = (document.get("document_type") or {}).get("model_type", "")
    if kind not in settings.document_types:
        raise RecordRejected(f"{name}: field DOCUMENT_TYPE/MODEL_TYPE {kind!r} has no EPP document type; add it to "
                       f"document_types in Variable {variable}, then retry", "UNMAPPED_DOCUMENT_TYPE")
    category = document.get("category") or ""
    if category not in settings.accounts:
        raise RecordRejected(f"{name}: field CATEGORY {category!r} has no account mapping; add it to accounts in Variable "
                       f"{variable} (the account or category the accounting program posts it to), then "
                       "retry", "UNMAPPED_ACCOUNT")
    corrective = str(document.get("is_corrective", "")).lower() == "true"
    if corrective and not document.get("corr_inv_num"):
        raise RecordRejected(f"{name}: field CORR_INV_NUM is empty; a correction must name the corrected document",
                             "INVALID_DATA")
    symbols = {rate.lower(): symbol for rate, symbol in settings.vat_symbols.items()}
    rows = []
    for index, row in enumerate(document.get("vat_registries") or [], start=1):
        rate = (row.get("rate") or "").strip()
        if rate.lower() not in symbols:
            raise RecordRejected(f"{name}: field VAT_REGISTRIES/VAT_REGISTRY[{index}]/RATE {rate!r} has no EPP VAT symbol; "
                           f"add it to vat_symbols in Variable {variable}, then retry", "UNMAPPED_VAT_RATE")
        symbol = symbols[rate.lower()]
        percent = Decimal(symbol) if symbol.isdigit() else Decimal(0)
        rows.append(VatRow(symbol, percent, amount(row, "netto", name, index), amount(row, "vat", name, index)))
    if not rows:
        raise RecordRejected(f"{name}: field VAT_REGISTRIES is empty; an accounting program needs the VAT table",
                             "INVALID_DATA")
    contractor = document.get("contractor") or {}
    if not (contractor.get("contractor_program_id") or contractor.get("vat_number")):
        raise RecordRejected(f"{name}: fields CONTRACTOR/CONTRACTOR_PROGRAM_ID and CONTRACTOR/VAT_NUMBER are both "
                             "empty; the accounting program needs the counterparty's code", "INVALID_DATA")
    result = AccountingDocument(
        saldeo_id=str(document["document_id"]),
        sales=kind == SALES_KIND,
        document_type=("K" if corrective else "") + settings.document_types[kind],
        number=document.get("number") or "",
        issue_date=day(document, "issue_date", name),
        sale_date=day(document, "sale_date", name, "issue_date"),
        receive_date=day(document, "receive_date", name, "issue_date"),
        payment_date=day(document, "payment_date", name) if document.get("payment_date") else None,
        account=settings.accounts[category],
        counterparty=Counterparty(
            code=contractor.get("contractor_program_id") or contractor.get("vat_number") or "",
            short_name=contractor.get("short_name") or "", full_name=contractor.get("full_name") or "",
            city=contractor.get("city") or "", postcode=contractor.get("postcode") or "",
            street=contractor.get("street") or "", nip=contractor.get("vat_number") or ""),
        vat_rows=tuple(rows),
        currency=document.get("currency_iso4217") or "PLN",
        ksef_number=document.get("ksef_number") or "",
        corrected_number=document["corr_inv_num"] if corrective else "",
        corrected_date=day(document, "corr_inv_date", name) if corrective else None,
    )
    writable(result, name)
    return result


def amount(row: dict, field: str, name: str, index: int) -> Decimal:
    try:
        value = Decimal(row.get(field) or "")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.quantize(CENT):
        raise RecordRejected(f"{name}: field VAT_REGISTRIES/VAT_REGISTRY[{index}]/{field.upper()} "
                             f"{row.get(field)!r} is not an amount in grosze", "INVALID_DATA")
    return value


def day(record: dict, field: str, name: str, fallback: str | None = None, path: str = "") -> date:
    """The record's date ``field`` (else ``fallback``); RecordRejected naming ``name`` and ``path + FIELD``."""
    value = record.get(field) or (record.get(fallback) if fallback else None) or ""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RecordRejected(f"{name}: field {path}{field.upper()} {value!r} is not a date (YYYY-MM-DD)",
                             "INVALID_DATA") from None


def writable(document: AccountingDocument, name: str) -> None:
    """Every text of the document must fit the EPP code page."""
    fits_code_page(name, {"NUMBER": document.number, "account": document.account,
                          "CORR_INV_NUM": document.corrected_number, "KSEF_NUMBER": document.ksef_number,
                          **{f"CONTRACTOR/{k.upper()}": v for k, v in vars(document.counterparty).items()}})


def fits_code_page(name: str, texts: dict[str, str]) -> None:
    """Each text ({field: value}) must fit the EPP code page: refused naming the record and the field rather than
    written as '?'."""
    for field, value in texts.items():
        try:
            value.encode(CODE_PAGE)
        except UnicodeEncodeError as exc:
            raise RecordRejected(f"{name}: field {field} {value!r} has {value[exc.start]!r}, which the EPP code page "
                                 f"({CODE_PAGE}) cannot hold", "INVALID_DATA") from None
