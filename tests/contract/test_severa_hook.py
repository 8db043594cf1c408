"""SeveraHook against the Severa simulator over real HTTP: token, paging, filters, retries, writes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.severa import SeveraHook
from tests.conftest import SECRET_VALUES, SECRETS
from tests.contract._support import after_first_response, calls, gaps, override_connection

ENV = "AIRFLOW_CONN_SEVERA_DEFAULT"
TOKEN = "/rest-api/v1/token"
CUSTOMERS = "/rest-api/v1/customers"
BUSINESS_UNITS = "/rest-api/v1/businessunits"


def customers(n: int, start: int = 1001, **extra) -> list[dict]:
    return [{"name": f"Asiakas {i} Oy", "number": i, **extra} for i in range(start, start + n)]


def first_page(hook) -> list[dict]:
    return next(iter(hook.iter_changed("customers", None)))


# --- token ------------------------------------------------------------------------------------

def test_the_token_is_fetched_once_and_reused(severa):
    severa.seed(customers=customers(3))
    hook = SeveraHook()
    for _ in range(4):
        assert len(first_page(hook)) == 3
    assert len(calls(severa, TOKEN)) == 1
    assert [r["status"] for r in calls(severa, CUSTOMERS)] == [200] * 4


def test_an_expired_token_is_replaced_before_use(severa):
    severa.configure(token_ttl_seconds=1)
    severa.seed(customers=customers(1))
    hook = SeveraHook()
    first_page(hook)
    time.sleep(1.2)  # past the simulator's expiry too
    assert len(first_page(hook)) == 1
    assert [r["status"] for r in calls(severa, TOKEN)] == [200, 200]
    assert [r["status"] for r in calls(severa, CUSTOMERS)] == [200, 200]  # refreshed ahead: no 401


def test_a_revoked_token_mid_run_is_fetched_again_once(severa):
    hook = SeveraHook()
    severa.seed(customers=customers(1))
    first_page(hook)
    severa.reset()  # the simulator forgets every token (and its config: set the credentials again)
    severa.configure(**SECRETS["severa"])
    severa.seed(customers=customers(2))
    assert len(first_page(hook)) == 2
    log = [(r["path"], r["status"]) for r in severa.requests()]
    assert log == [(CUSTOMERS, 401), (TOKEN, 200), (CUSTOMERS, 200)]


def test_a_401_that_persists_after_a_new_token_is_a_system_error(severa):
    hook = SeveraHook()
    first_page(hook)
    since = severa.last_seq()
    revoke = {"count": 1, "status": 401, "category": "AuthenticationRequired", "message": "Token revoked"}
    severa.faults(next_n=revoke)
    # the new token is granted, and the repeated read is refused again
    after_first_response(hook, lambda: severa.faults(next_n=revoke), when=lambda r: r.url.endswith("/v1/token"))
    with pytest.raises(ExternalSystemError) as caught:
        first_page(hook)
    assert "access refused" in str(caught.value) and "Token revoked" in str(caught.value)
    assert [(r["path"], r["status"]) for r in severa.requests(since)] == [(CUSTOMERS, 401), (TOKEN, 200),
                                                                           (CUSTOMERS, 401)]


def test_a_wrong_secret_is_a_system_error_naming_the_token_refusal(severa, monkeypatch):
    wrong = "wrong-severa-secret-0000"
    override_connection(monkeypatch, ENV, password=wrong)
    with pytest.raises(ExternalSystemError) as caught:
        first_page(SeveraHook())
    message = str(caught.value)
    assert "token refused" in message and "Invalid client_id or client_secret" in message
    assert wrong not in message and not any(secret in message for secret in SECRET_VALUES)
    assert [r["status"] for r in calls(severa, TOKEN)] == [401]  # not retried
    assert calls(severa, CUSTOMERS) == []


def test_test_connection_reports_success_and_a_refusal_without_the_secret(severa, monkeypatch):
    ok, message = SeveraHook().test_connection()
    assert ok is True and "token granted" in message

    wrong = "wrong-severa-secret-1111"
    override_connection(monkeypatch, ENV, password=wrong)
    ok, message = SeveraHook().test_connection()
    assert ok is False and "token refused" in message
    assert wrong not in message and not any(secret in message for secret in SECRET_VALUES)


# --- paging and filters -----------------------------------------------------------------------

def test_page_token_paging_reads_every_page(severa):
    severa.seed(customers=customers(250))
    pages = list(SeveraHook().iter_changed("customers", None))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert sorted(c["number"] for page in pages for c in page) == list(range(1001, 1251))
    log = calls(severa, CUSTOMERS)
    assert len(log) == 3
    assert "pageToken" not in log[0]["query"] and all("pageToken=" in r["query"] for r in log[1:])
    assert all("rowCount=100" in r["query"] for r in log)


def test_first_row_paging_reads_every_page(severa):
    severa.seed(businessunits=[{"name": f"Yksikkö {i}", "code": f"BU{i:03d}"} for i in range(250)])
    pages = list(SeveraHook().iter_changed("businessunits", None))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert sorted(u["code"] for page in pages for u in page) == [f"BU{i:03d}" for i in range(250)]
    assert [r["query"] for r in calls(severa, BUSINESS_UNITS)] == [
        "firstRow=0&rowCount=100", "firstRow=100&rowCount=100", "firstRow=200&rowCount=100"]


def test_changed_since_returns_only_newer_records(severa):
    cutoff = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    severa.seed(customers=[
        {"name": "Old Oy", "number": 1, "lastUpdatedDateTime": "2024-04-30T23:59:59Z"},
        {"name": "Exact Oy", "number": 2, "lastUpdatedDateTime": "2024-05-01T12:00:00Z"},
        {"name": "New Oy", "number": 3, "lastUpdatedDateTime": "2024-06-01T08:00:00Z"},
    ])
    hook = SeveraHook()
    # an aware time in another zone: the filter is sent in UTC
    since = cutoff.astimezone(timezone(timedelta(hours=3)))
    names = [c["name"] for page in hook.iter_changed("customers", since) for c in page]
    assert names == ["Exact Oy", "New Oy"]
    assert [c["name"] for page in hook.iter_changed("customers", None) for c in page] == ["Old Oy", "Exact Oy",
                                                                                            "New Oy"]


def test_find_by_number(severa):
    severa.seed(customers=customers(3))
    found = SeveraHook().find("customers", "numbers", ["1002", "9999"])
    assert list(found) == ["1002"] and found["1002"]["name"] == "Asiakas 1002 Oy"


def test_absences_overlapping_the_days_are_read_page_by_page(severa):
    user = "a1000000-0000-4000-8000-000000000001"
    vacation, meeting = "a2000000-0000-4000-8000-000000000001", "a2000000-0000-4000-8000-000000000002"

    def activity(start: str, end: str, kind: str = vacation) -> dict:
        return {"name": "Away", "ownerUser": {"guid": user}, "activityType": {"guid": kind},
                "startDateTime": start, "endDateTime": end}

    inside = [activity(f"2026-03-0{2 + n % 5}T{8 + n % 8:02d}:00:00", f"2026-03-0{2 + n % 5}T16:30:00")
              for n in range(110)]
    severa.seed(users=[{"guid": user, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
                activitytypes=[{"guid": vacation, "name": "Vacation", "code": "VAC", "category": "Absences"},
                               {"guid": meeting, "name": "Meeting", "category": "CalendarEntry"}],
                activities=[activity("2026-02-23T00:00:00", "2026-02-27T23:59:59"),  # before
                            activity("2026-02-27T00:00:00", "2026-03-02T23:59:59"),  # reaches into the days
                            activity("2026-03-09T00:00:00", "2026-03-09T23:59:59"),  # after
                            activity("2026-03-03T09:00:00", "2026-03-03T10:00:00", meeting), *inside])
    pages = list(SeveraHook().iter_absences("2026-03-02", "2026-03-06"))
    assert [len(p) for p in pages] == [100, 11]
    found = [a for page in pages for a in page]
    assert {a["activityType"]["category"] for a in found} == {"Absences"}
    assert {a["ownerUser"]["code"] for a in found} == {"101"}
    assert sorted(a["startDateTime"][:10] for a in found)[0] == "2026-02-27"
    assert all("activityCategories=Absences&startDateTime=2026-03-02T00%3A00%3A00&endDateTime=2026-03-06T23%3A59%3A59"
               in r["query"] for r in calls(severa, "/rest-api/v1/activities"))


def test_deleted_hour_entries_are_read_since_a_time(severa):
    user = "a1000000-0000-4000-8000-000000000001"
    severa.seed(users=[{"guid": user, "firstName": "Maija", "lastName": "Virtanen", "code": "101"}],
                workhours=[{"user": {"guid": user}, "eventDate": "2026-03-02", "quantity": 7.5}])
    hook = SeveraHook()
    [entry] = [e for page in hook.iter_changed("workhours", None) for e in page]
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    hook.request("DELETE", f"v1/workhours/{entry['guid']}", write=True)
    [deleted] = [e for page in hook.iter_deleted_hours(before) for e in page]
    assert (deleted["guid"], deleted["eventDate"], deleted["user"]) == (entry["guid"], "2026-03-02", {"guid": user})
    assert [e for page in hook.iter_deleted_hours(datetime.now(timezone.utc) + timedelta(hours=1)) for e in page] == []


# --- retries and rate limit -------------------------------------------------------------------

@pytest.mark.parametrize("status, category", [(429, "TooManyRequests"), (500, "InternalServerError"),
                                              (502, "BadGateway"), (503, "ServiceUnavailable")])
def test_429_and_5xx_on_a_read_are_retried_with_backoff(severa, monkeypatch, status, category):
    override_connection(monkeypatch, ENV, extra={"backoff": 0.2})  # above the rate limiter's spacing
    severa.seed(customers=customers(1))
    hook = SeveraHook()
    hook.token()
    severa.faults(next_n={"count": 2, "status": status, "category": category, "message": "Busy"})
    assert len(first_page(hook)) == 1
    log = calls(severa, CUSTOMERS)
    assert [r["status"] for r in log] == [status, status, 200]
    first, second = gaps(log)
    assert first >= 0.2 and second >= 0.4  # exponential


def test_retry_after_is_honoured(severa):
    severa.seed(customers=customers(1))
    hook = SeveraHook()
    hook.token()
    severa.faults(rate_429=1.0, retry_after=1)
    after_first_response(hook, lambda: severa.faults(rate_429=0))
    assert len(first_page(hook)) == 1
    log = calls(severa, CUSTOMERS)
    assert [r["status"] for r in log] == [429, 200]
    assert gaps(log)[0] >= 1.0  # the backoff alone would be 0.05 s


def test_persistent_5xx_raises_after_the_configured_attempts(severa, monkeypatch):
    override_connection(monkeypatch, ENV, extra={"attempts": 3})
    hook = SeveraHook()
    hook.token()
    severa.faults(error_rate=1.0, error_category="ServiceUnavailable")
    with pytest.raises(ExternalSystemError) as caught:
        first_page(hook)
    assert "after 3 attempts" in str(caught.value) and caught.value.status == 503
    assert len(calls(severa, CUSTOMERS)) == 3


def test_a_malformed_body_on_a_read_is_retried(severa):
    severa.seed(customers=customers(2))
    hook = SeveraHook()
    hook.token()
    severa.faults(malformed_rate=1.0)
    after_first_response(hook, lambda: severa.faults(malformed_rate=0))
    assert len(first_page(hook)) == 2
    assert len(calls(severa, CUSTOMERS)) == 2


def test_the_simulators_own_rate_limit_is_absorbed(severa):
    severa.configure(rate_limit_per_second=2)  # the hook's 9/s will hit the vendor's 429
    severa.seed(customers=customers(1))
    hook = SeveraHook()
    for _ in range(5):
        assert len(first_page(hook)) == 1
    statuses = [r["status"] for r in calls(severa, CUSTOMERS)]
    assert 429 in statuses and statuses.count(200) == 5


def test_the_rate_limiter_stays_under_ten_per_second(severa):
    severa.configure(rate_limit_per_second=10)
    severa.seed(customers=customers(1))
    hook = SeveraHook()
    for _ in range(40):
        first_page(hook)
    log = severa.requests()
    assert len(log) == 41  # the token + 40 reads, none repeated
    assert all(r["status"] == 200 for r in log)


def test_a_write_is_retried_on_429_but_not_on_5xx(severa):
    hook = SeveraHook()
    hook.token()
    severa.faults(next_n={"count": 1, "status": 429, "category": "TooManyRequests", "message": "Slow down"})
    created = hook.create("customers", {"name": "Retry Oy", "number": 5001})
    assert [c["guid"] for c in severa.state()["customers"]] == [created["guid"]]
    assert [r["status"] for r in calls(severa, CUSTOMERS, method="POST")] == [429, 201]

    severa.faults(next_n={"count": 1, "status": 503, "category": "ServiceUnavailable", "message": "Down"})
    with pytest.raises(ExternalSystemError) as caught:
        hook.create("customers", {"name": "Once Oy", "number": 5002})
    assert "ServiceUnavailable: Down" in str(caught.value)
    assert len(calls(severa, CUSTOMERS, method="POST")) == 3  # the 503 was not repeated


# --- writes -----------------------------------------------------------------------------------

def test_create_and_update_round_trip(severa):
    hook = SeveraHook()
    created = hook.create("customers", {"name": "Äijälä & Пётр \"Oy\"", "number": 6001, "email": "a@b.fi",
                                        "paymentTerm": 14})
    assert created["guid"] and created["number"] == 6001
    updated = hook.update("customers", created["guid"], {"name": "Äijälä & Пётр Ab", "paymentTerm": 30})
    assert updated["name"] == "Äijälä & Пётр Ab"
    [stored] = severa.state()["customers"]
    assert {k: stored[k] for k in ("guid", "name", "number", "email", "paymentTerm")} == {
        "guid": created["guid"], "name": "Äijälä & Пётр Ab", "number": 6001, "email": "a@b.fi", "paymentTerm": 30}
    assert hook.get("customers", created["guid"]) == stored
    assert [(r["method"], r["status"]) for r in severa.writes()] == [("POST", 201), ("PATCH", 200)]


def test_get_of_a_missing_record_is_none(severa):
    assert SeveraHook().get("customers", "00000000-0000-4000-8000-000000000000") is None


def test_a_duplicate_number_is_rejected_with_the_vendors_text(severa):
    hook = SeveraHook()
    hook.create("customers", {"name": "First Oy", "number": 7001})
    with pytest.raises(RecordRejected) as caught:
        hook.create("customers", {"name": "Second Oy", "number": 7001})
    assert caught.value.reason == "InvalidOperation: A customers record with number 7001 already exists"
    assert caught.value.category == "InvalidOperation"
    assert [c["name"] for c in severa.state()["customers"]] == ["First Oy"]
    assert len(calls(severa, CUSTOMERS, method="POST")) == 2  # a refusal is not retried


def test_an_invalid_patch_is_rejected(severa):
    hook = SeveraHook()
    created = hook.create("customers", {"name": "Patch Oy", "number": 7002})
    with pytest.raises(RecordRejected) as caught:
        hook.update("customers", created["guid"], {"guid": "not-writable"})
    assert caught.value.reason == "InvalidParameter: path '/guid' is not a writable field"
