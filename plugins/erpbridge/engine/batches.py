"""Document transfer in batches: at most ``batch_size`` documents per transfer, the source read again before
each batch, over the document engine (``engine.documents``)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from erpbridge.engine.documents import DocumentFlow, DocumentTransfer
from erpbridge.errors import ExternalSystemError, IncompleteTransfer, RecordSkipped, RunFailures
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)


@dataclass
class BatchReport:
    counts: Counter = field(default_factory=Counter)
    batches: list[int] = field(default_factory=list)  # documents per batch
    preview: list[dict] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # source ids handled in this run


def _skip(flow, ledger, report, source_id, key, reason, dry_run) -> None:
    report.counts["skipped"] += 1
    log.info("%s %s skipped: %s", flow.entity, key, reason)
    if dry_run:
        report.preview.append({"action": "skipped", "key": key, "reason": reason})
    else:
        ledger.log([Outcome(flow.entity, source_id, "skipped", key, None, None, reason)])
        ledger.commit()


def _failed(flow, ledger, report, failures, source_id, key, exc, dry_run) -> bool:
    """Log a document that could not be read; True when the run should stop (the source is down)."""
    report.counts["failed"] += 1
    log.warning("%s %s failed: %s", flow.entity, key, exc)
    if not dry_run:
        ledger.log([Outcome(flow.entity, source_id, "failed", key, None, exc.category, str(exc))])
        ledger.commit()
    return failures.add(key, exc)


class _Batch:
    """The source, offering just one batch of (loaded) documents."""

    def __init__(self, source, documents: list[dict]):
        self._source = source
        self._documents = documents

    def ready(self):
        return iter(self._documents)

    def __getattr__(self, name):
        return getattr(self._source, name)


def transfer_in_batches(flow: DocumentFlow, ledger: Ledger, *, batch_size: int, dry_run: bool = False,
                        resend: bool = False, only: set[str] | None = None) -> BatchReport:
    """Move what the source offers, at most ``batch_size`` documents per transfer; the source is read
    again before each batch (a moved invoice has left the ready status), and a document refused in
    this run is not offered twice, nor is one that failed (IncompleteTransfer at the end names those).
    ``resend``: the documents offered are transferred again. ``only``: just these source ids (what a
    person approved). The transfers an earlier run left unfinished are finished first, even when nothing is ready
    (a document whose status write-back landed before a crash is no longer offered)."""
    report = BatchReport()
    source = flow.source
    ledger = ledger.of(source.system)
    failures = RunFailures(flow.entity)
    while True:
        batch = []
        for document in source.ready():
            source_id = source.source_id(document)
            if source_id in report.seen or (only is not None and source_id not in only):
                continue
            report.seen.add(source_id)
            try:
                batch.append(source.load(document))
            except RecordSkipped as exc:  # by design it does not move: logged with the reason, not quarantined
                _skip(flow, ledger, report, source_id, source.describe(document), exc.reason, dry_run)
                continue
            except ExternalSystemError as exc:  # its rows or attachment could not be read: the others go on
                if _failed(flow, ledger, report, failures, source_id, source.describe(document), exc, dry_run):
                    raise
                continue
            failures.succeeded()
            if len(batch) >= batch_size:
                break
        if not batch and (report.batches or not ledger.unfinished_documents(flow.entity)):
            break  # (a first, empty batch still runs when an earlier run left a transfer unfinished: it finishes it)
        number = len(report.batches) + 1
        ids = [source.source_id(d) for d in batch] if resend else []
        one = DocumentFlow(flow.entity, _Batch(source, batch), flow.target, flow.reference, flow.mapping)
        transfer = DocumentTransfer(one, ledger, dry_run=dry_run, resend=ids)
        try:
            transfer.run()
        except IncompleteTransfer as exc:  # the batch's other documents moved: go on with the next batch
            failures.items += exc.failures
        result = transfer.result
        report.counts.update(result.counts)
        report.batches.append(len(batch))
        report.preview.extend(result.preview)
        log.info("batch %d: %d %s(s) %s", number, len(batch), flow.entity, dict(result.counts))
    failures.raise_if_any()
    return report
