"""Severa simulator: invoices with statuses, paged rows, what a row bills and the PDF; travel
reimbursements and their own lines; hour-entry code lists; deleted hours; absences (activities)."""

from __future__ import annotations

import requests

from tests.simulators.test_severa_simulator import Api, assert_error, base, seed  # noqa: F401  (fixture)

READY, SENT = "a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002"
CUSTOMER, INVOICE = "c1000000-0000-4000-8000-000000000001", "f1000000-0000-4000-8000-000000000001"
PROJECT, PRODUCT = "e1000000-0000-4000-8000-000000000001", "d1000000-0000-4000-8000-000000000001"
USER, VACATION = "a3000000-0000-4000-8000-000000000001", "a5000000-0000-4000-8000-000000000001"
MEETING = "a5000000-0000-4000-8000-000000000002"
EUR = {"amount": 100.0, "currencyCode": "EUR"}


def test_invoices_by_status_rows_paged_what_a_row_bills_pdf_and_status_change(base):  # noqa: F811
    rows = [{"guid": f"f2000000-0000-4000-8000-{n:012d}", "invoiceGuid": INVOICE, "rowType": "ProjectFees",
             "category": "ProjectFees", "quantity": 1, "unitPrice": EUR, "vatRate": 25.5, "sortOrder": 44 - n}
            for n in range(45)]
    seed(base, customers=[{"guid": CUSTOMER, "name": "Oy Testi Ab", "number": 1001}],
         users=[{"guid": USER, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
         products=[{"guid": PRODUCT, "name": "Licence", "code": "LIC-Y"}],
         projects=[{"guid": PROJECT, "name": "ERP", "number": 2001, "customer": {"guid": CUSTOMER}}],
         invoicestatuses=[{"guid": READY, "name": "Ready to be sent to Netvisor"},
                          {"guid": SENT, "name": "Invoice sent to Netvisor", "isSent": True}],
         invoices=[{"guid": INVOICE, "number": 5001, "status": {"guid": READY}, "customer": {"guid": CUSTOMER},
                    "projects": [{"guid": PROJECT}], "totalExcludingTax": {"amount": 4500.0, "currencyCode": "EUR"}},
                   {"number": 5002, "status": {"guid": SENT}, "customer": {"guid": CUSTOMER}}],
         invoicerows=rows,
         projectfees=[{"project": {"guid": PROJECT}, "product": {"guid": PRODUCT}, "quantity": 1,
                       "invoiceRowGuid": rows[0]["guid"]}],
         workhours=[{"user": {"guid": USER}, "eventDate": "2026-03-02", "quantity": 2,
                     "invoiceRowGuid": rows[1]["guid"]}],
         overtimes=[{"name": "OT 50", "code": "2"}], worktypes=[{"name": "Dev", "code": "DEV"}])
    api = Api(base)
    ready = api.get("/invoices", params={"invoiceStatusGuids": READY}).json()
    assert [(i["number"], i["status"]["name"], i["customer"], i["projects"]) for i in ready] == [
        (5001, "Ready to be sent to Netvisor", {"guid": CUSTOMER, "name": "Oy Testi Ab", "number": 1001},
         [{"guid": PROJECT, "name": "ERP", "number": 2001}])]
    first = api.get(f"/invoices/{INVOICE}/invoicerows")
    assert len(first.json()) == 20 and [r["sortOrder"] for r in first.json()][:2] == [0, 1]
    pages, params = [first.json()], {"pageToken": first.headers["NextPageToken"], "rowCount": 20}
    while params:
        page = api.get(f"/invoices/{INVOICE}/invoicerows", params=params)
        pages.append(page.json())
        params = {"pageToken": page.headers["NextPageToken"], "rowCount": 20} if "NextPageToken" in page.headers \
            else None
    assert [len(p) for p in pages] == [20, 20, 5]
    assert_error(api.get("/invoicerows/nope/projectfees"), 404, "")
    assert [f["product"]["code"] for f in api.get(f"/invoicerows/{rows[0]['guid']}/projectfees").json()] == ["LIC-Y"]
    assert [h["user"]["code"] for h in api.get(f"/invoicerows/{rows[1]['guid']}/workhours").json()] == ["101"]
    pdf = api.get(f"/invoices/{INVOICE}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert_error(Api(base, scope="invoices:read").get(f"/invoices/{INVOICE}/pdf"), 403, "InsufficientApiScope")
    patched = api.patch(f"/invoices/{INVOICE}", json=[{"op": "Replace", "path": "/status", "value": {"guid": SENT}}])
    assert patched.json()[0]["status"]["name"] == "Invoice sent to Netvisor"
    assert api.get("/invoices", params={"invoiceStatusGuids": READY}).json() == []
    assert api.patch(f"/invoices/{INVOICE}", json=[{"op": "Replace", "path": "/status",
                                                    "value": {"guid": "nope"}}]).status_code == 400
    assert [o["code"] for o in api.get("/overtimes").json()] == ["2"]
    assert [w["code"] for w in api.get("/worktypes").json()] == ["DEV"]


def test_a_trips_lines_come_through_the_trip_and_the_list_ignores_other_filters(base):  # noqa: F811
    from include.simulators.severa import DEMO_DOCUMENTS, DEMO_SEED

    seed(base, **DEMO_SEED)
    seed(base, **DEMO_DOCUMENTS)
    api = Api(base)
    trips = api.get("/travelreimbursements").json()
    mine = api.get(f"/travelreimbursements/{trips[0]['guid']}/projecttravelexpenses").json()
    assert {line["travelReimbursement"]["guid"] for line in mine} == {trips[0]["guid"]}
    assert sorted(line["travelExpense"]["code"] for line in mine) == ["1300", "1502"]
    assert len(api.get("/projecttravelexpenses").json()) == 4  # the list has no per-trip filter


def test_project_fees_only_on_open_projects(base):  # noqa: F811
    from include.simulators.severa import DEMO_SEED

    seed(base, **DEMO_SEED)
    api = Api(base)
    fee = {"quantity": 1, "unitCost": {"amount": 10.0, "currencyCode": "EUR"}, "description": "x"}
    ok = api.post("/projectfees", json={**fee, "project": {"guid": "e1000000-0000-4000-8000-000000000001"}})
    assert ok.status_code == 201 and ok.json()[0]["project"]["name"] == "ERP rollout"
    closed = api.post("/projectfees", json={**fee, "project": {"guid": "e1000000-0000-4000-8000-000000000002"}})
    assert closed.status_code == 400 and "closed" in closed.json()["error"]["details"][0]["message"]
    listed = api.get("/projects/e1000000-0000-4000-8000-000000000001/projectfees").json()
    assert [f["guid"] for f in listed] == [ok.json()[0]["guid"]]


def test_a_deleted_hour_entry_is_listed_in_deletedworkhours(base):  # noqa: F811
    seed(base, users=[{"guid": USER, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
         workhours=[{"user": {"guid": USER}, "eventDate": "2026-03-02", "quantity": 7.5}])
    api = Api(base)
    [entry] = api.get("/workhours").json()
    assert_error(Api(base, scope="hours:read").delete(f"/workhours/{entry['guid']}"), 403, "InsufficientApiScope")
    assert api.delete(f"/workhours/{entry['guid']}").status_code == 204
    assert api.get("/workhours").json() == []
    [deleted] = api.get("/deletedworkhours", params={"deletedSince": "2020-01-01T00:00:00Z"}).json()
    assert (deleted["guid"], deleted["eventDate"], deleted["user"]) == (entry["guid"], "2026-03-02", {"guid": USER})
    assert api.get("/deletedworkhours", params={"deletedSince": "2999-01-01T00:00:00Z"}).json() == []


# -- absences: /v1/activities whose type has category Absences ---------------------------------------
def activity(start: str, end: str, kind: str = VACATION, **extra) -> dict:
    return {"name": "Away", "ownerUser": {"guid": USER}, "activityType": {"guid": kind},
            "startDateTime": start, "endDateTime": end} | extra


def absences(api, **params) -> list[tuple[str, str]]:
    found = api.get("/activities", params={"activityCategories": "Absences", **params})
    assert found.status_code == 200, found.text
    return sorted((a["startDateTime"], a["endDateTime"]) for a in found.json())


def people_and_types() -> dict:
    return {"users": [{"guid": USER, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
            "activitytypes": [{"guid": VACATION, "name": "Vacation", "code": "VAC", "category": "Absences"},
                              {"guid": MEETING, "name": "Meeting", "category": "CalendarEntry"}]}


def test_absences_are_activities_filtered_by_category_and_overlapping_period(base):  # noqa: F811
    seed(base, **people_and_types(),
         activities=[activity("2026-03-02T00:00:00", "2026-03-03T23:59:59", isAllDay=True),
                     activity("2026-03-05T08:00:00", "2026-03-05T12:00:00"),
                     activity("2026-03-10T00:00:00", "2026-03-10T00:00:00", isAllDay=True),
                     activity("2026-03-04T09:00:00", "2026-03-04T10:00:00", kind=MEETING)])
    api = Api(base)
    listed = api.get("/activities", params={"activityCategories": "Absences", "startDateTime": "2026-03-03T00:00:00",
                                            "endDateTime": "2026-03-05T23:59:59"}).json()
    assert sorted((a["startDateTime"], a["isAllDay"]) for a in listed) == [("2026-03-02T00:00:00", True),
                                                                           ("2026-03-05T08:00:00", False)]
    assert listed[0]["ownerUser"] == {"guid": USER, "name": "Maija Virtanen", "code": "101"}
    assert listed[0]["activityType"] == {"guid": VACATION, "name": "Vacation", "category": "Absences"}
    assert absences(api, startDateTime="2026-03-10T00:00:00", endDateTime="2026-03-10T23:59:59") == [
        ("2026-03-10T00:00:00", "2026-03-10T00:00:00")]  # the boundaries overlap
    assert absences(api, startDateTime="2026-03-06T00:00:00", endDateTime="2026-03-09T23:59:59") == []
    assert len(api.get("/activities").json()) == 4  # no category filter: the calendar entry too
    assert [t.get("code") for t in api.get("/activitytypes").json()] == ["VAC", None]


def test_absences_page_by_token_and_need_a_token_with_their_scope(base):  # noqa: F811
    seed(base, **people_and_types(),
         activities=[activity(f"2026-03-{d:02d}T08:00:00", f"2026-03-{d:02d}T12:00:00") for d in range(1, 6)])
    api = Api(base)
    first = api.get("/activities", params={"rowCount": 3})
    rest = api.get("/activities", params={"rowCount": 3, "pageToken": first.headers["NextPageToken"]})
    assert [len(first.json()), len(rest.json())] == [3, 2] and "NextPageToken" not in rest.headers
    assert_error(api.get("/activities", params={"rowCount": 101}), 400, "InvalidParameter")
    assert_error(api.get("/activities", params={"startDateTime": "yesterday"}), 400, "InvalidParameter")
    assert_error(requests.get(f"{base}/rest-api/v1/activities", timeout=5), 401, "AuthenticationRequired")
    assert_error(Api(base, scope="hours:read").get("/activities"), 403, "InsufficientApiScope")
    assert_error(Api(base, scope="activities:read").get("/activitytypes"), 403, "InsufficientApiScope")


def test_an_activity_must_end_after_it_starts_and_have_an_owner(base):  # noqa: F811
    seed(base, **people_and_types())
    api = Api(base)
    assert_error(api.post("/activities", json=activity("2026-03-05T12:00:00", "2026-03-05T08:00:00")),
                 400, "InvalidParameter")
    assert_error(api.post("/activities", json=activity("2026-03-05T08:00:00", "soon")), 400, "InvalidParameter")
    assert_error(api.post("/activities", json={**activity("2026-03-05T08:00:00", "2026-03-05T12:00:00"),
                                               "ownerUser": None}), 400, "InvalidParameter")
    assert api.post("/activities", json=activity("2026-03-05T08:00:00", "2026-03-05T12:00:00")).status_code == 201
