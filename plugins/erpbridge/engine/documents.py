"""Document transfer: pick -> map -> in-flight ledger row -> post -> attach -> complete -> write status back.

Exactly once toward targets without idempotency keys: before posting, a ledger row with a
deterministic external reference is written and committed ("in_flight"); the target is then
searched by that reference (and its natural key) and an existing record is adopted; only then is
the document posted. A crash anywhere is resolved on the rerun from the ledger stage and that
lookup, never by a second post. Each later step (attach, follow-ups, the status write-back) is
recorded as it completes and is itself idempotent. Documents refused for their data go to
quarantine with the reason and the batch goes on; they are tried again while the source still
offers them. A document that fails for a system reason (after the client's retries) is logged as
failed and the run goes on with the next one; the run then ends with IncompleteTransfer, so the task
fails and Airflow retries it (the ledger makes that safe). Failures in a row mean the system is down:
the run stops at the third.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import chain
from typing import Callable, Iterable, Iterator, Protocol

from erpbridge.engine.registry import SyncResult
from erpbridge.errors import ExternalSystemError, RecordRejected, RunFailures
from erpbridge.ledger.store import DocumentState, Ledger, Outcome

log = logging.getLogger(__name__)

STAGES = ("in_flight", "posted", "attached", "completed", "done")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/pdf"


class DocumentSource(Protocol):
    system: str  # the system its ids are of (e.g. "severa"): the ledger keeps them apart by it

    def ready(self) -> Iterable[dict]: ...  # the documents waiting to move
    def fetch(self, source_ids: list[str]) -> Iterable[dict]: ...  # by id: unfinished transfers to complete
    def source_id(self, document: dict) -> str: ...
    def describe(self, document: dict) -> str: ...  # a key a person recognises (e.g. the number)
    def attachment(self, document: dict) -> Attachment | None: ...  # RecordRejected if unusable
    def mark_transferred(self, document: dict, target_id: str) -> None: ...  # idempotent


class DocumentTarget(Protocol):
    def find(self, reference: str, payload: dict) -> str | None: ...  # by reference, then natural key
    def post(self, payload: dict) -> str: ...
    def has_attachment(self, target_id: str, attachment: Attachment) -> bool: ...
    def attach(self, target_id: str, attachment: Attachment) -> None: ...
    def complete(self, target_id: str, payload: dict) -> None: ...  # idempotent follow-ups


@dataclass
class DocumentFlow:
    """One kind of document: where from, where to, its reference and its mapping."""

    entity: str
    source: DocumentSource
    target: DocumentTarget
    reference: Callable[[dict], str]
    mapping: Callable[[dict, str], dict]  # (document, reference) -> payload


class DocumentTransfer:
    """Moves the documents a DocumentSource offers, each at most once. ``resend``: source ids whose
    finished transfer is redone (the target lookup still prevents a second record)."""

    def __init__(self, flow: DocumentFlow, ledger: Ledger, *, dry_run: bool = False,
                 resend: Iterable[str] = ()):
        self.flow = flow
        self.ledger = ledger.of(flow.source.system)
        self.dry_run = dry_run
        self.resend = set(resend)
        self.result = SyncResult(flow.entity)

    def run(self) -> SyncResult:
        """Every document offered; raises IncompleteTransfer at the end if some failed."""
        failures = RunFailures(self.flow.entity)
        for document in self._documents():
            try:
                outcome = self._transfer(document)
            except ExternalSystemError as exc:  # reading, posting or writing back this document
                self._failed(document, exc)
                if failures.add(self.flow.source.describe(document), exc):
                    log.error("%ss failed %d times in a row: stopping this run", self.flow.entity, failures.IN_A_ROW)
                    raise
                continue
            failures.succeeded()
            self.result.counts[outcome.action] += 1
            if outcome.action in ("created", "updated") and not self.dry_run:
                log.info("%s %s %s: %s", self.flow.entity, outcome.source_key, outcome.action, outcome.target_id)
            if not self.dry_run:
                self.ledger.log([outcome])
                self.ledger.commit()
        log.info(self.result.summary())
        failures.raise_if_any()
        return self.result

    def _documents(self) -> Iterator[dict]:
        """First the transfers an earlier run left unfinished (a document whose write-back landed may no
        longer be 'ready' in the source, yet the ledger must still reach 'done'), then the ready ones."""
        source, seen = self.flow.source, set()
        unfinished = self.ledger.unfinished_documents(self.flow.entity)
        for document in chain(source.fetch(unfinished) if unfinished else (), source.ready()):
            source_id = source.source_id(document)
            if source_id not in seen:
                seen.add(source_id)
                yield document

    def _transfer(self, document: dict) -> Outcome:
        flow, ledger = self.flow, self.ledger
        source_id = flow.source.source_id(document)
        key = flow.source.describe(document)
        state = ledger.document_state(flow.entity, source_id)
        if state and state.stage == "done" and source_id not in self.resend:
            return Outcome(flow.entity, source_id, "unchanged", key, state.target_id)
        reference = state.reference if state else flow.reference(document)
        try:
            payload = flow.mapping(document, reference)
            attachment = flow.source.attachment(document)
        except RecordRejected as exc:
            return self._reject(source_id, key, exc, document)
        if self.dry_run:
            action = "updated" if state and state.target_id else "created"
            self.result.preview.append({"action": action, "key": key, "target_id": state and state.target_id,
                                        "payload": payload})
            return Outcome(flow.entity, source_id, action, key, state and state.target_id)
        try:
            return self._move(document, source_id, key, state, reference, payload, attachment)
        except RecordRejected as exc:
            return self._reject(source_id, key, exc, payload)

    def _move(self, document, source_id, key, state, reference, payload, attachment) -> Outcome:
        flow, ledger = self.flow, self.ledger
        stage = state.stage if state and source_id not in self.resend else None
        target_id = state.target_id if state else None
        action = "updated"
        if stage in (None, "in_flight") or target_id is None:
            self._save(source_id, key, DocumentState(reference, "in_flight"))  # committed before the post
            target_id = flow.target.find(reference, payload)
            if target_id is None:
                try:
                    target_id = flow.target.post(payload)
                except RecordRejected:
                    ledger.drop_document_state(flow.entity, source_id)  # refused: nothing landed
                    ledger.commit()
                    raise
                action = "created"
            else:
                log.info("%s %s is already in the target as %s: adopted, not posted again", flow.entity, key,
                         target_id)
            stage = "posted"
            self._save(source_id, key, DocumentState(reference, stage, target_id))
        if STAGES.index(stage) < STAGES.index("attached"):
            if attachment and not flow.target.has_attachment(target_id, attachment):
                flow.target.attach(target_id, attachment)
            stage = "attached"
            self._save(source_id, key, DocumentState(reference, stage, target_id))
        if STAGES.index(stage) < STAGES.index("completed"):
            flow.target.complete(target_id, payload)
            self._save(source_id, key, DocumentState(reference, "completed", target_id))
        flow.source.mark_transferred(document, target_id)
        self._save(source_id, key, DocumentState(reference, "done", target_id))
        ledger.release(flow.entity, [source_id])
        return Outcome(flow.entity, source_id, action, key, target_id)

    def _failed(self, document: dict, exc: ExternalSystemError) -> None:
        source = self.flow.source
        key = source.describe(document)
        self.result.counts["failed"] += 1
        log.warning("%s %s failed: %s", self.flow.entity, key, exc)
        if not self.dry_run:
            self.ledger.log([Outcome(self.flow.entity, source.source_id(document), "failed", key, None, exc.category,
                                     str(exc))])
            self.ledger.commit()

    def _save(self, source_id: str, key: str, state: DocumentState) -> None:
        self.ledger.set_document_state(self.flow.entity, source_id, key, state)
        self.ledger.commit()

    def _reject(self, source_id: str, key: str, exc: RecordRejected, payload: dict) -> Outcome:
        if self.dry_run:
            self.result.preview.append({"action": "rejected", "key": key, "reason": exc.reason})
        else:
            self.ledger.quarantine(self.flow.entity, source_id, key, exc.reason, exc.category, payload)
            self.ledger.commit()
        log.warning("%s %s refused: %s", self.flow.entity, key, exc.reason)
        return Outcome(self.flow.entity, source_id, "rejected", key, None, exc.category, exc.reason)
