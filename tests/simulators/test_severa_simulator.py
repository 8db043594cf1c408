"""Severa REST API v1 simulator, exercised over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from tests.contract import severa_openapi

CLIENT_ID, CLIENT_SECRET = "erpbridge-demo", "demo-secret"


@pytest.fixture
def base(simulators) -> str:
    """Base URL of a freshly reset simulator, with a rate limit high enough not to interfere. Every answer
    it gave in the test is held to Severa's OpenAPI at the end (the requests here are often wrong on
    purpose)."""
    url = simulators["severa"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    configure(url, rate_limit_per_second=1000)
    yield url
    answers = requests.get(f"{url}/_sim/exchanges", timeout=5).json()
    assert [p for exchange in answers for p in severa_openapi.response_problems(exchange)] == []


def configure(base: str, **settings) -> None:
    requests.post(f"{base}/_sim/config", json=settings, timeout=5).raise_for_status()


def seed(base: str, **collections) -> dict:
    response = requests.post(f"{base}/_sim/seed", json=collections, timeout=5)
    response.raise_for_status()
    return response.json()


def token(base: str, secret: str = CLIENT_SECRET, scope: str | None = None) -> requests.Response:
    body = {"client_id": CLIENT_ID, "client_secret": secret}
    if scope is not None:
        body["scope"] = scope
    return requests.post(f"{base}/rest-api/v1/token", json=body, headers={"Client_Id": CLIENT_ID}, timeout=5)


def auth(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}", "Client_Id": CLIENT_ID}


class Api(requests.Session):
    """A logged-in session on the simulator's /rest-api/v1; methods take paths like "/customers"."""

    def __init__(self, base: str, scope: str | None = None):
        super().__init__()
        response = token(base, scope=scope)
        response.raise_for_status()
        self.url = f"{base}/rest-api/v1"
        self.headers.update(auth(response.json()["access_token"]))

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return super().request(method, self.url + path, **kwargs)


def assert_error(response: requests.Response, status: int, type_: str) -> None:
    """The contract's ExceptionModel with ``type_``; a 404 has no body."""
    assert response.status_code == status, response.text
    if status == 404:
        assert response.content == b""
        return
    error = response.json()["error"]
    assert error["httpStatusCode"] == status
    assert error["type"] == type_
    assert error["details"][0]["message"]


def customers(count: int) -> list[dict]:
    return [{"name": f"Customer {i}", "number": 5000 + i} for i in range(count)]


# -- authentication --------------------------------------------------------------------------
def test_token_is_issued_for_valid_credentials(base):
    response = token(base, scope="customers:read,customers:write")
    assert token(base, scope="customers:read,workhours:read").status_code == 400  # no such scope

    assert response.status_code == 200
    body = response.json()
    assert body["access_token_type"] == "Bearer"
    assert body["access_token_expires_in"] == 3600
    assert body["access_token_expires_utc"].endswith("Z")
    assert body["refresh_token"] and body["refresh_token_expires_in"] > 0
    assert body["scope"] == "customers:read,customers:write"
    assert requests.get(f"{base}/rest-api/v1/customers", headers=auth(body["access_token"]), timeout=5).ok


def test_wrong_secret_is_refused(base):
    assert_error(token(base, secret="wrong"), 401, "AuthenticationRequired")


def test_requests_need_a_token_and_the_client_id_header(base):
    url = f"{base}/rest-api/v1/customers"
    access_token = token(base).json()["access_token"]

    assert_error(requests.get(url, timeout=5), 401, "AuthenticationRequired")
    assert_error(requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=5),
                 401, "AuthenticationRequired")
    alive = requests.get(f"{base}/rest-api/heartbeat/server", timeout=5)
    assert (alive.status_code, alive.headers["content-type"], alive.text) == (200, "text/plain; charset=utf-8",
                                                                              "Server is alive.")
    assert requests.post(f"{base}/rest-api/v1/token", json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                         timeout=5).status_code == 401  # the token call needs the Client_Id header too


