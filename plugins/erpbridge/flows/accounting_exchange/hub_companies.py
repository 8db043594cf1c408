"""The companies whose exports are in the registers flow's source folder -> SaldeoSMART's companies (the register
``company`` of ``accounting_saldeo_registers``, listed in the settings only when wanted: it creates companies).

A company is known by its NIP (``program_registers.COMPANY_KEY``) and the hub's company list decides what it
needs: none with that NIP - ``company/create`` with the company's code as its program id (its admin user named by
``ADMIN_USERNAME`` and welcomed at ``company_admin_email``); one with that NIP and no program id -
``company/synchronize`` gives it the code; one that already has a program id - only remembered (never re-linked:
other flows use that id). A code already another NIP's company's program id is refused before any call. The id
map keeps each company's hub id, so a second run sends nothing.

ASSUMED, verify first (each lives only here): ``ADMIN_USERNAME`` - a created company's admin user is named by the
company's code; ``same_nip`` - a hub company's ``VAT_NUMBER`` names the same company as a NIP when both agree
without separators and a ``PL`` prefix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from erpbridge.flows.accounting_exchange.program_registers import SEPARATORS, Item
from erpbridge.flows.accounting_exchange.settings import RegistersSettings
from erpbridge.ledger.store import Ledger, Outcome

log = logging.getLogger(__name__)

KIND = "company"
ADMIN_USERNAME = "COMPANY_PROGRAM_ID"  # ADMIN_USERNAME: the company field a created company's admin user is named by


def same_nip(vat_number: str | None) -> str:
    """A VAT number as a NIP to compare (``same_nip``)."""
    return SEPARATORS.sub("", vat_number or "").upper().removeprefix("PL")


@dataclass
class Plan:
    """What each company not yet in the id map needs, from the hub's company list."""

    create: list[Item] = field(default_factory=list)
    link: list[tuple[Item, dict]] = field(default_factory=list)  # (company, the hub company to give the code)
    known: list[tuple[Item, dict]] = field(default_factory=list)  # (company, the hub company it already is)
    conflicts: list[tuple[Item, dict]] = field(default_factory=list)  # (company, the hub company holding its code)


def plan(hook, items: list[Item]) -> Plan:
    hub = hook.companies()
    by_nip = {same_nip(c.get("vat_number")): c for c in hub if c.get("vat_number")}
    by_program_id = {c["company_program_id"]: c for c in hub if c.get("company_program_id")}
    result = Plan()
    for item in items:
        found, code = by_nip.get(same_nip(item.program_id)), item.fields["COMPANY_PROGRAM_ID"]
        if found is not None and found.get("company_program_id"):
            result.known.append((item, found))
        elif code in by_program_id:
            result.conflicts.append((item, by_program_id[code]))
        elif found is not None:
            result.link.append((item, found))
        else:
            result.create.append(item)
    return result


def preview(hook, items: list[Item]) -> dict[str, int]:
    """A dry run: what would be created, linked or refused, logged; nothing written."""
    todo = plan(hook, items)
    for item in todo.create:
        log.info("dry run, would create company %s (NIP %s, %s): %s", item.fields["COMPANY_PROGRAM_ID"],
                 item.program_id, item.where, item.fields)
    for item, hub in todo.link:
        log.info("dry run, would give hub company %s (NIP %s) the program id %s", hub.get("company_id"),
                 item.program_id, item.fields["COMPANY_PROGRAM_ID"])
    for item, hub in todo.conflicts:
        log.warning("dry run, would refuse: %s", conflict(item, hub))
    return {"company would_create": len(todo.create), "company would_synchronize": len(todo.link),
            "company would_reject": len(todo.conflicts), "company unchanged": len(todo.known)}


def synchronise(settings: RegistersSettings, ledger: Ledger, hook, items: list[Item], reject) -> list[Outcome]:
    """The companies not yet in the id map created, linked or remembered; a refused one passed to ``reject``
    (entity, key, reason, category, payload) in the hub's words."""
    todo = plan(hook, items)
    outcomes = [reject(KIND, item.program_id, conflict(item, hub), "CONFLICT", item.fields)
                for item, hub in todo.conflicts]
    done = [(item, str(hub["company_id"]), "unchanged") for item, hub in todo.known]
    if todo.create:
        answers = hook.create_companies([{**item.fields, "USERNAME": item.fields[ADMIN_USERNAME],
                                          "EMAIL": settings.company_admin_email} for item in todo.create])
        done += answered(todo.create, answers, "created", outcomes, reject)
    if todo.link:
        answers = hook.synchronize_companies([{"COMPANY_ID": hub["company_id"],
                                               "COMPANY_PROGRAM_ID": item.fields["COMPANY_PROGRAM_ID"]}
                                              for item, hub in todo.link])
        done += answered([item for item, _ in todo.link], answers, "updated", outcomes, reject)
    ledger.remember_many(KIND, [(item.program_id, hub_id, None) for item, hub_id, _ in done])
    ledger.release(KIND, [item.program_id for item, _, _ in done])
    outcomes += [Outcome(KIND, item.program_id, action, item.fields["COMPANY_PROGRAM_ID"], hub_id)
                 for item, hub_id, action in done]
    return outcomes


def answered(items: list[Item], answers: dict, action: str, outcomes: list[Outcome], reject) -> list[tuple]:
    """(company, hub id, action) of the companies the hub took; the refused ones rejected into ``outcomes``."""
    done = []
    for item in items:
        code = item.fields["COMPANY_PROGRAM_ID"]
        hub_id, refused = answers.get(code, (None, "no result for it in the answer"))
        if refused is None:
            done.append((item, hub_id or "", action))
        else:
            outcomes.append(reject(KIND, item.program_id, f"company {code} (NIP {item.program_id}, {item.where}): "
                                   f"SaldeoSMART refused it: {refused}", "NOT_VALID", item.fields))
    return done


def conflict(item: Item, hub: dict) -> str:
    code = item.fields["COMPANY_PROGRAM_ID"]
    return (f"company {code} (NIP {item.program_id}, {item.where}): the hub company {hub.get('full_name') or ''} "
            f"(NIP {hub.get('vat_number') or 'none'}) already has the program id {code}. What to do: give one of "
            "them another code in the accounting program.")
