"""Flow A document tasks (R-A.6, R-A.8): preview, optional approval, transfer in batches.

Each document DAG is: migrate ledger -> settings -> preview -> approve -> transfer. The preview reads
only (Severa and the ledger) and logs each document's mapped payload; with ``dry_run`` it is the whole
run. With the kind's ``require_approval`` setting the approval step (the providers-standard
ApprovalOperator) shows a summary of the batch and waits; on approval exactly the previewed
documents move, on rejection nothing does.
"""

from __future__ import annotations

import logging

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, task

from erpbridge.catalog import flow as catalog_flow
from erpbridge.engine.run_context import Scope

log = logging.getLogger(__name__)

SUMMARY_ROWS = 100


def params(numbers_help: str, resend_help: str) -> dict:
    """The Params of a document DAG: all optional; left empty, a run does what the scheduled run does."""
    return {
        "dry_run": Param(False, type="boolean",
                         description="Preview: log which documents would move and the mapped payload of each; "
                                     "write nothing anywhere."),
        "document_numbers": Param([], type=["null", "array"], items={"type": "string"}, uniqueItems=True,
                                  description=numbers_help),
        "date_from": Param(None, type=["null", "string"], format="date",
                           description="First date; empty: no limit (hours: the last hours.days_back days)."),
        "date_to": Param(None, type=["null", "string"], format="date", description="Last date; empty: today."),
        "resend": Param(None, type=["null", "string"], description=resend_help),
    }


def _build(scope: Scope, settings: dict, params: dict):
    """The flow's DocumentFlow over the company's connections, its settings section and the resend key."""
    from erpbridge.flows.severa_netvisor import documents as docs
    from erpbridge.hooks.netvisor import NetvisorHook
    from erpbridge.hooks.severa import SeveraHook

    builders = {"sales_invoices": docs.sales_invoice_flow, "hours": docs.hours_flow,
                "travel_invoices": docs.travel_flow, "purchase_invoices": docs.purchase_invoice_flow}
    kind = catalog_flow(scope.flow).kind
    config = scope.parse_settings(settings)
    numbers = [str(n) for n in params.get("document_numbers") or []]
    resend = str(params.get("resend") or "").strip() or None
    dates = {"date_from": params.get("date_from") or None, "date_to": params.get("date_to") or None}
    flow = builders[kind](config, SeveraHook(scope.conn_id("severa")), NetvisorHook(scope.conn_id("netvisor")),
                          numbers, resend, **dates)
    return flow, getattr(config, kind), resend


def summarise(kind: str, preview: list[dict]) -> str:
    """A short, readable line per document for the approval request."""
    lines = []
    for item in preview[:SUMMARY_ROWS]:
        payload = item.get("payload") or {}
        if item.get("action") in ("rejected", "skipped"):
            lines.append(f"- {item.get('key')}: {item['action'].upper()} - {item.get('reason')}")
        elif kind == "travel_invoices":
            total = sum(line["quantity"] * line["unit_amount"] for line in payload.get("lines", []))
            lines.append(f"- travel invoice {payload.get('number')} of employee {payload.get('employee')}: "
                         f"{len(payload.get('lines', []))} lines, total {total}")
        elif kind == "sales_invoices":
            lines.append(f"- invoice {payload.get('number')} {payload.get('date')}: customer {payload.get('customer')}, "
                         f"{len(payload.get('lines', []))} rows, total {payload.get('amount')}"
                         f"{' (credit note)' if payload.get('credit_note') else ''}")
        elif kind == "purchase_invoices":
            total = sum(fee["quantity"] * fee["unit_cost"] for fee in payload.get("fees", []))
            lines.append(f"- purchase invoice {payload.get('number')}: {len(payload.get('fees', []))} project "
                         f"cost(s), total {total}")
        else:
            total = sum(float(h["hours"]) for h in payload.get("hours", []))
            lines.append(f"- employee {payload.get('employee')} {payload.get('date')}: {total:g} h")
    if len(preview) > SUMMARY_ROWS:
        lines.append(f"... and {len(preview) - SUMMARY_ROWS} more (see the preview task's log)")
    return "\n".join(lines)