def test_token_expires_after_the_configured_ttl(base):
    configure(base, token_ttl_seconds=1)
    body = token(base).json()
    url = f"{base}/rest-api/v1/customers"

    assert body["access_token_expires_in"] == 1
    assert requests.get(url, headers=auth(body["access_token"]), timeout=5).status_code == 200
    time.sleep(1.5)
    expired = requests.get(url, headers=auth(body["access_token"]), timeout=5)
    assert_error(expired, 401, "AuthenticationRequired")


def test_refresh_token_gives_new_tokens_once(base):
    refresh = token(base, scope="settings:read").json()["refresh_token"]
    url = f"{base}/rest-api/v1/refreshtoken"

    renewed = requests.post(url, json=refresh, timeout=5)

    assert renewed.status_code == 200
    assert renewed.json()["scope"] == "settings:read"
    new_token = renewed.json()["access_token"]
    assert requests.get(f"{base}/rest-api/v1/products", headers=auth(new_token), timeout=5).status_code == 200
    reused = requests.post(url, json={"refresh_token": refresh}, timeout=5)
    assert_error(reused, 401, "AuthenticationRequired")


def test_scope_limits_what_a_token_may_do(base):
    api = Api(base, scope="customers:read")

    assert api.get("/customers").status_code == 200
    assert_error(api.post("/customers", json={"name": "New"}), 403, "InsufficientApiScope")
    assert_error(api.get("/products"), 403, "InsufficientApiScope")


# -- paging and filters ----------------------------------------------------------------------
def test_page_token_paging_walks_all_pages(base):
    guids = seed(base, customers=customers(7))["customers"]
    api = Api(base)

    pages, params = [], {"rowCount": 3}
    while True:
        response = api.get("/customers", params=params)
        assert response.status_code == 200
        pages.append([c["guid"] for c in response.json()])
        next_token = response.headers.get("NextPageToken")
        if next_token is None:
            break
        params = {"rowCount": 3, "pageToken": next_token}

    assert [len(page) for page in pages] == [3, 3, 1]
    assert sorted(g for page in pages for g in page) == sorted(guids)


def test_first_row_paging_for_business_units(base):
    seed(base, businessunits=[{"name": f"Unit {i}", "code": f"U{i}"} for i in range(5)])
    api = Api(base)

    pages = [api.get("/businessunits", params={"firstRow": first, "rowCount": 2}) for first in (0, 2, 4, 6)]

    assert [len(page.json()) for page in pages] == [2, 2, 1, 0]
    assert all("NextPageToken" not in page.headers for page in pages)
    assert len({u["guid"] for page in pages for u in page.json()}) == 5


def test_pages_hold_20_rows_by_default_and_at_most_100(base):
    seed(base, customers=customers(25))
    api = Api(base)

    assert len(api.get("/customers").json()) == 20
    assert len(api.get("/customers", params={"rowCount": 100}).json()) == 25
    assert_error(api.get("/customers", params={"rowCount": 101}), 400, "InvalidParameter")
    assert_error(api.get("/businessunits", params={"rowCount": 101}), 400, "InvalidParameter")


def test_changed_since_returns_records_updated_at_or_after(base):
    seed(base, customers=[
        {"name": "Old", "number": 1, "lastUpdatedDateTime": "2024-01-01T00:00:00Z"},
        {"name": "Edge", "number": 2, "lastUpdatedDateTime": "2024-06-01T12:00:00+03:00"},
        {"name": "New", "number": 3, "lastUpdatedDateTime": "2025-01-01T00:00:00Z"},
    ])
    api = Api(base)

    changed = api.get("/customers", params={"changedSince": "2024-06-01T09:00:00Z"}).json()

    assert [c["name"] for c in changed] == ["Edge", "New"]
    assert changed[0]["lastUpdatedDateTime"] == "2024-06-01T09:00:00.000Z"


