"""Severa simulator: invoices with statuses, rows and PDF; hour-entry code lists (issue 3)."""

from __future__ import annotations

from tests.simulators.test_severa_simulator import Api, base, seed  # noqa: F401  (fixture)

READY, SENT = "a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002"
CUSTOMER, INVOICE = "c1000000-0000-4000-8000-000000000001", "f1000000-0000-4000-8000-000000000001"


def test_invoices_by_status_rows_pdf_and_status_change(base):  # noqa: F811
    seed(base, customers=[{"guid": CUSTOMER, "name": "Oy Testi Ab", "number": "1001"}],
         invoicestatuses=[{"guid": READY, "name": "Ready to be sent to Netvisor"},
                          {"guid": SENT, "name": "Invoice sent to Netvisor", "isSent": True}],
         invoices=[{"guid": INVOICE, "number": "5001", "status": {"guid": READY}, "customer": {"guid": CUSTOMER}},
                   {"number": "5002", "status": {"guid": SENT}, "customer": {"guid": CUSTOMER}}],
         invoicerows=[{"invoice": {"guid": INVOICE}, "quantity": 2, "sortOrder": 1},
                      {"invoice": {"guid": INVOICE}, "quantity": 1, "sortOrder": 0}],
         overtimes=[{"name": "OT 50", "code": "2"}], worktypes=[{"name": "Dev", "code": "DEV"}])
    api = Api(base)
    ready = api.get("/invoices", params={"invoiceStatusGuids": READY}).json()
    assert [(i["number"], i["status"]["name"], i["customer"]["name"]) for i in ready] == [
        ("5001", "Ready to be sent to Netvisor", "Oy Testi Ab")]
    assert [r["quantity"] for r in api.get(f"/invoices/{INVOICE}/invoicerows").json()] == [1, 2]
    assert api.get("/invoicerows").status_code == 404  # rows only through their invoice
    pdf = api.get(f"/invoices/{INVOICE}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    patched = api.patch(f"/invoices/{INVOICE}", json=[{"op": "replace", "path": "/status", "value": {"guid": SENT}}])
    assert patched.json()["status"]["name"] == "Invoice sent to Netvisor"
    assert api.get("/invoices", params={"invoiceStatusGuids": READY}).json() == []
    assert api.patch(f"/invoices/{INVOICE}", json=[{"op": "replace", "path": "/status",
                                                    "value": {"guid": "nope"}}]).status_code == 400
    assert [o["code"] for o in api.get("/overtimes").json()] == ["2"]
    assert [w["code"] for w in api.get("/worktypes").json()] == ["DEV"]


def test_project_costs_only_on_open_projects(base):  # noqa: F811
    from include.simulators.severa import DEMO_SEED

    seed(base, **DEMO_SEED)
    api = Api(base)
    fee = {"quantity": 1, "unitCost": {"amount": 10.0}, "description": "x"}
    ok = api.post("/projectfees", json={**fee, "project": {"guid": "e1000000-0000-4000-8000-000000000001"}})
    assert ok.status_code == 201 and ok.json()["project"]["name"] == "ERP rollout"
    closed = api.post("/projectfees", json={**fee, "project": {"guid": "e1000000-0000-4000-8000-000000000002"}})
    assert closed.status_code == 400 and "closed" in closed.json()["error"]["message"]
