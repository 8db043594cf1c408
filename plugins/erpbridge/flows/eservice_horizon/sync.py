"""Paid e-service payments -> Horizon: the payer found (by personal code or registration number) or created as a
customer, one paid sales invoice per payment, one credit note per refund.

Exactly once: each document carries the payment id in Horizon's ``ExternalRef`` and is looked up there before it is
created, so a run cut short between Horizon's answer and the ledger adopts what it made instead of doubling it; the
ledger's id map (``invoice`` / ``credit_note``) then remembers it. A payment that cannot be invoiced (an unmapped
service, a payer code that fails its check, positions that do not add up, Horizon's refusal) waits in the quarantine
(``payment``) naming the field and the reason, and is tried again each run. Personal codes only ever leave this
module masked (:func:`erpbridge.flows.eservice_horizon.payer.mask`): in logs, reasons, the ledger and errors.
"""

from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from erpbridge.errors import ExternalSystemError, RecordRejected, RunFailures
from erpbridge.flows.eservice_horizon import mapping
from erpbridge.flows.eservice_horizon.payer import PERSON, Payer, checked, mask
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM = "eservice"
PAYMENT, INVOICE, CREDIT_NOTE, CUSTOMER = "payment", "invoice", "credit_note", "customer"
STREAM = "payments"
DUPLICATE = "DUPLICATE_REFERENCE"  # Horizon's refusal of a second document with one ExternalRef
DUPLICATE_CUSTOMER = "DUPLICATE_REG_NO"  # Horizon's refusal of a second customer with one RegNo in a Country


class Deferred(Exception):
    """A payment left for the next run without a failure of its own (its payer's customer is in doubt)."""


@dataclass
class Counts:
    invoices: int = 0
    credit_notes: int = 0
    customers_created: int = 0
    customers_found: int = 0
    unchanged: int = 0
    waiting: int = 0
    not_paid: int = 0
    problems: list[str] = field(default_factory=list)