def test_list_filters(base):
    ids = seed(base, customers=[{"name": "A", "number": 1},
                                {"name": "B", "number": 2, "isActive": False}])["customers"]
    seed(base, projects=[{"name": "P1", "number": 10, "customer": {"guid": ids[0]}},
                         {"name": "P2", "number": 11, "customer": {"guid": ids[1]}, "isClosed": True}])
    api = Api(base)

    assert [c["name"] for c in api.get("/customers", params={"numbers": ["2", "3"]}).json()] == ["B"]
    assert_error(api.get("/customers", params={"numbers": "B2"}), 400, "InvalidParameter")
    assert [c["name"] for c in api.get("/customers", params={"isActive": "true"}).json()] == ["A"]
    projects = api.get("/projects", params={"customerGuids": ids[1]}).json()
    assert [(p["name"], p["customer"]) for p in projects] == [("P2", {"guid": ids[1], "name": "B", "number": 2})]
    assert [p["name"] for p in api.get("/projects", params={"isClosed": "false"}).json()] == ["P1"]


# -- writes ----------------------------------------------------------------------------------
def test_post_and_patch_customer(base):
    api = Api(base)

    created = api.post("/customers", json={"name": "Oy Uusi Ab", "email": "a@b.fi"})
    assert created.status_code == 201
    customer = created.json()
    assert customer["guid"] and isinstance(customer["number"], int) and customer["isActive"] is True
    assert customer["createdDateTime"] == customer["lastUpdatedDateTime"]

    time.sleep(0.01)
    patched = api.patch(f"/customers/{customer['guid']}",
                        json=[{"op": "Replace", "path": "/name", "value": "Oy Uudempi Ab"}])
    assert patched.status_code == 200
    assert api.get(f"/customers/{customer['guid']}").json()["name"] == "Oy Uudempi Ab"
    assert patched.json()[0]["lastUpdatedDateTime"] > customer["lastUpdatedDateTime"]
    added = api.patch(f"/customers/{customer['guid']}", json=[{"op": "Add", "path": "/name", "value": "X"}])
    assert_error(added, 400, "InvalidParameter")
    read_only = api.post("/customers", json={"name": "X", "headquarterAddress": {"city": "Turku"}})
    assert_error(read_only, 400, "InvalidParameter")
    assert_error(api.get("/customers/00000000-0000-4000-8000-000000000000"), 404, "")


def test_duplicate_numbers_and_codes_are_refused(base):
    api = Api(base)
    first = api.post("/customers", json={"name": "First", "number": 1001}).json()
    second = api.post("/customers", json={"name": "Second"}).json()

    assert_error(api.post("/customers", json={"name": "Copy", "number": 1001}), 400, "InvalidOperation")
    renumbered = api.patch(f"/customers/{second['guid']}",
                           json=[{"op": "Replace", "path": "/number", "value": 1001}])
    assert_error(renumbered, 400, "InvalidOperation")
    assert api.post("/products", json={"name": "Hour", "code": "H"}).status_code == 201
    assert_error(api.post("/products", json={"name": "Hour 2", "code": "H"}), 400, "InvalidOperation")
    assert_error(api.post("/customers", json={"number": 7}), 400, "InvalidParameter")
    assert_error(api.post("/customers", json={"name": "Text", "number": "7"}), 400, "InvalidParameter")
    assert first["number"] == 1001


# -- rate limit ------------------------------------------------------------------------------
def test_rate_limit_answers_429_without_rate_limit_headers(base):
    configure(base, rate_limit_per_second=10)
    api = Api(base)  # the token request counts as one

    responses = [api.get("/customers") for _ in range(15)]

    statuses = [r.status_code for r in responses]
    assert statuses[:9] == [200] * 9
    limited = next(r for r in responses if r.status_code == 429)
    assert_error(limited, 429, "InvalidRequest")
    assert not any(h.lower().startswith(("retry-after", "x-ratelimit", "ratelimit")) for h in limited.headers)
    time.sleep(1.1)
    assert api.get("/customers").status_code == 200


def test_demo_seed_loads_and_round_trips_special_characters(base):
    from include.simulators.severa import DEMO_SEED  # the repo is importable once `simulators` ran

    seed(base, **DEMO_SEED)
    api = Api(base)

    names = {c["name"] for c in api.get("/customers").json()}
    projects = api.get("/projects").json()

    assert {"Smith & Sons Ltd", "Kylmäkönen Äijälä Öljy Oy"} <= names
    assert all(isinstance(c["number"], int) for c in api.get("/customers").json())
    assert all(p["customer"]["name"] in names and p["businessUnit"]["name"] for p in projects)
