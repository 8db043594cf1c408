"""Confirmed payroll runs in Horizon -> one pain.001.001.03 file per run and paying account, paid once.

Every payment is checked first (the employee's IBAN with schwifty, the amount to the cent, a name in SEPA
characters); one refused payment holds its whole file (a bank file is all or nothing) and waits in the
quarantine with the reason. A file is recorded in the ledger (payment_file: message id, creation time, hash of
the payments) before it is delivered to the bank folder (a local folder or SFTP, engine.destinations: temp name +
rename), and marked written after: a rerun, even after a crash or a refused delivery in between, rebuilds the
identical bytes and delivers them. Different payments for a run and account already
written make a second file only when a person confirms it (``confirmed``). ``preview`` says what ``pay`` would do,
writing nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from erpbridge.engine import destinations
from erpbridge.errors import ExternalSystemError
from erpbridge.flows.horizon_payments import pain001
from erpbridge.hooks.exchange_sftp import SftpRefused
from erpbridge.ledger.payment_files import PaymentFile, PaymentFiles
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM = "visma_horizon"
PAYMENT = "payroll_payment"  # transfer log / quarantine: one employee's net pay of a run
FILE = "payment_file"  # transfer log: one file (run / paying account)
_SAFE = re.compile(r"[^A-Za-z0-9-]")


class BankFolderRefused(ValueError):
    """The configured bank folder is not an existing folder."""


class BankFileNotDelivered(ExternalSystemError):
    """The bank folder refused a recorded file (``category``: DESTINATION_<kind>); the next run delivers it."""

    def __init__(self, category: str, message: str):
        super().__init__("erpbridge", message, category)


@dataclass
class FileGroup:
    """The payments of one run from one paying account: a file, or held with every refusal."""

    run: dict
    payer_iban: str
    transfers: list[pain001.CreditTransfer] = field(default_factory=list)
    employees: list[str] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)  # employee code -> why
    skipped: dict[str, str] = field(default_factory=dict)  # employee code -> why (nothing to pay)

    @property
    def key(self) -> str:
        return f"{self.run['pk']}/{self.payer_iban}"

    @property
    def payments_hash(self) -> str:
        text = "\n".join(f"{t.end_to_end_id}|{t.iban}|{t.name}|{t.amount}|{t.remittance}" for t in self.transfers)
        return hashlib.sha256(f"{self.run['pay_date']}\n{text}".encode()).hexdigest()

    @property
    def control_sum(self) -> Decimal:
        return sum((t.amount for t in self.transfers), Decimal("0.00"))


def mask(iban: str | None) -> str:
    """An account as shown in logs and reasons: country and last four characters."""
    compact = re.sub(r"\s", "", iban or "")
    return f"{compact[:2]}…{compact[-4:]}" if len(compact) > 6 else "…"


def groups(run: dict, payments: list[dict], remittance: str) -> list[FileGroup]:
    """The run's payments checked and grouped by paying account (in account order)."""
    by_payer: dict[str, FileGroup] = {}
    run_problem = _run_problem(run)
    for payment in sorted(payments, key=lambda p: p.get("employee_code") or ""):
        payer = re.sub(r"\s", "", payment.get("payer_iban") or "").upper()
        group = by_payer.setdefault(payer, FileGroup(run, payer))
        code = payment.get("employee_code") or "(no employee code)"
        problem = run_problem or _payer_problem(payer)
        try:
            amount = _amount(payment.get("net_amount"))
        except ValueError as exc:
            group.refusals[code] = problem or f"net amount: {exc}"
            continue
        if amount == 0 and not problem:
            group.skipped[code] = "net pay 0.00: nothing to pay"
            continue
        iban, iban_problem = _checked_iban(payment.get("iban"))
        name = pain001.sepa_text(payment.get("name"), 70)
        problem = problem or iban_problem or ("" if name else "name: empty in SEPA characters") \
            or ("" if amount > 0 else f"net amount {amount} is negative")
        if problem:
            group.refusals[code] = problem
            continue
        group.employees.append(code)
        group.transfers.append(pain001.CreditTransfer(
            end_to_end_id=pain001.sepa_text(f"R{run['pk']}-{code}", 35), name=name, iban=str(iban), bic=_bic(iban),
            amount=amount, remittance=pain001.sepa_text(remittance.replace("{period}", run.get("period") or ""), 140)))
    return [by_payer[payer] for payer in sorted(by_payer)]


def _run_problem(run: dict) -> str:
    if (run.get("currency") or "EUR") != "EUR":
        return f"payroll run {run['pk']} is in {run.get('currency')}: SEPA credit transfers are in EUR"
    try:
        date.fromisoformat(run.get("pay_date") or "")
    except ValueError:
        return f"payroll run {run['pk']} has no readable pay date ({run.get('pay_date')!r})"
    return ""


def _payer_problem(payer: str) -> str:
    if not payer:
        return "paying account (PayerIBAN) missing"
    _, problem = _checked_iban(payer)
    return f"paying account {mask(payer)}: {problem}" if problem else ""


