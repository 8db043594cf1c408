"""What an attacker or a slip of the finger tried on the control room (issue 14), against the real api-server
(started without [api] base_url, as docker-compose.yaml ships): the Host header, per-DAG rights, bad values."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from include.airflow_services import free_port
from tests.control_room.one_dag_auth_manager import ALICE, ALICE_DAG
from tests.control_room.test_api import REGISTERS, add_rows, record_form

JSON = {"Accept": "application/json"}
OTHER_DAG = "severa_netvisor_hours"


class Listener(HTTPServer):
    """Where an attacker would like the api-server to send its requests: records every one it gets."""

    def __init__(self):
        self.seen: list[dict] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                listener.seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                body = b'{"dag_runs": [{"dag_run_id": "LEAKED-BODY"}], "detail": "LEAKED-BODY"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.shutdown()
    server.server_close()


# source id -> (company, flow, entity, key): alice's DAG is the default company's registers DAG; the same flow of
# company "acme" runs in another DAG (severa_netvisor_registers__acme), so its records are not hers.
WAITING = {"mine": ("default", REGISTERS, "customer", "C-MINE"),
           "theirs": ("default", OTHER_DAG, "workday", "E7 2026-10-01"),
           "acme-1": ("acme", REGISTERS, "customer", "C-ACME")}


def records(room):
    now = datetime.now(timezone.utc)
    add_rows(room.db, [
        {"at": now, "flow": REGISTERS, "entity": "customer", "source_id": "mine", "source_key": "C-MINE",
         "action": "rejected", "dag_id": ALICE_DAG, "run_id": "r1", "task_id": "sync_customers"},
        {"at": now, "flow": OTHER_DAG, "entity": "workday", "source_id": "theirs",
         "source_key": "E7 2026-10-01", "action": "rejected", "dag_id": OTHER_DAG, "run_id": "r2", "task_id": "t"},
        {"at": now, "company": "acme", "flow": REGISTERS, "entity": "customer", "source_id": "acme-1",
         "source_key": "C-ACME", "action": "rejected", "dag_id": f"{REGISTERS}__acme", "run_id": "r4", "task_id": "t"},
        {"at": now, "flow": REGISTERS, "entity": "customer", "source_id": "nodag", "source_key": "C-NODAG",
         "action": "rejected"}])
    for source_id, (company, flow, entity, key) in WAITING.items():
        room.db.execute("INSERT INTO quarantine (company, flow, system, entity, source_id, source_key, reason,"
                        " error_category) VALUES (%s, %s, 'severa', %s, %s, %s, 'refused', 'INVALID_DATA')",
                        (company, flow, entity, source_id, key))
    batch = room.db.execute(
        "INSERT INTO payroll_batch (flow, period_start, period_end, dag_id, run_id) VALUES ('horizon_payroll',"
        " '2026-10-01', '2026-10-31', 'horizon_payroll_time_import', 'r3') RETURNING id").fetchone()[0]
    row = room.db.execute(
        "INSERT INTO payroll_row (batch_id, source, source_ref, employee_code, work_date, time_type, hours)"
        " VALUES (%s, 'csv', 'a.csv:1', 'E1', '2026-10-01', 'WORK', 8) RETURNING id", (batch,)).fetchone()[0]
    return batch, row


def test_the_host_header_never_chooses_where_the_api_server_calls_or_links(room, listener):
    records(room)
    viewer = room.session("viewer")
    for path in ("/flows", "/api/flows"):
        page = viewer.get(room.url(path), headers={"Host": f"127.0.0.1:{listener.server_port}"}, timeout=30)
        assert page.status_code == 200, page.text
        assert "LEAKED-BODY" not in page.text
    form = record_form("mine")
    retry = room.session().post(room.url("/quarantine/retry"), data=form, timeout=30,
                                headers={**JSON, "Host": f"127.0.0.1:{listener.server_port}"})
    assert "LEAKED-BODY" not in retry.text
    assert listener.seen == [], "the api-server sent its Bearer token where the Host header said"

    evil = {"Host": "evil.example"}
    html = viewer.get(room.url("/"), headers=evil, timeout=30).text
    assert "evil.example" not in html and 'src="/erpbridge/static/theme.js"' in html
    moved = room.session().post(room.url("/quarantine/dismiss"), data={**form, "comment": "ok"},
                                headers=evil, allow_redirects=False, timeout=30)
    assert moved.status_code == 303 and moved.headers["location"].startswith("/erpbridge/quarantine?")
    login = room.session(None).get(room.url("/"), headers={**evil, "Accept": "text/html"}, allow_redirects=False,
                                   timeout=30)
    assert login.status_code == 303 and "evil.example" not in login.headers["location"]


def test_a_user_with_one_dag_sees_and_changes_only_that_dags_records(room):
    batch, row = records(room)
    alice, admin = room.session(ALICE), room.session("admin")

    history = {r["source_id"] for r in alice.get(room.url("/api/history"), timeout=30).json()["rows"]}
    assert history == {"mine"}
    assert {r["source_id"] for r in admin.get(room.url("/api/history"), timeout=30).json()["rows"]} == {
        "mine", "theirs", "acme-1", "nodag"}
    by_record = alice.get(room.url("/api/history"), params={"record": "theirs"}, timeout=30).json()["rows"]
    assert by_record == []
    html = alice.get(room.url("/"), params={"flow": "severa_netvisor_hours"}, timeout=30).text
    assert "E7 2026-10-01" not in html

    waiting = [r["source_id"] for g in alice.get(room.url("/api/quarantine"), timeout=30).json()
               for r in g["records"]]
    assert waiting == ["mine"]
    assert "C-ACME" not in alice.get(room.url("/quarantine"), timeout=30).text
    assert {r["source_id"] for g in admin.get(room.url("/api/quarantine"), timeout=30).json()
            for r in g["records"]} == set(WAITING)

    assert [f["dag_id"] for f in alice.get(room.url("/api/flows"), timeout=30).json()] == [ALICE_DAG]

    assert alice.get(room.url(f"/api/review/{batch}"), timeout=30).status_code == 404
    assert alice.get(room.url(f"/review/{batch}"), timeout=30).status_code == 404
    assert f"#{batch}" not in alice.get(room.url("/review"), timeout=30).text
    edit = alice.post(room.url(f"/review/{batch}/rows/{row}"), data={"hours": "0"}, headers=JSON, timeout=30)
    assert edit.status_code == 404
    assert admin.get(room.url(f"/api/review/{batch}"), timeout=30).json()["rows"][0]["hours"] == 8.0

    for source_id in ("acme-1", "theirs"):
        company, flow, entity, _ = WAITING[source_id]
        form = {**record_form(source_id, flow, entity), "company": company, "comment": "not yours"}
        for action in ("dismiss", "retry"):
            refused = alice.post(room.url(f"/quarantine/{action}"), data=form, headers=JSON, timeout=30)
            assert refused.status_code in (403, 404), (action, source_id, refused.text)
    assert room.db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 3

    mine = alice.post(room.url("/quarantine/dismiss"), data={**record_form("mine"), "comment": "closed"},
                      headers=JSON, timeout=30)
    assert mine.status_code == 200, mine.text
    theirs = admin.post(room.url("/quarantine/dismiss"), data={**record_form("acme-1"), "company": "acme",
                                                                "comment": "old"}, headers=JSON, timeout=30)
    assert theirs.status_code == 200, theirs.text
    assert room.session("viewer").get(room.url("/api/history"), params={"action": "dismissed"},
                                      timeout=30).json()["rows"] == [], "dismissals carry no DAG: admins only"


@pytest.mark.parametrize("params", [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01", "date_to": "9999-12-31"}])
def test_far_dates_are_a_range_not_an_error(room, params):
    records(room)
    answer = room.session().get(room.url("/api/history"), params=params, timeout=30)
    assert answer.status_code == 200 and len(answer.json()["rows"]) == 4


@pytest.mark.parametrize("path, params", [
    ("/api/history", {"record": "a\x00b"}), ("/api/history", {"flow": "\x00"}), ("/", {"document": "x\x00"}),
    ("/api/history", {"date_from": "2026-13-01"}), ("/api/history", {"after": "not-a-cursor"}),
    ("/api/history", {"action": "x" * 5_000})])
def test_bad_filters_are_a_clear_422(room, path, params):
    answer = room.session().get(room.url(path), params=params, headers=JSON, timeout=30)
    assert answer.status_code == 422, answer.text
    assert len(answer.text) < 1000


@pytest.mark.parametrize("field, value, words", [
    ("hours", "NaN", "not a finite number"), ("hours", "Infinity", "not a finite number"),
    ("hours", "1e9999", "beyond"), ("hours", "8.001", "more than two decimals"), ("hours", "7.555", "two decimals"),
    ("hours", "seven", "not a number"), ("employee_code", "E" * 1_000_000, "more than 100"),
    ("time_type", "   ", "time_type is required"), ("work_date", "2026-02-30", "not a date"),
    ("comment", "x" * 1001, "more than 1000")])
def test_a_bad_edit_is_refused_naming_the_field_and_nothing_changes(room, field, value, words):
    batch, row = records(room)
    refused = room.session().post(room.url(f"/review/{batch}/rows/{row}"), data={field: value}, headers=JSON,
                                  timeout=60)
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert message.startswith(field) and words in message and len(message) < 300
    assert room.db.execute("SELECT count(*) FROM payroll_row_edit").fetchone()[0] == 0
    assert room.db.execute("SELECT hours, employee_code FROM payroll_row").fetchone() == (8, "E1")


def test_a_nul_in_a_form_field_is_refused_and_an_edit_is_stored_as_logged(room):
    batch, row = records(room)
    url = room.url(f"/review/{batch}/rows/{row}")
    nul = room.session().post(url, data={"comment": "a\x00b"}, headers=JSON, timeout=30)
    assert nul.status_code == 422 and "comment" in nul.text
    done = room.session().post(url, data={"hours": "8,25"}, headers=JSON, timeout=30)
    assert done.status_code == 200, done.text
    stored = room.db.execute("SELECT hours::text FROM payroll_row").fetchone()[0]
    logged = room.db.execute("SELECT new_value FROM payroll_row_edit").fetchone()[0]
    assert stored == logged == "8.25"


def test_an_unreachable_or_strange_airflow_api_is_an_api_error_not_a_crash(listener):
    """/flows and retry show an AirflowApiError's message (tested above through the pages); here what raises it."""
    from erpbridge.control_room.airflow_api import AirflowApi, AirflowApiError

    with pytest.raises(AirflowApiError) as down:
        AirflowApi(f"http://127.0.0.1:{free_port()}", "token").last_run("any_dag")
    assert down.value.status == 502 and "did not answer" in down.value.detail

    listener.RequestHandlerClass.do_GET = lambda handler: (handler.send_response(200), handler.end_headers(),
                                                           handler.wfile.write(b"<html>not json</html>"))
    with pytest.raises(AirflowApiError) as strange:
        AirflowApi(f"http://127.0.0.1:{listener.server_port}", "token").last_run("any_dag")
    assert strange.value.status == 502 and "not JSON" in strange.value.detail
