"""The weighing round trip: Horizon sales orders of weighed goods -> the weighing system's order list; its
weighings (read after the ledger's cursor) -> labels in the ledger -> one delivery note per order in Horizon.

Exactly once: a label is stored once by its label id (a repost is a duplicate, a voided one never counts, a
late one from an offline station joins its order when it arrives); the labels a note counts are marked with
the note's reference in the transaction that starts its transfer (document_transfer, in_flight), so a rerun
after a crash finds the note in Horizon by that reference instead of creating another. The weighings of one
page and the cursor after it are committed together.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from erpbridge.errors import RecordRejected
from erpbridge.flows.horizon_weighing import labels, notes
from erpbridge.ledger.store import DocumentState, Ledger, Outcome
from erpbridge.ledger.weighings import Weighing, Weighings

log = logging.getLogger(__name__)

ORDER = "sales_order"  # Horizon's ids: an order on the weighing list, or refused
NOTE = "delivery_note"  # Horizon's ids: one per sales order
LABEL = "label"  # the weighing system's ids: a label refused or set aside
CURSOR = "weighings"


@dataclass
class Result:
    sent: int = 0
    labels: int = 0
    set_aside: int = 0  # duplicates and voided labels
    refused: int = 0
    created: int = 0
    waiting: int = 0
    to_review: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)


class WeighingRound:
    def __init__(self, horizon, weighing, ledger: Ledger, tolerance_percent: Decimal, dry_run: bool = False):
        self.horizon, self.weighing, self.dry_run = horizon, weighing, dry_run
        self.orders_ledger, self.labels_ledger = ledger.of("visma_horizon"), ledger.of("weighing")
        self.store = Weighings(ledger)
        self.tolerance = tolerance_percent
        self.result = Result()

    def run(self, approved: dict[str, str] | None = None) -> Result:
        """A full pass; with ``approved`` ({order pk: digest} a person confirmed) only those orders' notes."""
        try:
            if not self.dry_run:
                self._finish_interrupted()
            orders = {o["order_no"]: o for o in self.horizon.weighed_orders()}
            if approved is None:
                self._send(orders)
                self._read_labels(orders)
            for order in orders.values():
                if approved is None or order["pk"] in approved:
                    self._deliver(order, approved or {})
        finally:
            if self.dry_run:
                self.orders_ledger.conn.rollback()  # a preview leaves the ledger as it was
        return self.result

    # --- orders out ----------------------------------------------------------------------------

    def _send(self, orders: dict[str, dict]) -> None:
        sent = self.orders_ledger.mappings(ORDER, [o["pk"] for o in orders.values()])
        for order in orders.values():
            try:
                lines = notes.checked_lines(order)
            except RecordRejected as exc:
                self._refuse_order(order, exc)
                continue
            payload = {"order_no": order["order_no"], "customer": order["customer"],
                       "delivery_date": order["delivery_date"],
                       "lines": [{"line_no": line["line_no"], "gtin": line["gtin"], "item_code": line["item_code"],
                                  "packages": line["packages"], "quantity_kg": str(line["quantity_kg"])}
                                 for line in lines]}
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            if sent.get(order["pk"], (None, None))[1] == digest:
                continue
            action = "updated" if order["pk"] in sent else "created"
            if self.dry_run:
                self.result.preview.append({"action": f"send order ({action})", "key": order["order_no"],
                                            "payload": payload})
                continue
            try:
                self.weighing.put_order(payload)
            except RecordRejected as exc:
                self._refuse_order(order, exc)
                continue
            self.orders_ledger.remember(ORDER, order["pk"], order["order_no"], digest)
            self.orders_ledger.release(ORDER, [order["pk"]])
            self.orders_ledger.log([Outcome(ORDER, order["pk"], action, order["order_no"], order["order_no"])])
            self._commit()
            self.result.sent += 1

    # --- weighings in ---------------------------------------------------------------------------

    def _read_labels(self, orders: dict[str, dict]) -> None:
        for weighing in self.labels_ledger.quarantined_payloads(LABEL).values():  # tried again on every run
            self._label(weighing, orders)
        self._commit()
        cursor = int(self.labels_ledger.watermark(CURSOR) or 0)
        for page in self.weighing.weighings(cursor):
            for weighing in page:
                self._label(weighing, orders)
            self.labels_ledger.set_watermark(CURSOR, str(page[-1]["seq"]))
            self._commit()  # the page's labels with the cursor after them

    def _label(self, weighing: dict, orders: dict[str, dict]) -> None:
        label_id, order_no = str(weighing.get("label_id") or ""), str(weighing.get("order_no") or "")
        if not label_id:
            return self._refuse(weighing, f"weighing seq {weighing.get('seq')}: label_id: missing", "LABEL_UNREADABLE")
        existing = self.store.get(label_id)
        if weighing.get("voided"):
            return self._void(weighing, existing)
        if existing is not None:
            if existing.label != weighing.get("label") and not existing.voided:
                return self._refuse(weighing, f"label {label_id}: label data: posted again with other data"
                                              f" ({weighing.get('label')!r}); the first reading counts", "CONFLICT")
            why = "voided" if existing.voided else f"a duplicate of the label read first (seq {existing.seq})"
            return self._set_aside(weighing, f"label {label_id}: {why}: not counted again")
        try:
            weighed_at = datetime.fromisoformat(str(weighing.get("weighed_at")))
            if weighed_at.tzinfo is None:
                raise ValueError("no UTC offset")
            if not order_no or not weighing.get("station_id"):
                raise labels.LabelRefused(label_id, "weighing", "order_no and station_id are required")
            label = labels.parse(label_id, weighing.get("label"))
        except labels.LabelRefused as exc:
            return self._refuse(weighing, str(exc), "LABEL_UNREADABLE")
        except ValueError:
            return self._refuse(weighing, f"label {label_id}: weighed_at: {weighing.get('weighed_at')!r} is no"
                                          " ISO-8601 time with its offset", "LABEL_UNREADABLE")
        order = orders.get(order_no)
        if order is None:
            delivered = self.store.delivered(order_no)
            return self._refuse(weighing, f"label {label_id}: order {order_no} " + (
                f"already has its delivery note ({delivered}): weighed after it, not counted" if delivered
                else "is no registered sales order of weighed goods in Horizon"), "NO_OPEN_ORDER")
        if label.gtin not in {line.get("gtin") for line in order["lines"]}:
            return self._refuse(weighing, f"label {label_id}: GTIN (01): {label.gtin} is on no line of order"
                                          f" {order_no}", "UNKNOWN_GTIN")
        self.store.add(Weighing(label_id, order_no, weighing["station_id"], weighed_at, int(weighing["seq"]),
                                weighing["label"], label.gtin, label.net_kg, label.lot, label.pack_date))
        self.labels_ledger.release(LABEL, [label_id])
        self.result.labels += 1

    def _void(self, weighing: dict, existing: Weighing | None) -> None:
        label_id = str(weighing.get("label_id") or "")
        if existing is not None and existing.delivery_note:
            return self._refuse(weighing, f"label {label_id}: voided after delivery note {existing.delivery_note}"
                                          " counted it: correct that note in Horizon", "VOIDED_AFTER_NOTE")
        if existing is None:  # voided before its first reading arrived: that one will not count either
            try:
                weighed_at = datetime.fromisoformat(str(weighing.get("weighed_at")))
            except ValueError:
                weighed_at = datetime.now(timezone.utc)
            self.store.add(Weighing(label_id, str(weighing.get("order_no") or ""), str(weighing.get("station_id")),
                                    weighed_at, int(weighing["seq"]), str(weighing.get("label") or ""), None, None,
                                    None, None, voided=True))
        elif not existing.voided:
            self.store.void(label_id)
        self._set_aside(weighing, f"label {label_id}: voided at station {weighing.get('station_id')}: never counted")

    def _set_aside(self, weighing: dict, reason: str) -> None:
        label_id = str(weighing.get("label_id") or "")
        self.labels_ledger.release(LABEL, [label_id])
        self.labels_ledger.log([Outcome(LABEL, label_id, "skipped", weighing.get("order_no"), None, "SET_ASIDE",
                                        reason)])
        self.result.set_aside += 1
        log.info("%s", reason)

    def _refuse(self, weighing: dict, reason: str, category: str) -> None:
        label_id = str(weighing.get("label_id") or f"(no label id, seq {weighing.get('seq')})")
        self.labels_ledger.quarantine(LABEL, label_id, weighing.get("order_no"), reason, category, weighing)
        self.labels_ledger.log([Outcome(LABEL, label_id, "rejected", weighing.get("order_no"), None, category,
                                        reason)])
        self.result.refused += 1
        log.warning("waiting in quarantine: %s", reason)

    # --- delivery notes -------------------------------------------------------------------------

    def _deliver(self, order: dict, approved: dict[str, str]) -> None:
        state = self.orders_ledger.document_state(NOTE, order["pk"])
        if state is not None and state.stage == "done":
            return  # its note exists; Horizon had not closed the order yet
        try:
            plan = notes.plan(order, self.store.countable(order["order_no"]), self.tolerance)
        except RecordRejected as exc:
            return self._refuse_order(order, exc)
        if plan.note is None:
            self.result.waiting += 1
            log.info("order %s waits: %s", order["order_no"], "; ".join(plan.waiting))
            return
        if plan.review and approved.get(order["pk"]) != plan.digest:
            self.result.to_review.append(_review_item(plan))
            return
        if self.dry_run:
            self.result.preview.append({"action": "create delivery note", "key": order["order_no"],
                                        "payload": plan.note})
            return
        self._create(plan)

    def _create(self, plan: notes.Plan) -> None:
        pk, order_no, reference = plan.order["pk"], plan.order["order_no"], plan.reference
        self.orders_ledger.set_document_state(NOTE, pk, order_no, DocumentState(reference, "in_flight"))
        self.store.count_in([w.label_id for w in plan.labels], reference)
        self._commit()
        try:
            target = self.horizon.create_delivery_note(plan.note)
        except RecordRejected as exc:
            self.store.uncount(reference)
            self.orders_ledger.drop_document_state(NOTE, pk)
            return self._refuse_order(plan.order, exc)
        kilograms = sum((line["quantity_kg"] for line in plan.note["lines"]), Decimal(0))
        text = f"{len(plan.labels)} labels, {kilograms} kg, {plan.note['amount']} EUR"
        self._done(pk, order_no, reference, target, text + (f"; confirmed: {'; '.join(plan.review)}" if plan.review
                                                            else ""))

    def _done(self, pk: str, order_no: str, reference: str, target: str, text: str) -> None:
        self.orders_ledger.set_document_state(NOTE, pk, order_no, DocumentState(reference, "done", target))
        self.orders_ledger.release(ORDER, [pk])
        self.orders_ledger.log([Outcome(NOTE, pk, "created", order_no, target, None, text)])
        self._commit()
        self.result.created += 1
        log.info("order %s: delivery note %s created in Horizon (%s)", order_no, target, text)

    def _finish_interrupted(self) -> None:
        """Notes whose creation a crash or a lost answer cut short: found in Horizon by reference, else released."""
        for pk in self.orders_ledger.unfinished_documents(NOTE):
            state = self.orders_ledger.document_state(NOTE, pk)
            target = self.horizon.delivery_note_by_reference(state.reference)
            if target:
                self._done(pk, str(pk), state.reference, target, "found in Horizon by its reference after an"
                                                                 " interrupted run")
            else:
                self.store.uncount(state.reference)
                self.orders_ledger.drop_document_state(NOTE, pk)
                self._commit()

    def _refuse_order(self, order: dict, exc: RecordRejected) -> None:
        self.orders_ledger.quarantine(ORDER, order["pk"], order["order_no"], exc.reason, exc.category, order)
        self.orders_ledger.log([Outcome(ORDER, order["pk"], "rejected", order["order_no"], None, exc.category,
                                        exc.reason)])
        self._commit()
        self.result.refused += 1
        log.warning("waiting in quarantine: order %s: %s", order["order_no"], exc.reason)

    def _commit(self) -> None:
        if not self.dry_run:
            self.orders_ledger.commit()


def _review_item(plan: notes.Plan) -> dict:
    note = plan.note
    return {"key": plan.order["pk"], "order_no": plan.order["order_no"], "customer": plan.order.get("customer"),
            "digest": plan.digest, "reasons": "; ".join(plan.review),
            "kilograms": str(sum((line["quantity_kg"] for line in note["lines"]), Decimal(0))),
            "amount": str(note["amount"])}


def review_body(items: list[dict]) -> str:
    """Markdown for the person asked: each order whose weighing is outside its tolerance."""
    lines = ["**Weighed deliveries outside their order's tolerance.** Creating the delivery note bills the actual"
             " weight:", "", "| order | customer | why | weighed, kg | amount, EUR |",
             "| --- | --- | --- | ---: | ---: |"]
    lines += [f"| {i['order_no']} | {i['customer']} | {i['reasons']} | {i['kilograms']} | {i['amount']} |"
              for i in items]
    return "\n".join(lines)
