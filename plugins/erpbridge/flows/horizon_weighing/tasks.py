"""Weighing round trip tasks: orders out, weighings in, delivery notes in Horizon; the ones outside their
tolerance after a person's review."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from erpbridge.engine.run_context import Scope, run_context

log = logging.getLogger(__name__)

CREATE = "Create the delivery notes"
DO_NOT_CREATE = "Do not create"
OPTIONS = [CREATE, DO_NOT_CREATE]


def weigh_now(scope: dict, run=None, approved: dict[str, str] | None = None, dry_run: bool = False) -> dict:
    """One pass (only the notes ``approved`` by a person, when given). Returns the counts and the orders a person
    must review (``to_review``, none in a dry run: it logs them)."""
    from erpbridge.engine.report import preview_table
    from erpbridge.flows.horizon_weighing.sync import WeighingRound, review_body
    from erpbridge.hooks.visma_horizon import VismaHorizonHook
    from erpbridge.hooks.weighing import WeighingHook
    from erpbridge.ledger.store import RunContext

    scope = Scope.of(scope)
    config = scope.load_settings()
    horizon, weighing = VismaHorizonHook(scope.conn_id("visma_horizon")), WeighingHook(scope.conn_id("weighing"))
    ledger = scope.ledger(run or RunContext())
    try:
        result = WeighingRound(horizon, weighing, ledger, config.tolerance_percent, dry_run).run(approved)
    finally:
        ledger.close()
    if dry_run:
        result.preview += [{"action": "ask a person", "key": item["order_no"], "reason": item["reasons"]}
                           for item in result.to_review]
        result.to_review = []
        log.info("dry run, nothing written; would do:\n%s", preview_table(result.preview))
    summary = {"sent": result.sent, "labels": result.labels, "set_aside": result.set_aside,
               "refused": result.refused, "created": result.created, "waiting": result.waiting,
               "to_review": result.to_review, "body": review_body(result.to_review)}
    log.info("weighing: %d order(s) sent, %d label(s) read, %d duplicate or voided, %d refused, %d delivery note(s)"
             " created, %d order(s) waiting for labels, %d for a person", result.sent, result.labels,
             result.set_aside, result.refused, result.created, result.waiting, len(result.to_review))
    return summary


def create_reviewed_now(weighed: dict, response: dict, scope: dict, run=None) -> dict:
    """Apply the answer: create the notes exactly as shown (an order whose labels changed meanwhile asks again)."""
    from erpbridge.flows.horizon_weighing.sync import NOTE
    from erpbridge.ledger.store import Outcome, RunContext

    user = response.get("responded_by_user") or {}
    by = user.get("name") if isinstance(user, dict) else str(user)
    pending = weighed["to_review"]
    if (response.get("chosen_options") or [DO_NOT_CREATE])[0] != CREATE:
        ledger = Scope.of(scope).ledger(run or RunContext()).of("visma_horizon")
        try:
            ledger.log([Outcome(NOTE, item["key"], "skipped", item["order_no"], None, "NOT_CONFIRMED",
                                f"delivery note not created: {by} chose {DO_NOT_CREATE!r} ({item['reasons']})")
                        for item in pending])
            ledger.commit()
        finally:
            ledger.close()
        return {"created": 0, "declined": len(pending)}
    result = weigh_now(scope, run, {item["key"]: item["digest"] for item in pending})
    if result["to_review"]:
        raise AirflowFailException(f"{len(result['to_review'])} order(s) got other labels after the question was"
                                   " asked: not created; the next run asks again")
    return {"created": result["created"], "declined": 0}


@task
def weigh(scope: dict) -> dict:
    return weigh_now(scope, run_context(), dry_run=bool(get_current_context()["params"].get("dry_run")))


@task.short_circuit
def deliveries_to_review(weighed: dict) -> bool:
    """Only an order outside its tolerance goes on to a person."""
    return bool(weighed["to_review"])


@task
def create_reviewed_notes(weighed: dict, response: dict[str, Any], scope: dict) -> dict:
    return create_reviewed_now(weighed, response, scope, run_context())
