"""One run of ``saldeo_accounting_export`` for a company: the documents marked for export in the hub -> one
exchange file in the company's destination folder -> each document marked in the hub (``document/sync``).

Exactly once: the file's bytes and its documents ('in_flight', target = the file) are committed to the ledger
before the file is written and before the hub is marked. A run first writes the recorded files not yet written
and marks the recorded documents not yet marked, so a crash anywhere is finished by the next run; a document
already in a file never goes into another. A re-export of a month writes that month's files again from their
recorded bytes (byte-identical) and leaves the hub alone. A retry ("Retry now" in the control room) takes just the
named documents of those marked for export.

Failures, each its own category in the transfer log (and the quarantine for a document) with what to do:
HUB_CREDENTIALS, DESTINATION_UNWRITABLE, UNMAPPED_* (naming the document and the field), FORMAT_VERSION.
"""

from __future__ import annotations

import logging
from calendar import monthrange
from datetime import date

from erpbridge.engine import destinations
from erpbridge.errors import ExternalSystemError, IncompleteTransfer, RecordRejected
from erpbridge.flows.accounting_exchange import bank_statements, epp, files, ksef_fa3, optima
from erpbridge.flows.accounting_exchange.documents import AccountingDocument, to_accounting
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings
from erpbridge.hooks.exchange_sftp import SftpRefused
from erpbridge.ledger.store import DocumentState, Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM = "saldeo"  # whose ids the document rows hold
DOCUMENT, FILE, HUB = "document", "exchange_file", "hub"
# format -> (file extension, versions written, the writer: (documents, settings) -> bytes)
FORMATS = {
    "epp": ("epp", epp.VERSIONS,
            lambda documents, s: epp.render(documents, s.sender, s.format_version, s.epp_counterparty_cards)),
    "optima": ("xml", optima.VERSIONS, lambda documents, s: optima.render(documents, s.company_program_id, s.registers)),
    "ksef_fa3": ("zip", ksef_fa3.VERSIONS, ksef_fa3.render),
}
# format -> what a document must pass beyond the mapping to be written in it: (document, settings, variable)
CHECKS = {"epp": epp.check, "ksef_fa3": ksef_fa3.check}


class ExportFailed(ExternalSystemError):
    """The run could not go on; ``category`` is the failure kind, the message says what to do."""

    def __init__(self, category: str, message: str):
        super().__init__("erpbridge", message, category)


def export(settings: AccountingExportSettings, ledger: Ledger, hook, variable: str, *,
           reexport_month: str | None = None, retry: dict[str, list[str]] | None = None) -> dict:
    """Counts of what the run did; ExportFailed / IncompleteTransfer when something is left for the next run.
    ``ledger`` is the company's ledger of the flow, ``variable`` the company's settings Variable (named in reasons),
    ``retry`` {entity: [hub id, ...]} the records to take alone (None: every document marked for export)."""
    extension = check_format(settings, ledger, variable)
    if reexport_month:
        return {"rewritten": rewrite_month(ledger, reexport_month, variable)}
    if not settings.company_program_id:
        log.warning("company_program_id is not set in Variable %s: nothing to export", variable)
        return {}
    counts = {"exported": 0, "rejected": 0, "already_in_a_file": 0, "files": 0}
    statements_refused = None
    if settings.bank_statements and (retry is None or bank_statements.STATEMENT in retry):
        # their own file, recorded first; written below with the documents' one (a retry of documents only: not now)
        try:
            counts.update(bank_statements.record(settings, ledger, hook, variable))
        except bank_statements.StatementsRefused as refused:  # logged; the documents go on, the run fails at the end
            statements_refused = refused
    documents = ready_documents(settings, ledger, hook)
    if retry is not None:
        documents = retried(documents, retry.get(DOCUMENT, []))
    hub_ids = ledger.of(SYSTEM)  # document rows are keyed by the hub's document ids
    in_files = {row[0] for row in states(hub_ids, [d["document_id"] for d in documents])}
    mapped: list[AccountingDocument] = []
    for document in documents:
        if document["document_id"] in in_files:
            counts["already_in_a_file"] += 1
            continue
        try:
            mapped.append(map_document(document, settings, variable))
        except RecordRejected as refused:
            reject(hub_ids, document, refused)
            counts["rejected"] += 1
    hub_ids.release(DOCUMENT, [d.saldeo_id for d in mapped])
    if mapped:
        record_file(settings, hub_ids, mapped, extension)
        counts["files"] = 1
    ledger.commit()  # the file's bytes and its documents, before the file is written or the hub marked
    write_recorded(ledger, variable)
    counts["exported"] = mark_in_hub(settings, hub_ids, hook)
    if statements_refused:
        raise statements_refused
    return counts


