"""One run of ``accounting_saldeo_registers`` for a company: the registers in the accounting program's EPP
(``*.epp``) and Optima XML (``*.xml``) exports in the ``source`` folder -> SaldeoSMART's
``contractor|category|register|payment_method/merge``, and with the register ``company`` the exporting companies
-> ``company/create|synchronize`` (hub_companies.py).

Each item is keyed by its program id (the program's code); the id map keeps the hub's id and a hash of what
was merged, so an unchanged item costs no call and a second run changes nothing. A merge is an upsert by
program id, so a run repeated after a crash merges again instead of duplicating. A row the file cannot give
right, or an item the hub refuses (``NOT_VALID``, in the hub's words), waits in the quarantine, is sent again by
every run and leaves it as 'gone' once the export no longer has it; the rest of the batch goes on.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial

from erpbridge.engine import destinations
from erpbridge.engine.registry import content_hash
from erpbridge.errors import ExternalSystemError
from erpbridge.flows.accounting_exchange import hub_companies, optima_registers, program_registers
from erpbridge.flows.accounting_exchange.export import fail, hub_credentials_refused
from erpbridge.flows.accounting_exchange.settings import RegistersSettings
from erpbridge.hooks.exchange_sftp import SftpRefused
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

SYSTEM = "accounting_program"  # whose ids the rows hold: the program's codes
SOURCE_FILE = "source_file"  # the entity of a file that cannot be read as the export its name says
# file name ending -> (the export it is, its reader, what the reader raises for a file it cannot read)
READERS = {
    ".epp": ("an EDI++ (EPP) export", program_registers.read, (program_registers.NotEpp, UnicodeDecodeError)),
    ".xml": ("a Comarch ERP Optima offline XML export", optima_registers.read,
             (optima_registers.NotOptima, UnicodeDecodeError)),
}


def exported_items(settings: RegistersSettings, ledger: Ledger, variable: str) -> program_registers.Export:
    """Every item of every ``*.epp`` and ``*.xml`` file directly in the source folder (local or SFTP), in name order
    (a later file's item wins); a file its reader cannot read is quarantined by name (until it is gone) and the
    others go on."""
    try:
        exported = sorted((name, content) for suffix in READERS for name, content in
                          destinations.collect(settings.source, suffix))
    except SftpRefused as refused:
        fail(ledger, SOURCE_FILE, settings.source, f"SOURCE_{refused.kind}", refused.message)
    except OSError as exc:
        fail(ledger, SOURCE_FILE, settings.source, "SOURCE_UNREADABLE",
             f"cannot read the folder {settings.source}: {exc.strerror or exc}. What to do: let the accounting program "
             f"export its registers (EPP or Optima XML) into that folder and give Airflow's workers the right to read "
             f"it, or set source in Variable {variable}.")
    merged = program_registers.Export()
    for name, content in exported:
        kind, reader, unreadable = READERS[next(s for s in READERS if name.lower().endswith(s))]
        try:
            export = reader(name, content)
        except unreadable as exc:
            reason = (f"{name} in {settings.source} cannot be read as {kind}: {exc}. What to do: export the "
                      "registers from the accounting program as EPP (EDI++ 1.05) or Optima offline XML (2.00) into "
                      "that folder.")
            ledger.quarantine(SOURCE_FILE, name, name, reason, "SOURCE_FORMAT", None)
            ledger.log([Outcome(SOURCE_FILE, name, "rejected", name, None, "SOURCE_FORMAT", reason)])
            log.warning("%s", reason)
            continue
        ledger.release(SOURCE_FILE, [name])
        merged.entries.extend(export.entries)
    names = {name for name, _ in exported}
    ledger.gone(SOURCE_FILE, {name: f"{name} is no longer in {settings.source}"
                              for name in ledger.quarantined(SOURCE_FILE) if name not in names})
    return merged


def synchronise(settings: RegistersSettings, ledger: Ledger, hook, variable: str, *, dry_run: bool = False,
                retry: dict[str, list[str]] | None = None) -> dict:
    """Counts per register and action; ``ledger`` is the company's ledger of the flow. ``dry_run`` logs what
    would be merged and writes nothing (no merge, no ledger row). ``retry`` {register: [program id, ...]}: just
    these items ("Retry now"; None: every register)."""
    if not settings.company_program_id:
        log.warning("company_program_id is not set in Variable %s: nothing to synchronise", variable)
        return {}
    ledger = ledger.of(SYSTEM)
    export = exported_items(settings, ledger, variable)
    counts: Counter = Counter()
    for kind in settings.registers:
        if retry is not None and kind not in retry:
            continue
        latest = {item.program_id: (item, exc) for item, exc in export.entries if item.kind == kind  # the last wins
                  if retry is None or item.program_id in retry[kind]}
        items = {program_id: item for program_id, (item, exc) in latest.items() if exc is None}
        refused = {program_id: exc for program_id, (_, exc) in latest.items() if exc is not None}
        known = ledger.mappings(kind, items)
        changed = [item for item in items.values()  # a company is linked once: its later changes are the hub's
                   if item.program_id not in known
                   or kind != hub_companies.KIND and known[item.program_id][1] != content_hash(item.fields)]
        counts[f"{kind} unchanged"] += len(items) - len(changed)
        if dry_run:
            for exc in refused.values():
                log.warning("dry run, would refuse: %s", exc.reason)
            counts[f"{kind} would_reject"] += len(refused)
            if kind == hub_companies.KIND:
                counts.update(hub_companies.preview(hook, changed) if changed else {})
                continue
            for item in changed:
                log.info("dry run, would merge %s %s (%s): %s", kind, item.program_id, item.where, item.fields)
            counts[f"{kind} would_merge"] += len(changed)
            continue
        outcomes = [reject(ledger, kind, program_id, exc.reason, exc.category, None)
                    for program_id, exc in refused.items()]
        try:
            if kind == hub_companies.KIND and changed:
                outcomes += hub_companies.synchronise(settings, ledger, hook, changed, partial(reject, ledger))
            elif kind != hub_companies.KIND:
                outcomes += merge(settings, ledger, hook, kind, changed, known)
        except ExternalSystemError as exc:
            if exc.category == "AuthenticationRequired":
                hub_credentials_refused(ledger, hook, exc)
            raise
        ledger.gone(kind, {program_id: f"{kind} {program_id} is no longer in the accounting program's export"
                           for program_id in ledger.quarantined(kind) if program_id not in items | refused
                           and (retry is None or program_id in retry[kind])})
        ledger.log(outcomes)
        ledger.commit()
        counts.update(f"{kind} {o.action}" for o in outcomes)
    if dry_run:
        ledger.conn.rollback()  # an unreadable file was quarantined while reading: not in a dry run
    return dict(counts)


def merge(settings: RegistersSettings, ledger: Ledger, hook, kind: str, items: list, known: dict) -> list[Outcome]:
    """The changed items merged into the hub (one call per ``MERGE_BATCH``); the merged ones remembered with
    their hash, the refused ones quarantined in the hub's words."""
    if not items:
        return []
    results = hook.merge(kind, settings.company_program_id, [item.fields for item in items])
    outcomes, merged = [], []
    for item in items:
        hub_id, refused = results.get(item.program_id, (None, "no result for it in the answer"))
        if refused is None:
            merged.append((item.program_id, hub_id or "", content_hash(item.fields)))
            action = "updated" if item.program_id in known else "created"
            outcomes.append(Outcome(kind, item.program_id, action, item.program_id, hub_id))
        else:
            outcomes.append(reject(ledger, kind, item.program_id,
                                   f"{kind} {item.program_id} ({item.where}): SaldeoSMART refused it: {refused}",
                                   "NOT_VALID", item.fields))
    ledger.remember_many(kind, merged)
    ledger.release(kind, [program_id for program_id, _, _ in merged])
    return outcomes


def reject(ledger: Ledger, kind: str, program_id: str, reason: str, category: str | None, payload) -> Outcome:
    ledger.quarantine(kind, program_id, program_id, reason, category, payload)
    log.warning("%s", reason)
    return Outcome(kind, program_id, "rejected", program_id, None, category, reason)

