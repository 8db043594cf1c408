"""The shared fault machinery's ``respond`` fault (include/simulators/_common.py), over real HTTP: a real
endpoint answers a given body (e.g. an XXE or billion-laughs payload) for the next N matching requests,
instead of running its route. Shown on the Horizon simulator; every simulator shares the machinery."""

from __future__ import annotations

import threading
import time

import pytest
import requests

AUTH = ("erpbridge", "horizon-demo")  # the simulator's default Web user after a reset
QUERY = "/rest/TdmDarbBaseBL/query"
BODY = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><resource>&x;</resource>'


@pytest.fixture
def base(simulators) -> str:
    url = simulators["horizon"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json={"employees": [
        {"EmployeeCode": "E1", "FirstName": "A", "LastName": "B", "EmploymentStart": "2020-01-01"}]},
        timeout=5).raise_for_status()
    yield url
    requests.delete(f"{url}/_sim/faults", timeout=5)


def faults(base: str, payload: dict) -> requests.Response:
    return requests.post(f"{base}/_sim/faults", json=payload, timeout=5)


def get(base: str, path: str) -> requests.Response:
    return requests.get(f"{base}{path}", auth=AUTH, timeout=5)


def test_the_next_n_requests_to_the_path_get_the_body_then_the_real_answer(base):
    assert faults(base, {"respond": {"path": QUERY, "count": 2, "body": BODY}}).status_code == 200

    other = get(base, "/rest/TdmPrombBL/query")  # another path: answered for real, the count is kept
    assert other.status_code == 200 and b"DOCTYPE" not in other.content
    answers = [get(base, QUERY) for _ in range(3)]

    assert [(a.status_code, a.text) for a in answers[:2]] == [(200, BODY)] * 2
    assert all(a.headers["content-type"].startswith("application/xml") for a in answers[:2])
    assert b"DOCTYPE" not in answers[2].content and b"<EmployeeCode>E1</EmployeeCode>" in answers[2].content
    log = requests.get(f"{base}/_sim/requests", timeout=5).json()
    assert [(r["path"], r["status"]) for r in log] == [("/rest/TdmPrombBL/query", 200)] + [(QUERY, 200)] * 3


def test_status_content_type_and_method_are_honoured_and_the_route_does_not_run(base):
    pk = get(base, "/rest/TdmDarbBaseBL/template").text.split("<pk>")[1].split("</pk>")[0]
    path = f"/rest/TdmDarbBaseBL/template/{pk}"
    faults(base, {"respond": {"path": path, "method": "post", "status": 502, "content_type": "text/plain",
                              "body": "gateway says no"}})
    assert get(base, path).text != "gateway says no"  # a GET of that path: not the faulted method
    body = ("<resource><entity><EmployeeCode>E2</EmployeeCode><FirstName>C</FirstName><LastName>D</LastName>"
            "<EmploymentStart>2021-01-01</EmploymentStart></entity></resource>")
    posted = requests.post(f"{base}{path}", data=body, auth=AUTH, timeout=5)

    assert (posted.status_code, posted.text) == (502, "gateway says no")
    assert posted.headers["content-type"].startswith("text/plain")
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert [e["EmployeeCode"] for e in state["employees"]] == ["E1"], "the route ran behind the fault"
    again = requests.post(f"{base}{path}", data=body, auth=AUTH, timeout=5)
    assert again.status_code == 201  # the fault is used up; the template was still open


def test_without_a_path_every_vendor_request_is_answered_but_never_the_admin_routes(base):
    faults(base, {"respond": {"count": 5, "body": BODY}})
    assert requests.get(f"{base}/_sim/state", timeout=5).json()["employees"][0]["EmployeeCode"] == "E1"
    assert get(base, QUERY).text == BODY and get(base, "/rest/TdmPrombBL/query").text == BODY
    assert requests.delete(f"{base}/_sim/faults", timeout=5).status_code == 200
    assert b"<EmployeeCode>E1</EmployeeCode>" in get(base, QUERY).content  # cleared: real answers again


@pytest.mark.parametrize("rule", [
    "not an object", {"path": QUERY}, {"body": 5}, {"body": "x", "count": 0}, {"body": "x", "count": "2"},
    {"body": "x", "status": 99}, {"body": "x", "pathh": QUERY},
])
def test_a_bad_rule_is_refused_and_changes_nothing(base, rule):
    refused = faults(base, {"respond": rule})
    assert refused.status_code == 400 and "respond" in refused.json()["error"]
    assert b"<EmployeeCode>E1</EmployeeCode>" in get(base, QUERY).content


def test_a_request_delayed_past_a_reset_is_neither_served_nor_logged(base):
    """A request that a timeout fault holds until after the next reset (the next test's start) is dropped:
    it must not land in the fresh state or request log (seen: a stale 401 in the next test's log)."""
    assert faults(base, {"timeout_rate": 1, "timeout_seconds": 1}).status_code == 200
    outcome: list = []

    def held():
        try:
            outcome.append(requests.get(f"{base}/rest/TdmDarbBaseBL/query", auth=AUTH, timeout=5).status_code)
        except requests.ConnectionError as exc:
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=held)
    thread.start()
    time.sleep(0.3)  # the request is inside the simulator, held by its timeout fault
    requests.post(f"{base}/_sim/reset", timeout=5).raise_for_status()
    thread.join(10)

    assert outcome == ["ConnectionError"]
    assert requests.get(f"{base}/_sim/requests", timeout=5).json() == []