def preview(settings: AccountingExportSettings, ledger: Ledger, hook, variable: str) -> dict:
    """What a run would do, writing nothing (no file, no ledger row, no mark in the hub): each document it would
    export and each refusal, logged; their counts returned."""
    if FORMATS.get(settings.format) is None or settings.format_version not in FORMATS[settings.format][1]:
        raise ExportFailed("FORMAT_VERSION", f"the exchange format {settings.format} {settings.format_version} is "
                                             "not one this export writes")
    documents = hook.documents_to_export(settings.company_program_id) if settings.company_program_id else []
    in_files = {row[0] for row in states(ledger.of(SYSTEM), [d["document_id"] for d in documents])}
    counts = {"would_export": 0, "would_reject": 0, "already_in_a_file": len(in_files)}
    for document in documents:
        if document["document_id"] in in_files:
            continue
        try:
            mapped = map_document(document, settings, variable)
        except RecordRejected as refused:
            log.warning("dry run, would refuse: %s", refused.reason)
            counts["would_reject"] += 1
            continue
        log.info("dry run, would export %s (Saldeo id %s), %s gross", mapped.number, mapped.saldeo_id, mapped.gross)
        counts["would_export"] += 1
    if settings.bank_statements and settings.company_program_id:
        counts.update(bank_statements.preview(settings, ledger, hook, variable))
    return counts


def map_document(document: dict, settings: AccountingExportSettings, variable: str) -> AccountingDocument:
    """The hub document mapped, and checked by its format's own rules (RecordRejected when refused)."""
    mapped = to_accounting(document, settings, variable)
    if settings.format in CHECKS:
        CHECKS[settings.format](mapped, settings, variable)
    return mapped


def check_format(settings: AccountingExportSettings, ledger: Ledger, variable: str) -> str:
    fmt = FORMATS.get(settings.format)
    if fmt is None or settings.format_version not in fmt[1]:
        written = "; ".join(f"{name} {', '.join(versions)}" for name, (_, versions, _) in FORMATS.items())
        fail(ledger, FILE, "settings", "FORMAT_VERSION",
             f"the exchange format {settings.format} {settings.format_version} is not one this export writes "
             f"(it writes: {written}). What to do: set format and format_version in Variable {variable} "
             "to the import template the accounting program expects.")
    return fmt[0]


def ready_documents(settings: AccountingExportSettings, ledger: Ledger, hook) -> list[dict]:
    try:
        return hook.documents_to_export(settings.company_program_id)
    except ExternalSystemError as exc:
        if exc.category == "AuthenticationRequired":
            hub_credentials_refused(ledger, hook, exc)
        raise


def retried(documents: list[dict], saldeo_ids: list[str]) -> list[dict]:
    """Just the named documents; one the hub no longer marks for export is named in the log (nothing to retry)."""
    named = set(saldeo_ids)
    chosen = [d for d in documents if d["document_id"] in named]
    for missing in sorted(named - {d["document_id"] for d in chosen}):
        log.warning("document with Saldeo id %s is not marked for export in SaldeoSMART (any more): not retried",
                    missing)
    return chosen


def hub_credentials_refused(ledger: Ledger, hook, exc: ExternalSystemError) -> None:
    fail(ledger, HUB, hook.conn_id, "HUB_CREDENTIALS",
         f"SaldeoSMART refused the API user of connection {hook.conn_id} ({exc.message}). What to "
         "do: check the login (API user) and the password (API token) of that connection against SaldeoSMART "
         "(Settings -> API; a regenerated token must be copied into the connection), and the API address.")


def states(ledger: Ledger, saldeo_ids: list[str]) -> list[tuple[str, str, str, str]]:
    """(saldeo id, stage, file name, document number) of the documents already recorded in a file."""
    with ledger.conn.cursor() as cur:
        cur.execute("SELECT source_id, stage, target_id, source_key FROM document_transfer WHERE company = %s"
                    " AND flow = %s AND system = %s AND entity = %s AND source_id = ANY(%s)",
                    (*ledger.scope, DOCUMENT, saldeo_ids))
        return cur.fetchall()


def reference(saldeo_id: str) -> str:
    """The document's unique reference in ``document_transfer``."""
    return f"saldeo:{saldeo_id}"


def reject(ledger: Ledger, document: dict, refused: RecordRejected) -> None:
    saldeo_id = document["document_id"]
    ledger.quarantine(DOCUMENT, saldeo_id, document.get("number"), refused.reason, refused.category, document)
    ledger.log([Outcome(DOCUMENT, saldeo_id, "rejected", document.get("number"), None, refused.category,
                        refused.reason)])
    log.warning("%s", refused.reason)


