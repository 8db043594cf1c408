"""Bank statements of ``saldeo_accounting_export`` (setting ``bank_statements``): the hub's statements
(``bank_statement/list``) -> a file of their own in the company's destination, in the program's format for them
(Optima XML: cash/bank reports ``RAPORTY_KB``; EPP: bank documents ``BP`` / ``BW``, see ``epp_bank``).

A file of their own, not the documents' file: statements have no mark in the hub (the open client knows no call
for it), so they are kept once by the ledger alone, and the documents' files stay as they were.
The statements' file is recorded in ``accounting_export_file`` with its statements' ``document_transfer`` rows
(stage 'done': nothing is marked in the hub) in one transaction before it is written; the export's
``write_recorded`` then delivers it, so a crash before or after the write is finished by the next run, which
writes the recorded bytes again and never puts a statement into a second file. ``reexport_month`` rewrites it
like any exchange file (its period: the statements' periods).

A statement's identity is its account number and period (the list gives no statement id). A statement waits,
unlisted in any file, until every operation is approved in the hub; one that cannot be written (no bank register
mapped for its account, a foreign currency, an operation without a direction, amount or date) waits in the
quarantine naming the statement, the field and what to do, and the rest go on.

ASSUMED, verify first (each lives only here): ``READY`` - a statement is complete once every operation has
``IS_APPROVED`` true; ``DIRECTIONS`` - ``DEBIT_CREDIT`` is ``CREDIT`` (money in) or ``DEBIT`` (money out) and
``VALUE`` the amount without a sign; the identity (account number + period) as ``statement_key``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.flows.accounting_exchange import epp_bank, files, optima
from erpbridge.flows.accounting_exchange.documents import day
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings
from erpbridge.ledger.store import DocumentState, Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM, STATEMENT = "saldeo", "bank_statement"
DIRECTIONS = {"CREDIT": True, "DEBIT": False}  # DIRECTIONS: DEBIT_CREDIT -> money in
CURRENCY = "PLN"  # the one currency written: the hub's list gives no exchange rate for the PLN value
CENT = Decimal("0.01")
# format -> the statements' writer ((statements, settings) -> bytes); a format not here holds no statements
WRITERS = {"optima": lambda statements, s: optima.render_statements(statements, s.company_program_id),
           "epp": lambda statements, s: epp_bank.render(statements, s.sender, s.format_version)}
EXTENSIONS = {"optima": "xml", "epp": "epp"}
CHECKS = {"epp": epp_bank.check}  # format -> what a statement must pass to be written in it: (statement, its label)
NO_STATEMENTS = {"ksef_fa3": "KSeF FA(3) is a schema for invoices only and holds no bank statements"}


@dataclass(frozen=True)
class BankOperation:
    day: date
    amount: Decimal  # without a sign
    incoming: bool  # money into the account (else out of it)
    description: str
    counterparty_account: str


@dataclass(frozen=True)
class BankStatement:
    key: str  # account number + period: the statement's identity in the ledger and its ID_ZRODLA
    account: str  # the statement's account number, without spaces
    register: str  # the accounting program's bank register
    reference: str  # the hub's file name of the statement
    currency: str
    period_from: date
    period_to: date
    operations: tuple[BankOperation, ...]


class StatementsRefused(ExternalSystemError):
    """The statements could not be exported (logged already); the documents go on, the run fails at its end."""

    def __init__(self, category: str, message: str):
        super().__init__("erpbridge", message, category)


def account_number(value: str | None) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def statement_key(statement: dict) -> str:
    return "/".join((account_number(statement.get("bank_statement_account_number")),
                     statement.get("bank_statement_period_from") or "",
                     statement.get("bank_statement_period_to") or ""))


def label(statement: dict) -> str:
    return (f"bank statement of account {statement.get('bank_statement_account_number') or '(none)'} for "
            f"{statement.get('bank_statement_period_from') or '?'}..{statement.get('bank_statement_period_to') or '?'}")


def ready(statement: dict) -> bool:
    """READY: every operation approved in the hub."""
    return all((o.get("is_approved") or "").lower() in ("true", "1") for o in statement.get("bank_operations", []))


def to_statement(statement: dict, settings: AccountingExportSettings, variable: str) -> BankStatement:
    """The hub's statement as the accounting program will receive it; RecordRejected naming the field if it cannot."""
    name = label(statement)
    registers = {account_number(k): v for k, v in settings.bank_accounts.items()}
    account = account_number(statement.get("bank_statement_account_number"))
    if account not in registers:
        given = statement.get("bank_statement_account_number") or ""
        raise RecordRejected(
            f"{name}: field BANK_STATEMENT_ACCOUNT_NUMBER {given!r} has no bank register mapping; add it to "
            f"bank_accounts in Variable {variable} (the account number -> the bank register of the accounting "
            "program), then retry", "UNMAPPED_BANK_ACCOUNT")
    currency = statement.get("currency_iso4217") or CURRENCY
    if currency != CURRENCY:
        raise RecordRejected(f"{name}: field CURRENCY_ISO4217 {currency!r}: only {CURRENCY} statements are exported "
                             "(the hub gives no exchange rate for the PLN value); enter this statement in the "
                             "accounting program by hand", "FOREIGN_CURRENCY")
    operations = tuple(operation(o, name, f"BANK_OPERATIONS/BANK_OPERATION[{n}]/")
                       for n, o in enumerate(statement.get("bank_operations", []), start=1))
    result = BankStatement(key=statement_key(statement), account=account, register=registers[account],
                           reference=statement.get("bank_statement_filename") or "", currency=currency,
                           period_from=day(statement, "bank_statement_period_from", name),
                           period_to=day(statement, "bank_statement_period_to", name), operations=operations)
    if settings.format in CHECKS:
        CHECKS[settings.format](result, name)
    return result


