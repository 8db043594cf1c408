"""The control room's Orders view (R-D.3 "appears in the integrator panel"): every shop order the e-shop flows
have seen, its ERP documents, its state and why it waits - read from the ledger alone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse

from erpbridge.catalog import FLOWS
from erpbridge.flows.eshop_erp.split import erp_ids

ORDERS_FLOW, PAYMENTS_FLOW = "eshop_erp_orders", "eshop_erp_payments"
DOCUMENT_LABELS = FLOWS[ORDERS_FLOW].entities
LIMIT = 300

router = APIRouter()


def orders(conn, limit: int = LIMIT) -> list[dict]:
    """The most recently touched shop orders (per company), newest first: documents (entity, stage, ERP ids: one per
    warehouse part of a split order), waiting reasons, reserved stock (per warehouse when split), and a state in
    words."""
    found: dict[tuple[str, str], dict] = {}

    def order(company: str, order_id: str, key: str | None) -> dict:
        entry = found.setdefault((company, order_id), {
            "company": company, "order_id": order_id, "number": None, "documents": [], "waiting": [], "reserved": [],
            "updated_at": None})
        if key and key.startswith("order ") and not entry["number"]:
            entry["number"] = key.removeprefix("order ").split(" refund ")[0]
        return entry

    def touched(entry: dict, moment) -> None:
        if moment and (entry["updated_at"] is None or moment > entry["updated_at"]):
            entry["updated_at"] = moment

    flows = [ORDERS_FLOW, PAYMENTS_FLOW]
    with conn.cursor() as cur:
        cur.execute("SELECT company, source_id, source_key, entity, stage, target_id, reference, updated_at"
                    " FROM document_transfer WHERE flow = ANY(%s) ORDER BY created_at", (flows,))
        for company, source_id, key, entity, stage, target_id, reference, updated_at in cur.fetchall():
            entry = order(company, source_id.split("/")[0], key)
            entry["documents"].append({"what": DOCUMENT_LABELS.get(entity, entity), "stage": stage,
                                       "erp_id": target_id, "erp_ids": erp_ids(target_id) if target_id else [],
                                       "reference": reference})
            touched(entry, updated_at)
        cur.execute("SELECT company, source_id, source_key, entity, reason, last_seen FROM quarantine"
                    " WHERE flow = ANY(%s)", (flows,))
        for company, source_id, key, entity, reason, last_seen in cur.fetchall():
            entry = order(company, source_id.split("/")[0], key)
            entry["waiting"].append({"what": DOCUMENT_LABELS.get(entity, entity), "reason": reason})
            touched(entry, last_seen)
        cur.execute("SELECT to_regclass('eshop_reservation') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("SELECT company, shop_order_id, sku, quantity, warehouse_id, created_at FROM eshop_reservation"
                        " ORDER BY sku, warehouse_id")
            for company, order_id, sku, quantity, warehouse, created_at in cur.fetchall():
                entry = order(company, order_id, None)
                entry["reserved"].append(f"{sku} × {quantity.normalize():f}" + (f" (warehouse {warehouse})"
                                                                                 if warehouse else ""))
                touched(entry, created_at)
    rows = sorted(found.values(), key=lambda e: (e["updated_at"] is not None, e["updated_at"]), reverse=True)[:limit]
    for entry in rows:
        entry["state"] = state(entry)
    return rows


def state(entry: dict) -> str:
    """Where the order is, in words: what waits comes first."""
    done = {d["what"] for d in entry["documents"] if d["stage"] == "done"}
    if entry["waiting"]:
        return "waiting: " + "; ".join(f"{w['what']}: {w['reason']}" for w in entry["waiting"])
    if unfinished := [d for d in entry["documents"] if d["stage"] != "done"]:
        return "in progress: " + ", ".join(f"{d['what']} ({d['stage']})" for d in unfinished)
    if "cancellation" in done:
        return "cancelled: its customer order is rejected in the ERP"
    if "transfer to store" in done:
        return "moved to its store: the store issues the final document at pickup"
    if "sales document" in done:
        return "paid: sales document issued" + (", refund corrected" if "correction" in done else "")
    if "customer order" in done:
        return "customer order in the ERP: waiting for payment (or for the store transfer)"
    return "seen in the shop, not yet in the ERP: waiting for the next orders run"


@router.get("/orders", response_class=HTMLResponse, name="orders_page")
def orders_page(request: Request):
    from erpbridge.control_room.app import ledger, render

    with ledger() as conn:
        rows = orders(conn)
    return render(request, "orders.html", orders=rows)


@router.get("/api/orders", name="orders_json")
def orders_json():
    from erpbridge.control_room.app import ledger

    with ledger() as conn:
        return jsonable_encoder(orders(conn))