class PaymentSync:
    def __init__(self, eservice, horizon, ledger: Ledger, settings):
        self.eservice, self.horizon, self.ledger = eservice, horizon, ledger.of(SYSTEM)
        self.settings = settings
        self.counts = Counts()
        self.failures = RunFailures(PAYMENT)
        self.customers: dict[tuple[str, str], str] = {}  # (country, code) -> Horizon customer pk, this run
        self.doubtful: set[tuple[str, str]] = set()  # payers whose customer Horizon may have made unanswered

    def run(self) -> Counts:
        mark = self.ledger.watermark(STREAM)
        since = _instant(mark) - timedelta(minutes=self.settings.watermark_overlap_minutes) if mark else None
        seen, held = set(), False
        for page in self.eservice.iter_payments(since):
            for payment in page:
                seen.add(str(payment.get("id")))
                held = not self._one(payment) or held  # a payment that failed keeps the watermark before it
                changed = payment.get("changed_at")
                if not held and changed and (mark is None or _instant(changed) > _instant(mark)):
                    mark = changed
            if mark:
                self.ledger.set_watermark(STREAM, mark)
            self.ledger.commit()
        waiting = [pid for pid in self.ledger.quarantined(PAYMENT) if pid not in seen]
        gone = {}
        for pid in waiting:
            payment = self.eservice.payment(pid)
            if payment is None:
                gone[pid] = "the e-service portal no longer has this payment"
            else:
                self._one(payment)
        self.ledger.gone(PAYMENT, gone)
        self.ledger.commit()
        self.failures.raise_if_any()
        return self.counts

    def preview(self) -> Counts:
        """What a run would do, writing nothing (Horizon and the ledger as they were): the invoices and credit notes
        it would make and the payments that would wait, each logged (personal codes masked) and counted."""
        mark = self.ledger.watermark(STREAM)
        since = _instant(mark) - timedelta(minutes=self.settings.watermark_overlap_minutes) if mark else None
        for page in self.eservice.iter_payments(since):
            for payment in page:
                pid = str(payment.get("id"))
                if not mapping.invoiced(payment):
                    self.counts.not_paid += 1
                    continue
                try:
                    invoice = mapping.invoice(payment, self.settings.services, self.settings.timezone)
                    payer = checked(payment.get("payer"))
                except RecordRejected as exc:
                    self.counts.waiting += 1
                    self.counts.problems.append(f"payment {pid}: {exc.reason}")
                    continue
                invoiced = bool(self.ledger.mappings(INVOICE, [pid]))
                if not invoiced:
                    self.counts.invoices += 1
                    log.info("dry run: payment %s would be invoiced for %s, %s EUR", pid, payer.shown, invoice.total)
                if invoice.refunded_on and not self.ledger.mappings(CREDIT_NOTE, [pid]):
                    self.counts.credit_notes += 1
                    log.info("dry run: payment %s would get its credit note, %s EUR", pid, -invoice.total)
                elif invoiced:
                    self.counts.unchanged += 1
        return self.counts

    def _one(self, payment: dict) -> bool:
        """Invoice (and credit) one payment; False when a system failure left it for the next run."""
        pid = str(payment.get("id"))
        if not mapping.invoiced(payment):
            self.counts.not_paid += 1
            return True
        try:
            invoice = mapping.invoice(payment, self.settings.services, self.settings.timezone)
            payer = checked(payment.get("payer"))
            done = self.ledger.mappings(INVOICE, [pid]).get(pid)
            invoice_pk = done[0] if done else self._document(INVOICE, invoice, payer)
            if invoice.refunded_on and not self.ledger.mappings(CREDIT_NOTE, [pid]):
                self._document(CREDIT_NOTE, invoice, payer, invoice_pk)
            elif done:
                self.counts.unchanged += 1
        except RecordRejected as exc:
            self._wait(payment, exc)
            return True
        except Deferred as exc:
            self.ledger.log([Outcome(PAYMENT, pid, "skipped", payment.get("service_code"), None, "DEFERRED", str(exc))])
            self.ledger.commit()
            return False
        except ExternalSystemError as exc:
            self.ledger.log([Outcome(PAYMENT, pid, "failed", payment.get("service_code"), None, exc.category,
                                     str(exc))])
            self.ledger.commit()
            log.warning("payment %s: not invoiced this run: %s", pid, exc)
            if self.failures.add(pid, exc):
                self.failures.raise_if_any()
            return False
        self.failures.succeeded()
        self.ledger.release(PAYMENT, [pid])
        self.ledger.commit()
        return True

    def _document(self, entity: str, invoice: mapping.Invoice, payer: Payer, invoice_pk: str | None = None) -> str:
        """The invoice (or credit note) in Horizon: the one already there with its ExternalRef, else a new one;
        remembered and logged either way."""
        credit = entity == CREDIT_NOTE
        reference = invoice.external_ref + (mapping.REFUND_SUFFIX if credit else "")
        with _redacted(payer):
            pk = self.horizon.sales_document(reference)
            if pk is None:
                customer = self._customer(payer, invoice.external_ref)
                document = invoice.credit_note(customer, invoice_pk) if credit else invoice.document(customer)
                try:
                    pk, note = self.horizon.create_sales_document(document), "created"
                except RecordRejected as exc:  # an earlier attempt's POST landed after all (e.g. a timed-out one)
                    pk = self.horizon.sales_document(reference) if exc.category == DUPLICATE else None
                    if pk is None:
                        raise
                    note = "found in Horizon (an earlier attempt's), adopted"
                else:
                    kind = "credit_notes" if credit else "invoices"
                    setattr(self.counts, kind, getattr(self.counts, kind) + 1)
            else:
                note = "found in Horizon (made by a run cut short before the ledger knew), adopted"
        total = -invoice.total if credit else invoice.total
        self.ledger.remember(entity, invoice.external_ref, pk, None)
        self.ledger.log([Outcome(entity, invoice.external_ref, "created" if note == "created" else "unchanged",
                                 payer.shown, pk, None, f"{entity.replace('_', ' ')} {pk} for {payer.shown},"
                                 f" {total} EUR: {note}")])
        self.ledger.commit()
        log.info("payment %s: %s %s for %s, %s EUR (%s)", invoice.external_ref, entity.replace("_", " "), pk,
                 payer.shown, total, note)
        return pk

    def _customer(self, payer: Payer, pid: str) -> str:
        """Horizon's customer for the payer: found by code before created (call inside ``_redacted``)."""
        key = (payer.country, payer.reg_no)
        if key in self.doubtful:  # asking now could miss a customer Horizon is still making: next run
            raise Deferred(f"the customer for {payer.shown} may have been made unanswered this run: next run")
        if key not in self.customers:
            found = self.horizon.customers_with_reg_no(payer.reg_no, payer.country)
            if found:
                self.customers[key] = found[0]
                self.counts.customers_found += 1
            else:
                try:
                    self.customers[key] = self.horizon.create_customer({
                        "name": payer.name, "reg_no": payer.reg_no, "country": payer.country, "email": payer.email,
                        "address": payer.address, "person_type": "PERSON" if payer.kind == PERSON else "COMPANY"})
                except RecordRejected as exc:  # an earlier run's create, unanswered, landed meanwhile: adopt it
                    found = self.horizon.customers_with_reg_no(payer.reg_no, payer.country)
                    if exc.category != DUPLICATE_CUSTOMER or not found:
                        raise
                    self.customers[key] = found[0]
                    self.counts.customers_found += 1
                    return found[0]
                except ExternalSystemError:
                    self.doubtful.add(key)
                    raise
                self.counts.customers_created += 1
                self.ledger.log([Outcome(CUSTOMER, pid, "created", payer.shown, self.customers[key])])
                self.ledger.commit()
        return self.customers[key]

    def _wait(self, payment: dict, exc: RecordRejected) -> None:
        pid = str(payment.get("id") or "(no id)")[:64]
        reason = exc.reason
        self.ledger.quarantine(PAYMENT, pid, payment.get("service_code"), reason, exc.category, masked(payment))
        self.ledger.log([Outcome(PAYMENT, pid, "rejected", payment.get("service_code"), None, exc.category, reason)])
        self.ledger.commit()
        self.counts.waiting += 1
        self.counts.problems.append(f"payment {pid}: {reason}")


def masked(payment: dict) -> dict:
    """The payment as the quarantine may keep it: the payer's personal code masked."""
    shown = copy.deepcopy(payment)
    payer = shown.get("payer")
    if isinstance(payer, dict) and payer.get("personal_code"):
        payer["personal_code"] = mask(payer["personal_code"])
    return shown


@contextmanager
def _redacted(payer: Payer):
    """Horizon's refusals and failures with the payer's personal code masked (its query carries the code)."""
    def hide(text: str) -> str:
        return text.replace(payer.reg_no, mask(payer.reg_no)) if payer.kind == PERSON else text

    try:
        yield
    except RecordRejected as exc:
        raise RecordRejected(f"Horizon refused it: {hide(exc.reason)}", exc.category) from None
    except ExternalSystemError as exc:
        raise ExternalSystemError(exc.system, hide(exc.message), exc.category, exc.status) from None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