@task
def preview_documents(settings: dict, scope: dict, params: dict | None = None) -> dict:
    """Read-only: what would move. Needed for ``dry_run`` and for the approval; otherwise skipped."""
    from erpbridge.engine.report import preview_table
    from erpbridge.engine.batches import transfer_in_batches

    params, scope = params or {}, Scope.of(scope)
    dry_run, catalog_entry = bool(params.get("dry_run")), catalog_flow(scope.flow)
    flow, section, resend = _build(scope, settings, params)
    if not dry_run and not section.require_approval:
        return {"approval_needed": False, "reason": "require_approval is off"}
    ledger = scope.ledger()
    try:
        report = transfer_in_batches(flow, ledger, batch_size=section.batch_size, dry_run=True, resend=bool(resend))
    finally:
        ledger.close()
    moving = [p for p in report.preview if p["action"] in ("created", "updated")]
    log.info("%s%d %s(s) would move, %d refused:\n%s", "dry run, nothing written. " if dry_run else "",
             len(moving), catalog_entry.noun, report.counts.get("rejected", 0), preview_table(report.preview))
    summary = (f"{len(moving)} {catalog_entry.noun}(s) would move to Netvisor in {len(report.batches)} batch(es); "
               f"{report.counts.get('rejected', 0)} refused.\n\n{summarise(catalog_entry.kind, report.preview)}")
    return {"approval_needed": section.require_approval and not dry_run and bool(moving),
            "reason": "dry run" if dry_run else ("nothing to move" if not moving else ""),
            "summary": summary, "would_move": len(moving), "source_ids": sorted(report.seen)}


class DocumentApproval(ApprovalOperator):
    """The providers-standard approval, asked only when the preview says a person must approve."""

    def __init__(self, *, preview_task_id: str = "preview_documents", **kwargs):
        super().__init__(**kwargs)
        self.preview_task_id = preview_task_id

    def execute(self, context):
        preview = context["ti"].xcom_pull(task_ids=self.preview_task_id) or {}
        if not preview.get("approval_needed"):
            self.log.info("no approval asked: %s", preview.get("reason") or "not needed")
            return None
        self.body = preview["summary"]
        return super().execute(context)


@task
def transfer_documents(settings: dict, scope: dict, params: dict | None = None, ti=None) -> dict:
    """Move the documents, at most the batch size per transfer, each exactly once."""
    from erpbridge.engine.registry import SyncResult
    from erpbridge.engine.batches import transfer_in_batches
    from erpbridge.flows.severa_netvisor.documents import WORKDAY, release_superseded

    params, scope = params or {}, Scope.of(scope)
    if params.get("dry_run"):
        log.info("dry run: nothing moves (the preview task's log shows what would)")
        return {}
    flow, section, resend = _build(scope, settings, params)
    preview = (ti.xcom_pull(task_ids="preview_documents") if ti else None) or {}
    only = set(preview["source_ids"]) if preview.get("approval_needed") else None  # exactly what was approved
    ledger = scope.ledger()
    try:
        report = transfer_in_batches(flow, ledger, batch_size=section.batch_size, resend=bool(resend), only=only)
        if flow.entity == WORKDAY:
            release_superseded(ledger.of(flow.source.system), WORKDAY, report.seen)
    finally:
        ledger.close()
    log.info("summary %s; batches: %s", SyncResult(flow.entity, report.counts).summary(),
             ", ".join(f"{size} {catalog_flow(scope.flow).noun}(s)" for size in report.batches) or "none")
    return {**dict(report.counts), "batches": report.batches}


def document_tasks(cf) -> None:
    """The task chain of one company's document DAG (called by the DAG file with its ``CompanyFlow``)."""
    from erpbridge.engine.tasks import load_settings, migrate_ledger

    scope, pool = cf.scope(), cf.pool("netvisor")
    settings = load_settings(scope)
    migrate_ledger() >> settings
    preview = preview_documents.override(pool=pool)(settings=settings, scope=scope)  # reads Netvisor too
    approve = DocumentApproval(task_id="approve", subject=f"Approve the {cf.flow.noun}s moving to Netvisor",
                               body="(filled in from the preview)")
    transfer = transfer_documents.override(pool=pool)(settings=settings, scope=scope)
    preview >> approve >> transfer
