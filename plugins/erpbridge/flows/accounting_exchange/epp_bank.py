"""Bank statements as EPP (EDI++ 1.05) bank documents: "Komunikacja - Struktura danych EDI++", 1.3.3 (Table 9): each
operation a ``BP`` (bank przyjmie, money in) or ``BW`` (bank wyda, money out) document of one ``[NAGLOWEK]`` section
of 56 fields and no ``[ZAWARTOSC]``; the file opens with the ``[INFO]`` of ``epp`` (its period: the operations'
dates). Amounts with four decimals (the description's ``CurrencyDigits=4``).

ASSUMED, verify first (each lives only here): ``BANK_FIELDS`` - Table 9 of the 1.11 description (56 fields), taken
to hold for 1.05; ``RECIPIENT`` - the operation's counterparty as a one-off one (type 4,
no code: the hub's list names none); ``full_number`` - the document number as
``<BP|BW> <n>/<account's last 4 digits>/<period>`` (its place on the statement, the account, the statement's period);
the mapped bank register written as the bank's name (field 50) with the statement's account number (field 51), the
counterparty's account as field 53.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable

from erpbridge.flows.accounting_exchange import epp
from erpbridge.flows.accounting_exchange.documents import CODE_PAGE, fits_code_page
from erpbridge.flows.accounting_exchange.settings import Sender

if TYPE_CHECKING:
    from erpbridge.flows.accounting_exchange.bank_statements import BankStatement

BANK_FIELDS = 56  # BANK_FIELDS
RECIPIENT = 4  # RECIPIENT: a one-off counterparty


@dataclass(frozen=True)
class BankDocument:
    kind: str  # BP or BW
    number: int
    full_number: str
    issue_date: date  # the name epp.info reads a document's date by
    amount: Decimal
    title: str
    counterparty_account: str
    statement: BankStatement


def full_number(kind: str, number: int, s: BankStatement) -> str:
    return f"{kind} {number}/{s.account[-4:]}/{s.period_from:%y%m%d}-{s.period_to:%y%m%d}"


def documents(statements: Iterable[BankStatement]) -> list[BankDocument]:
    out = []
    for s in statements:
        for number, o in enumerate(s.operations, start=1):
            kind = "BP" if o.incoming else "BW"
            out.append(BankDocument(kind, number, full_number(kind, number, s), o.day, o.amount, o.description,
                                    o.counterparty_account, s))
    return out


def header(d: BankDocument) -> str:
    s, zero = d.statement, epp.amount(Decimal(0))
    fields = [
        epp.text(d.kind), "1", str(d.number), epp.text(d.full_number), epp.stamp(d.issue_date),  # done, numbered
        str(RECIPIENT), epp.text(""), *[epp.text("")] * 6,  # the recipient: one-off, no code, no card data
        *[epp.text("")] * 5, "", *[epp.text("")] * 10,  # no employee (field 19 a date)
        *[epp.text("")] * 5, epp.text(""), epp.text(""),  # no office; no category, subtitle
        epp.text(d.title), "0", "", epp.text(""), epp.text(s.reference),  # title, not generated, internal, remarks
        zero, epp.amount(d.amount), "0", epp.text(""), epp.text(""), epp.text(""),  # repaid, value, no simple posting
        epp.text(""), epp.text(""),  # issuing and receiving persons
        epp.text(s.register), epp.text(s.account), epp.text(""), epp.text(d.counterparty_account),
        epp.text(""), epp.text(""), "0",  # the counterparty's country, EU prefix, not an EU one
    ]
    return epp.line(fields, BANK_FIELDS)


def render(statements: Iterable[BankStatement], sender: Sender, version: str) -> bytes:
    if version not in epp.VERSIONS:
        raise epp.UnknownFormatVersion(f"EPP (EDI++) version {version!r} is not one this export writes")
    bank = documents(statements)
    text = "[INFO]" + epp.CRLF + epp.info(sender, bank, version) + epp.CRLF
    text += "".join("[NAGLOWEK]" + epp.CRLF + header(d) + epp.CRLF for d in bank)
    return text.encode(CODE_PAGE)


def check(s: BankStatement, name: str) -> None:
    """Every text of the statement must fit the EPP code page."""
    fits_code_page(name, {"BANK_STATEMENT_FILENAME": s.reference, "bank_accounts (the register)": s.register,
                          **{f"BANK_OPERATIONS/BANK_OPERATION[{n}]/OPERATION_DESCRIPTION": o.description
                             for n, o in enumerate(s.operations, start=1)}})
