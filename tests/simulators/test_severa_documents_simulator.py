"""Severa simulator: invoices with statuses, rows and PDF; hour-entry code lists (issue 3); absences."""

from __future__ import annotations

import requests

from tests.simulators.test_severa_simulator import Api, assert_error, base, seed  # noqa: F401  (fixture)

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


# -- absences (assumed resource: /v1/activities of category Absence, types in /v1/activitytypes) ---------
USER, VACATION = "u1000000-0000-4000-8000-000000000001", "at100000-0000-4000-8000-000000000001"


def activity(start: str, end: str, category: str = "Absence", **extra) -> dict:
    return {"owner": {"guid": USER}, "activityType": {"guid": VACATION}, "activityCategory": category,
            "startDateTime": start, "endDateTime": end} | extra


def absences(api, **params) -> list[tuple[str, str]]:
    found = api.get("/activities", params={"activityCategories": "Absence", **params})
    assert found.status_code == 200, found.text
    return sorted((a["startDateTime"], a["endDateTime"]) for a in found.json())


def test_absences_are_activities_filtered_by_category_and_overlapping_period(base):  # noqa: F811
    seed(base, users=[{"guid": USER, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
         activitytypes=[{"guid": VACATION, "name": "Vacation", "code": "VAC"}],
         activities=[activity("2026-03-02T00:00:00", "2026-03-03T23:59:59", isAllDay=True),
                     activity("2026-03-05T08:00:00", "2026-03-05T12:00:00"),
                     activity("2026-03-10T00:00:00", "2026-03-10T00:00:00", isAllDay=True),
                     activity("2026-03-04T09:00:00", "2026-03-04T10:00:00", category="CalendarEntry")])
    api = Api(base)
    listed = api.get("/activities", params={"activityCategories": "Absence", "startDateTime": "2026-03-03T00:00:00",
                                            "endDateTime": "2026-03-05T23:59:59"}).json()
    assert sorted((a["startDateTime"], a["isAllDay"]) for a in listed) == [("2026-03-02T00:00:00", True),
                                                                           ("2026-03-05T08:00:00", False)]
    assert listed[0]["owner"] == {"guid": USER, "firstName": "Maija", "lastName": "Virtanen"}
    assert listed[0]["activityType"] == {"guid": VACATION, "name": "Vacation"}
    assert absences(api, startDateTime="2026-03-10T00:00:00", endDateTime="2026-03-10T23:59:59") == [
        ("2026-03-10T00:00:00", "2026-03-10T00:00:00")]  # the boundaries overlap
    assert absences(api, startDateTime="2026-03-06T00:00:00", endDateTime="2026-03-09T23:59:59") == []
    assert len(api.get("/activities").json()) == 4  # no category filter: the calendar entry too
    assert [t["code"] for t in api.get("/activitytypes", params={"firstRow": 0, "rowCount": 5}).json()] == ["VAC"]


def test_absences_page_by_token_and_need_a_token_with_their_scope(base):  # noqa: F811
    seed(base, users=[{"guid": USER, "lastName": "Virtanen", "code": "101"}],
         activitytypes=[{"guid": VACATION, "name": "Vacation", "code": "VAC"}],
         activities=[activity(f"2026-03-{d:02d}T08:00:00", f"2026-03-{d:02d}T12:00:00") for d in range(1, 6)])
    api = Api(base)
    first = api.get("/activities", params={"rowCount": 3})
    rest = api.get("/activities", params={"rowCount": 3, "pageToken": first.headers["NextPageToken"]})
    assert [len(first.json()), len(rest.json())] == [3, 2] and "NextPageToken" not in rest.headers
    assert_error(api.get("/activities", params={"rowCount": 101}), 400, "InvalidParameter")
    assert_error(api.get("/activities", params={"startDateTime": "yesterday"}), 400, "InvalidParameter")
    assert_error(requests.get(f"{base}/rest-api/v1/activities", timeout=5), 401, "AuthenticationRequired")
    assert_error(Api(base, scope="workhours:read").get("/activities"), 403, "InsufficientApiScope")
    assert_error(Api(base, scope="activities:read").get("/activitytypes"), 403, "InsufficientApiScope")


def test_an_activity_must_end_after_it_starts_and_have_an_owner(base):  # noqa: F811
    seed(base, users=[{"guid": USER, "lastName": "Virtanen", "code": "101"}],
         activitytypes=[{"guid": VACATION, "name": "Vacation", "code": "VAC"}])
    api = Api(base)
    assert_error(api.post("/activities", json=activity("2026-03-05T12:00:00", "2026-03-05T08:00:00")),
                 400, "InvalidParameter")
    assert_error(api.post("/activities", json=activity("2026-03-05T08:00:00", "soon")), 400, "InvalidParameter")
    assert_error(api.post("/activities", json={**activity("2026-03-05T08:00:00", "2026-03-05T12:00:00"),
                                               "owner": None}), 400, "InvalidParameter")
    assert api.post("/activities", json=activity("2026-03-05T08:00:00", "2026-03-05T12:00:00")).status_code == 201
