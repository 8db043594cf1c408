"""Document transfer: pick -> map -> in-flight ledger row -> post -> attach -> complete -> write status back.

Exactly once toward targets without idempotency keys: before posting, a ledger row with a
deterministic external reference is written and committed ("in_flight"); the target is then
searched by that reference (and its natural key) and an existing record is adopted; only then is
the document posted. A crash anywhere is resolved on the rerun from the ledger stage and that
lookup, never by a second post. Each later step (attach, follow-ups, the status write-back) is
recorded as it completes (committed with its page: DocumentTransfer) and is itself idempotent. Documents refused for their data go to
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
    finished transfer is redone (the target lookup still prevents a second record).

    The documents go in pages of ``page_size``: a page's ledger states are read in one query and the
    in-flight rows of the documents it is about to post are committed together, before the first post;
    what follows (the later stages, releases from quarantine, the transfer log) is committed once, when
    the page ends or a document fails or is refused. A crash in between leaves those documents in flight:
    the rerun finds them in the target (the lookup above) and never posts one twice."""

    def __init__(self, flow: DocumentFlow, ledger: Ledger, *, dry_run: bool = False,
                 resend: Iterable[str] = (), page_size: int = 1):
        self.flow = flow
        self.ledger = ledger.of(flow.source.system)
        self.dry_run = dry_run
        self.resend = set(resend)
        self.page_size = page_size
        self.result = SyncResult(flow.entity)
        self._states: dict[str, tuple[str, DocumentState]] = {}  # source id -> (key, stage reached), unwritten
        self._outcomes: list[Outcome] = []  # not yet in the transfer log

    def run(self) -> SyncResult:
        """Every document offered; raises IncompleteTransfer at the end if some failed."""
        failures = RunFailures(self.flow.entity)
        for page in _pages(self._documents(), self.page_size):
            for document, outcome in self._transfer_page(page):
                if isinstance(outcome, ExternalSystemError):
                    self._failed(document, outcome)
                    if failures.add(self.flow.source.describe(document), outcome):
                        log.error("%ss failed %d times in a row: stopping this run", self.flow.entity,
                                  failures.IN_A_ROW)
                        raise outcome
                    continue
                failures.succeeded()
                self._done(outcome)
            self._checkpoint()
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

    def _transfer_page(self, page: list[dict]) -> Iterator[tuple[dict, Outcome | ExternalSystemError]]:
        """Each document of the page with its outcome (or the system error it failed with), the page's
        in-flight rows committed before its first post."""
        flow = self.flow
        states = self.ledger.document_states(flow.entity, [flow.source.source_id(d) for d in page])
        moving = []
        for document in page:
            try:
                prepared = self._prepare(document, states.get(flow.source.source_id(document)))
            except ExternalSystemError as exc:  # reading its attachment
                yield document, exc
                continue
            if isinstance(prepared, Outcome):
                yield document, prepared
            else:
                moving.append(prepared)
        posting = [m for m in moving if m.stage in (None, "in_flight") or m.target_id is None]
        for move in posting:  # committed before the post: a crash after it is resolved by the lookup
            self._states[move.source_id] = (move.key, DocumentState(move.reference, "in_flight"))
        if posting:
            self._checkpoint()
        for move in moving:
            try:
                yield move.document, self._move(move)
            except RecordRejected as exc:
                yield move.document, self._reject(move.source_id, move.key, exc, move.payload)
            except ExternalSystemError as exc:
                yield move.document, exc

    def _prepare(self, document: dict, state: DocumentState | None) -> "_Move | Outcome":
        """What moving ``document`` takes, or its outcome when it does not move (done, refused, a dry run)."""
        flow = self.flow
        source_id = flow.source.source_id(document)
        key = flow.source.describe(document)
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
        stage = state.stage if state and source_id not in self.resend else None
        return _Move(document, source_id, key, stage, state.target_id if state else None, reference, payload,
                     attachment)

    def _move(self, move: "_Move") -> Outcome:
        flow = self.flow
        stage, target_id, action = move.stage, move.target_id, "updated"
        if stage in (None, "in_flight") or target_id is None:
            target_id = flow.target.find(move.reference, move.payload)
            if target_id is None:
                try:
                    target_id = flow.target.post(move.payload)
                except RecordRejected:
                    self._states.pop(move.source_id, None)  # refused: nothing landed
                    self.ledger.drop_document_state(flow.entity, move.source_id)
                    raise
                action = "created"
            else:
                log.info("%s %s is already in the target as %s: adopted, not posted again", flow.entity, move.key,
                         target_id)
            stage = "posted"
            self._save(move, stage, target_id)
        if STAGES.index(stage) < STAGES.index("attached"):
            if move.attachment and not flow.target.has_attachment(target_id, move.attachment):
                flow.target.attach(target_id, move.attachment)
            stage = "attached"
            self._save(move, stage, target_id)
        if STAGES.index(stage) < STAGES.index("completed"):
            flow.target.complete(target_id, move.payload)
            self._save(move, "completed", target_id)
        flow.source.mark_transferred(move.document, target_id)
        self._save(move, "done", target_id)
        return Outcome(flow.entity, move.source_id, action, move.key, target_id)

    def _done(self, outcome: Outcome) -> None:
        self.result.counts[outcome.action] += 1
        if outcome.action in ("created", "updated") and not self.dry_run:
            log.info("%s %s %s: %s", self.flow.entity, outcome.source_key, outcome.action, outcome.target_id)
        if not self.dry_run:
            self._outcomes.append(outcome)

    def _failed(self, document: dict, exc: ExternalSystemError) -> None:
        source = self.flow.source
        key = source.describe(document)
        self.result.counts["failed"] += 1
        log.warning("%s %s failed: %s", self.flow.entity, key, exc)
        if not self.dry_run:
            self._outcomes.append(Outcome(self.flow.entity, source.source_id(document), "failed", key, None,
                                          exc.category, str(exc)))
            self._checkpoint()

    def _save(self, move: "_Move", stage: str, target_id: str) -> None:
        self._states[move.source_id] = (move.key, DocumentState(move.reference, stage, target_id))

    def _checkpoint(self) -> None:
        """The stages reached, the releases from quarantine and the transfer log, in one commit."""
        if self.dry_run:
            return
        entity, states = self.flow.entity, self._states
        self.ledger.set_document_states(entity, [(source_id, key, state) for source_id, (key, state) in states.items()])
        self.ledger.release(entity, [source_id for source_id, (_, state) in states.items() if state.stage == "done"])
        self.ledger.log(self._outcomes)
        self.ledger.commit()
        self._states, self._outcomes = {}, []

    def _reject(self, source_id: str, key: str, exc: RecordRejected, payload: dict) -> Outcome:
        if self.dry_run:
            self.result.preview.append({"action": "rejected", "key": key, "reason": exc.reason})
        else:
            self.ledger.quarantine(self.flow.entity, source_id, key, exc.reason, exc.category, payload)
            self._checkpoint()
        log.warning("%s %s refused: %s", self.flow.entity, key, exc.reason)
        return Outcome(self.flow.entity, source_id, "rejected", key, None, exc.category, exc.reason)


@dataclass
class _Move:
    """A document on its way: where its transfer stands and what it posts."""

    document: dict
    source_id: str
    key: str
    stage: str | None
    target_id: str | None
    reference: str
    payload: dict
    attachment: Attachment | None


def _pages(documents: Iterable[dict], size: int) -> Iterator[list[dict]]:
    page = []
    for document in documents:
        page.append(document)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page