def _checked_iban(text: str | None) -> tuple[IBAN | None, str]:
    if not (text or "").strip():
        return None, "IBAN missing"
    try:
        iban = IBAN(text)
    except SchwiftyException as exc:
        return None, f"IBAN {mask(text)} invalid: {str(exc).replace(text, mask(text))}"
    if not iban.in_sepa_zone:
        return None, f"IBAN {mask(text)} is outside the SEPA zone"
    return iban, ""


def _bic(iban: IBAN) -> str | None:
    try:
        return str(iban.bic) if iban.bic else None
    except SchwiftyException:
        return None


def _amount(text) -> Decimal:
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {str(text)[:40]!r}") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{text!r} is not an amount in cents")
    if abs(amount) > Decimal("999999999.99"):
        raise ValueError(f"{text!r} is beyond what a transfer carries")
    return amount.quantize(Decimal("0.01"))


# --- writing -------------------------------------------------------------------------------------

@dataclass
class Written:
    created: int = 0
    unchanged: int = 0
    held: int = 0
    to_confirm: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)  # a dry run: each file's action (engine.report's rows)


def bank_folder(configured: str) -> str:
    """The bank folder's location: an existing local folder, or an SFTP one (checked when a file is delivered)."""
    if destinations.is_remote(configured):
        return configured
    folder = Path(configured)
    if not folder.is_absolute() or not folder.is_dir():
        raise BankFolderRefused(f"bank folder {configured!r} (bank_folder in the Variable erpbridge_horizon_payments)"
                                " is not an existing folder")
    return str(folder.resolve())


def pay(ledger: Ledger, group: FileGroup, folder: str, debtor_name: str, result: Written,
        confirmed: dict[str, str] | None = None, confirmed_by: str | None = None) -> None:
    """Write ``group``'s file unless it is held or needs a confirmation; ``confirmed``: {file key: payments hash
    ``confirmed_by`` allowed as a second file}. Logs every refusal and the file's outcome; commits."""
    ledger = ledger.of(SYSTEM)
    files = PaymentFiles(ledger)
    if group.refusals:
        _hold(ledger, group)
        result.held += 1
        return
    ledger.release(PAYMENT, [f"{group.run['pk']}/{code}" for code in group.employees])
    if not group.transfers:
        ledger.commit()
        return
    latest = files.latest(group.run["pk"], group.payer_iban)
    digest = group.payments_hash
    if latest is None:
        latest, action = _new_version(ledger, group, 1), "created"
    elif latest.file_sha256 is None:  # recorded, never written (a crash): with what it holds now
        latest = _record(files, group, latest.version, latest.msg_id, latest.created, latest.file_name)
        action = "created" if latest.version == 1 else "updated"
    elif latest.payments_hash == digest:
        action = "unchanged"
    elif (confirmed or {}).get(group.key) == digest:
        latest, action = _new_version(ledger, group, latest.version + 1, confirmed_by), "updated"
    else:
        result.to_confirm.append(_confirmation(group, latest))
        ledger.commit()
        return
    ledger.commit()
    document = pain001.build(_order(group, latest, debtor_name))
    sha = hashlib.sha256(document).hexdigest()
    if latest.file_sha256 is not None and sha != latest.file_sha256:
        raise pain001.InvalidPaymentFile(f"file {latest.file_name} rebuilt differs from the one written"
                                         f" (sha256 {latest.file_sha256[:12]}…): not written again")
    _deliver(ledger, group, folder, latest.file_name, document)
    files.written(latest, sha)
    ledger.log([Outcome(FILE, group.key, action, group.run.get("period"), latest.file_name, None,
                        f"{len(group.transfers)} payments, control sum {group.control_sum}, message {latest.msg_id},"
                        f" sha256 {sha}")])
    ledger.commit()
    if action == "unchanged":
        result.unchanged += 1
    else:
        result.created += 1
    log.info("payroll run %s, account %s: %s %s (%d payments, %s EUR)", group.run["pk"], mask(group.payer_iban),
             action, latest.file_name, len(group.transfers), group.control_sum)


def preview(ledger: Ledger, group: FileGroup, result: Written) -> None:
    """What ``pay`` would do with ``group``, counted in ``result`` and listed in its preview: nothing is written (no
    file, no ledger row)."""
    row = {"key": f"run {group.run['pk']}, account {mask(group.payer_iban)}",
           "payload": {"payments": len(group.transfers), "sum": str(group.control_sum)}}
    if group.refusals:
        result.held += 1
        result.preview.append({**row, "action": "held", "reason": _reasons(group)})
        return
    if not group.transfers:
        return
    latest = PaymentFiles(ledger.of(SYSTEM)).latest(group.run["pk"], group.payer_iban)
    if latest is None or latest.file_sha256 is None:
        result.created += 1
        row |= {"action": "created", "target_id": latest.file_name if latest else _file_name(group, 1)}
    elif latest.payments_hash == group.payments_hash:
        result.unchanged += 1
        row |= {"action": "unchanged", "target_id": latest.file_name}
    else:
        result.to_confirm.append(_confirmation(group, latest))
        row |= {"action": "needs a confirmation", "target_id": _file_name(group, latest.version + 1)}
    result.preview.append(row)