def operation(o: dict, name: str, path: str) -> BankOperation:
    direction = (o.get("debit_credit") or "").upper()
    if direction not in DIRECTIONS:
        raise RecordRejected(f"{name}: field {path}DEBIT_CREDIT {o.get('debit_credit')!r} is neither CREDIT nor DEBIT",
                             "INVALID_DATA")
    try:
        amount = Decimal(o.get("value") or "")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise RecordRejected(f"{name}: field {path}VALUE {o.get('value')!r} is not an amount in grosze without a sign",
                             "INVALID_DATA")
    field = "operation_date" if o.get("operation_date") else "accounting_date"
    return BankOperation(day=day(o, field, name, path=path), amount=amount, incoming=DIRECTIONS[direction],
                         description=" ".join((o.get("operation_description") or "").split()),
                         counterparty_account=account_number(o.get("bank_operation_account_number")))


def record(settings: AccountingExportSettings, ledger: Ledger, hook, variable: str) -> dict:
    """The company's ready statements not yet in a file -> one recorded file (committed; written by the export's
    ``write_recorded``). StatementsRefused (logged) when the format holds none or the hub refuses the list."""
    ids = ledger.of(SYSTEM)
    if settings.format not in WRITERS:
        refuse(ids, "settings", "FORMAT_VERSION",
               f"bank statements cannot be exported as {settings.format}: {NO_STATEMENTS.get(settings.format, '')}. "
               f"What to do: set bank_statements to false in Variable {variable}, or format to one that holds them "
               f"({', '.join(WRITERS)}); the documents are exported as before")
    try:
        listed = hook.bank_statements(settings.company_program_id)
    except ExternalSystemError as exc:
        if exc.category == "AuthenticationRequired":
            return {}  # the documents' call that follows reports it, as HUB_CREDENTIALS
        refuse(ids, "hub", "HUB_BANK_STATEMENTS",
               f"SaldeoSMART refused the bank statements of company {settings.company_program_id} ({exc.message}). "
               "What to do: give the API user the Bank statements module in SaldeoSMART (6001: no access), or set "
               f"bank_statements to false in Variable {variable}; the documents are exported as before")
    candidates = new_statements(settings, ids, listed)
    counts = {"statements_exported": 0, "statements_rejected": 0, "statements_waiting": 0}
    mapped: list[BankStatement] = []
    for key, statement in candidates.items():
        if not ready(statement):
            counts["statements_waiting"] += 1
            log.info("%s waits: not every operation is approved in SaldeoSMART", label(statement))
            continue
        try:
            mapped.append(to_statement(statement, settings, variable))
        except RecordRejected as refused:
            ids.quarantine(STATEMENT, key, label(statement), refused.reason, refused.category, statement)
            ids.log([Outcome(STATEMENT, key, "rejected", label(statement), None, refused.category, refused.reason)])
            log.warning("%s", refused.reason)
            counts["statements_rejected"] += 1
    ids.release(STATEMENT, [s.key for s in mapped])
    if mapped:
        record_file(settings, ids, mapped, {s.key: label(candidates[s.key]) for s in mapped})
        counts["statements_exported"] = len(mapped)
    ledger.commit()
    return counts