def record_file(settings: AccountingExportSettings, ledger: Ledger, documents: list[AccountingDocument],
                extension: str) -> None:
    documents = sorted(documents, key=lambda d: int(d.saldeo_id))
    content = FORMATS[settings.format][2](documents, settings)
    exchange_file = files.ExchangeFile(
        name=files.file_name(settings.company_program_id, documents[0].saldeo_id, extension),
        destination=settings.destination, content=content, documents=len(documents),
        first_issue_date=min(d.issue_date for d in documents), last_issue_date=max(d.issue_date for d in documents))
    files.record(ledger, exchange_file)
    ledger.set_document_states(DOCUMENT, [(d.saldeo_id, d.number, DocumentState(
        reference(d.saldeo_id), "in_flight", exchange_file.name)) for d in documents])
    log.info("recorded %s with %d document(s)", exchange_file.name, len(documents))


def write_recorded(ledger: Ledger, variable: str) -> None:
    """Every recorded file not yet in its destination, written there and marked written."""
    for exchange_file in files.unwritten(ledger):
        write(ledger, exchange_file, variable)
        files.mark_written(ledger, exchange_file.name)
        ledger.commit()
        log.info("wrote %s/%s", exchange_file.destination, exchange_file.name)


def write(ledger: Ledger, exchange_file: files.ExchangeFile, variable: str) -> None:
    try:
        destinations.deliver(exchange_file.destination, exchange_file.name, exchange_file.content)
    except SftpRefused as refused:
        fail(ledger, FILE, exchange_file.name, destinations.DESTINATION_KIND[refused.kind],
             f"{refused.message} The file is kept in the ledger and written by the next run, its documents are marked "
             "in SaldeoSMART only then.")
    except OSError as exc:
        fail(ledger, FILE, exchange_file.name, "DESTINATION_UNWRITABLE",
             f"cannot write {exchange_file.name} into {exchange_file.destination}: {exc.strerror or exc}. What to do: "
             "give the user Airflow's workers run as the right to create files in that folder (or set destination in "
             f"Variable {variable} to a folder it may write); the file is kept in the ledger and written by "
             "the next run, its documents are marked in SaldeoSMART only then.")


def mark_in_hub(settings: AccountingExportSettings, ledger: Ledger, hook) -> int:
    """``document/sync`` for every document in a written file and not yet marked; returns how many were marked."""
    pending = [(source_id, file_name, number) for source_id, _, file_name, number in
               states(ledger, ledger.unfinished_documents(DOCUMENT))]
    if not pending:
        return 0
    results = hook.mark_exported(settings.company_program_id, [
        {"saldeo_id": source_id, "account_document_number": file_name} for source_id, file_name, _ in pending])
    failures, outcomes, done = [], [], []
    for source_id, file_name, number in pending:
        refused = results.get(source_id, "no result for it in the answer")
        if refused is None:
            done.append((source_id, number, DocumentState(reference(source_id), "done", file_name)))
            outcomes.append(Outcome(DOCUMENT, source_id, "created", number, file_name))
        else:
            text = (f"document {number} (Saldeo id {source_id}) is in {file_name} but SaldeoSMART did not mark it "
                    f"exported: {refused}; it is marked again by the next run, never written into another file")
            outcomes.append(Outcome(DOCUMENT, source_id, "failed", number, file_name, "HUB_SYNC", text))
            failures.append(f"Saldeo id {source_id}: {refused}")
    ledger.set_document_states(DOCUMENT, done)
    ledger.log(outcomes)
    ledger.commit()
    if failures:
        raise IncompleteTransfer(DOCUMENT, failures)
    return len(pending) - len(failures)


def rewrite_month(ledger: Ledger, month: str, variable: str) -> int:
    """The recorded files with a document issued in ``month`` (YYYY-MM), written again as they were first written."""
    year, number = (int(part) for part in month.split("-"))
    first, last = date(year, number, 1), date(year, number, monthrange(year, number)[1])
    rewritten = files.of_period(ledger, first, last)
    for exchange_file in rewritten:
        write(ledger, exchange_file, variable)
        log.info("re-exported %s/%s", exchange_file.destination, exchange_file.name)
    return len(rewritten)


def fail(ledger: Ledger, entity: str, source_id: str, category: str, message: str) -> None:
    """Record why the run cannot go on (transfer log, committed), then stop it."""
    ledger.log([Outcome(entity, source_id, "failed", None, None, category, message)])
    ledger.commit()
    log.error("%s: %s", category, message)
    raise ExportFailed(category, message)