def _reasons(group: FileGroup) -> str:
    return "; ".join(f"{code}: {why}" for code, why in sorted(group.refusals.items()))


def _hold(ledger: Ledger, group: FileGroup) -> None:
    reasons = _reasons(group)
    for code, why in sorted(group.refusals.items()):
        source_id = f"{group.run['pk']}/{code}"
        ledger.quarantine(PAYMENT, source_id, code, why, "REFUSED", {"run": group.run["pk"], "employee": code,
                                                                     "period": group.run.get("period")})
        ledger.log([Outcome(PAYMENT, source_id, "rejected", code, None, "REFUSED", why)])
    ledger.log([Outcome(FILE, group.key, "skipped", group.run.get("period"), None, "HELD",
                        f"file held, nothing written for account {mask(group.payer_iban)}:"
                        f" {len(group.refusals)} payment(s) refused ({reasons})")])
    ledger.commit()
    log.warning("payroll run %s, account %s: file held, %d payment(s) refused: %s", group.run["pk"],
                mask(group.payer_iban), len(group.refusals), reasons)


def _new_version(ledger: Ledger, group: FileGroup, version: int, confirmed_by: str | None = None) -> PaymentFile:
    run_pk = group.run["pk"]
    tag = hashlib.sha256(f"{ledger.company}|{run_pk}|{group.payer_iban}|{version}".encode()).hexdigest()[:10]
    msg_id = f"ERPB-{_SAFE.sub('', run_pk)[:12]}-{version}-{tag}"
    created = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    return _record(PaymentFiles(ledger), group, version, msg_id, created, _file_name(group, version), confirmed_by)


def _file_name(group: FileGroup, version: int) -> str:
    period = _SAFE.sub("", group.run.get("period") or "")
    return f"payroll_{period}_run{_SAFE.sub('', group.run['pk'])}_{group.payer_iban}_v{version}.xml"


def _record(files: PaymentFiles, group: FileGroup, version: int, msg_id: str, created: datetime, name: str,
            confirmed_by: str | None = None) -> PaymentFile:
    entry = PaymentFile(group.run["pk"], group.payer_iban, version, msg_id, created, name, group.payments_hash, None,
                        len(group.transfers), group.control_sum)
    files.record(entry, confirmed_by)
    return entry


def _order(group: FileGroup, entry: PaymentFile, debtor_name: str) -> pain001.PaymentOrder:
    payer = IBAN(group.payer_iban)
    return pain001.PaymentOrder(msg_id=entry.msg_id, created=entry.created,
                                debtor_name=pain001.sepa_text(debtor_name, 70), debtor_iban=str(payer),
                                debtor_bic=_bic(payer), execution_date=date.fromisoformat(group.run["pay_date"]),
                                transfers=tuple(group.transfers))


def _confirmation(group: FileGroup, latest: PaymentFile) -> dict:
    return {"key": group.key, "run_pk": _SAFE.sub("", group.run["pk"]),
            "period": _SAFE.sub("", group.run.get("period") or ""),
            "payer": mask(group.payer_iban), "payments_hash": group.payments_hash,
            "written": latest.file_name, "written_payments": latest.payments,
            "written_sum": str(latest.control_sum), "payments": len(group.transfers), "sum": str(group.control_sum)}


def _deliver(ledger: Ledger, group: FileGroup, folder: str, name: str, document: bytes) -> None:
    """The file into the bank folder unless it is there already; a refusal is logged and fails the run with its
    kind and what to do (the file stays recorded: the next run delivers the same bytes)."""
    try:
        destinations.deliver(folder, name, document, if_different=True)
        return
    except SftpRefused as refused:
        category, reason = destinations.DESTINATION_KIND[refused.kind], refused.message
    except OSError as exc:
        category, reason = "DESTINATION_UNWRITABLE", (
            f"cannot write {name} into {folder}: {exc.strerror or exc}. What to do: give the user Airflow's workers "
            "run as the right to create files in that folder, or set bank_folder in the Variable"
            " erpbridge_horizon_payments to a folder it may write.")
    reason += " The file stays recorded in the ledger; the next run delivers it, the same bytes."
    ledger.log([Outcome(FILE, group.key, "failed", group.run.get("period"), name, category, reason)])
    ledger.commit()
    log.error("payroll run %s, account %s: %s: %s", group.run["pk"], mask(group.payer_iban), category, reason)
    raise BankFileNotDelivered(category, reason)


def confirmation_body(pending: list[dict]) -> str:
    """Markdown for the person asked: each run and account whose payments differ from the file already written."""
    lines = ["**Payroll runs already paid have different payments now.** Writing a second file pays these"
             " employees again unless the first file was never sent to the bank:", "",
             "| run | period | account | written | payments, EUR | now | payments, EUR |",
             "| --- | --- | --- | --- | ---: | --- | ---: |"]
    for item in pending:
        lines.append(f"| {item['run_pk']} | {item['period']} | {item['payer']} | {item['written']} |"
                     f" {item['written_payments']}, {item['written_sum']} | new file | {item['payments']},"
                     f" {item['sum']} |")
    return "\n".join(lines)