def new_statements(settings: AccountingExportSettings, ledger: Ledger, listed: list[dict]) -> dict[str, dict]:
    """{key: statement} of the listed statements in no file yet and not older than ``bank_statements_since``."""
    since = settings.bank_statements_since
    candidates = {statement_key(s): s for s in listed
                  if not since or (s.get("bank_statement_period_to") or "9999") >= since.isoformat()}
    done = ledger.document_states(STATEMENT, list(candidates))
    return {key: candidates[key] for key in sorted(candidates) if key not in done}


def preview(settings: AccountingExportSettings, ledger: Ledger, hook, variable: str) -> dict:
    """What a run would do with the statements, writing nothing: each logged, their counts returned."""
    if settings.format not in WRITERS:
        log.warning("dry run, would refuse the bank statements: %s", NO_STATEMENTS.get(settings.format, ""))
        return {}
    counts = {"statements_would_export": 0, "statements_would_reject": 0, "statements_waiting": 0}
    listed = hook.bank_statements(settings.company_program_id)
    for statement in new_statements(settings, ledger.of(SYSTEM), listed).values():
        if not ready(statement):
            counts["statements_waiting"] += 1
            continue
        try:
            to_statement(statement, settings, variable)
        except RecordRejected as refused:
            log.warning("dry run, would refuse: %s", refused.reason)
            counts["statements_would_reject"] += 1
            continue
        log.info("dry run, would export %s", label(statement))
        counts["statements_would_export"] += 1
    return counts


def record_file(settings: AccountingExportSettings, ledger: Ledger, statements: list[BankStatement],
                labels: dict[str, str]) -> None:
    """The statements' file and their 'done' rows, in the caller's transaction."""
    first = statements[0]
    name = (f"{files.company_part(settings.company_program_id)}-bank-{first.period_from:%Y%m%d}-"
            f"{hashlib.sha256(first.key.encode()).hexdigest()[:10]}.{EXTENSIONS[settings.format]}")
    files.record(ledger, files.ExchangeFile(
        name=name, destination=settings.destination, content=WRITERS[settings.format](statements, settings),
        documents=len(statements), first_issue_date=min(s.period_from for s in statements),
        last_issue_date=max(s.period_to for s in statements)))
    ledger.set_document_states(STATEMENT, [(s.key, labels[s.key], DocumentState(f"saldeo-bank:{s.key}", "done", name))
                                           for s in statements])
    ledger.log([Outcome(STATEMENT, s.key, "created", labels[s.key], name) for s in statements])
    log.info("recorded %s with %d bank statement(s)", name, len(statements))


def refuse(ledger: Ledger, source_id: str, category: str, message: str) -> None:
    ledger.log([Outcome(STATEMENT, source_id, "failed", None, None, category, message)])
    ledger.commit()
    log.error("%s: %s", category, message)
    raise StatementsRefused(category, message)
