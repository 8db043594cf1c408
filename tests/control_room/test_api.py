"""The control room's endpoints through the real api-server: login enforced, filters, keyset paging,
escaping, and a dismiss that stays in the history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from erpbridge.company import DEFAULT_COMPANY

REGISTERS = "severa_netvisor_registers"
MARKER = "Secret Customer Oy"

ENDPOINTS = [("GET", "/"), ("GET", "/api/history"), ("GET", "/quarantine"), ("GET", "/api/quarantine"),
             ("GET", "/flows"), ("GET", "/api/flows"), ("POST", "/quarantine/retry"), ("POST", "/quarantine/dismiss")]


def add_rows(db, rows: list[dict]) -> None:
    columns = ["at", "company", "flow", "system", "entity", "source_id", "source_key", "target_id", "action",
               "error_category", "error_text", "dag_id", "run_id", "task_id", "try_number"]
    with db.cursor() as cur:
        cur.executemany(
            f"INSERT INTO transfer_log ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            [[row.get(c, DEFAULT_COMPANY if c == "company" else None) for c in columns] for row in rows])


def quarantine_row(db, source_id: str, key: str, reason: str, flow: str = REGISTERS,
                   company: str = DEFAULT_COMPANY) -> None:
    db.execute("INSERT INTO quarantine (company, flow, system, entity, source_id, source_key, reason, error_category)"
               " VALUES (%s, %s, 'severa', 'customer', %s, %s, %s, 'INVALID_CODE')",
               (company, flow, source_id, key, reason))


def record_form(source_id: str, flow: str = REGISTERS, entity: str = "customer", system: str = "severa") -> dict:
    """The form fields that name a waiting record (the default company's when no company is given)."""
    return {"flow": flow, "entity": entity, "system": system, "source_id": source_id}


@pytest.fixture
def seeded(room):
    now = datetime.now(timezone.utc)
    add_rows(room.db, [{"at": now, "flow": REGISTERS, "entity": "customer", "source_id": "g-1",
                        "source_key": MARKER, "action": "rejected", "error_text": MARKER,
                        "dag_id": "severa_netvisor_registers"}])
    quarantine_row(room.db, "g-1", MARKER, f"{MARKER} is bad")
    return room


@pytest.mark.parametrize("credentials", [None, "Bearer not-a-jwt", "cookie"])
def test_no_login_no_data(seeded, credentials):
    for method, path in ENDPOINTS:
        http = seeded.session(None)
        if credentials == "cookie":
            http.cookies.set("_token", "forged.jwt.value")
        elif credentials:
            http.headers["Authorization"] = credentials
        for accept in ("application/json", "text/html"):
            data = {**record_form("g-1"), "comment": "x"}
            response = http.request(method, seeded.url(path), headers={"Accept": accept}, allow_redirects=False,
                                    data=data if method == "POST" else None, timeout=30)
            assert response.status_code in (401, 403, 303), (method, path, response.status_code)
            assert MARKER not in response.text and "g-1" not in response.text
            if credentials is None and method == "GET" and accept == "text/html":
                assert response.status_code == 303  # a browser is sent to Airflow's login page
            if response.status_code == 303:
                assert response.headers["location"].startswith(f"{seeded.base}/auth/login") or \
                    response.headers["location"].startswith("/auth/login")
    assert seeded.db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1  # the POSTs changed nothing


def test_a_signed_in_user_sees_the_plugin_and_its_nav_link(seeded):
    http = seeded.session("viewer")
    assert MARKER in http.get(seeded.url("/api/history"), timeout=30).text
    plugins = http.get(f"{seeded.base}/api/v2/plugins", timeout=30).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "erpbridge_control_room")
    assert ours["external_views"][0]["name"] == "Transfers"
    assert ours["fastapi_apps"][0]["url_prefix"] == "/erpbridge"


def test_history_filters_and_keyset_paging(room):
    start = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    rows = []
    for i in range(130):
        rows.append({
            "at": start + timedelta(hours=i // 2),  # pairs share a timestamp: the id breaks the tie
            "company": "acme" if i % 7 == 0 else DEFAULT_COMPANY, "flow": REGISTERS if i % 3 else "documents", "entity": "customer" if i % 2 else "product",
            "source_id": f"src-{i}", "source_key": f"K{i}", "target_id": f"T{i}" if i % 4 == 0 else None,
            "action": ("created", "updated", "rejected", "failed", "unchanged")[i % 5],
            "dag_id": "severa_netvisor_registers", "run_id": "manual__2026-03-01T08:00:00+00:00",
            "task_id": "sync_customers", "try_number": 1})
    add_rows(room.db, rows)
    http = room.session()

    def fetch(**params) -> list[dict]:
        out, after = [], None
        while True:
            page = http.get(room.url("/api/history"), params={**params, **({"after": after} if after else {})},
                            timeout=30).json()
            assert len(page["rows"]) <= 50
            out += page["rows"]
            if not (after := page["next"]):
                return out

    everything = fetch()
    assert len(everything) == 130
    assert [r["source_id"] for r in everything] == [f"src-{i}" for i in reversed(range(130))]
    first = everything[0]
    assert first["task_run_url"] == ("/dags/severa_netvisor_registers/runs/manual__2026-03-01T08%3A00%3A00%2B00%3A00"
                                     "/tasks/sync_customers")

    def ids(**params) -> set[str]:
        return {r["source_id"] for r in fetch(**params)}

    assert ids(flow="documents") == {f"src-{i}" for i in range(130) if i % 3 == 0}
    assert ids(entity="product", action="rejected") == {f"src-{i}" for i in range(130) if i % 2 == 0 and i % 5 == 2}
    assert ids(record="src-7") == {"src-7"} and ids(record="K9") == {"src-9"} and ids(record="T8") == {"src-8"}
    assert ids(document="K11") == {"src-11"}
    assert ids(company="acme") == {f"src-{i}" for i in range(130) if i % 7 == 0}
    assert ids(company="acme", flow="documents") == {f"src-{i}" for i in range(130) if i % 21 == 0}
    assert ids(date_from="2026-03-02", date_to="2026-03-02") == {f"src-{i}" for i in range(32, 80)}
    assert http.get(room.url("/api/history"), params={"date_from": "yesterday"}, timeout=30).status_code == 422
    assert http.get(room.url("/api/history"), params={"action": "exploded"}, timeout=30).status_code == 422

    html = http.get(room.url("/"), params={"flow": "documents"}, timeout=30).text
    assert html.count('<tr data-id=') == 44  # 44 of 130 rows: one page
    assert 'rel="next"' not in html


def test_a_customer_called_script_is_text(room):
    nasty = '<script>alert("x")</script>'
    add_rows(room.db, [{"at": datetime.now(timezone.utc), "flow": REGISTERS, "entity": "customer",
                        "source_id": nasty, "source_key": nasty, "action": "rejected",
                        "error_text": f'INVALID_DATA :: name "{nasty}" & <b>too long</b>'}])
    quarantine_row(room.db, nasty, nasty, f"customer {nasty} refused")
    http = room.session()
    for path in ("/", "/quarantine"):
        html = http.get(room.url(path), timeout=30).text
        assert nasty not in html and "<b>too long</b>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    history = http.get(room.url("/api/history"), timeout=30).json()["rows"]
    assert history[0]["error_text"] == f'INVALID_DATA :: name "{nasty}" & <b>too long</b>'  # unchanged in data


def test_dismiss_needs_a_comment_and_stays_in_the_history(room):
    add_rows(room.db, [{"at": datetime.now(timezone.utc), "flow": REGISTERS, "entity": "customer",
                        "source_id": "g-12a", "source_key": "12A", "action": "rejected", "error_category": "INVALID_CODE",
                        "error_text": "customer code '12A' is not numeric", "dag_id": "severa_netvisor_registers",
                        "run_id": "r1", "task_id": "sync_customers", "try_number": 1}])
    quarantine_row(room.db, "g-12a", "12A", "customer code '12A' is not numeric")
    form = record_form("g-12a")
    json_accept = {"Accept": "application/json"}

    refused = room.session().post(room.url("/quarantine/dismiss"), data={**form, "comment": "  "},
                                  headers=json_accept, timeout=30)
    assert refused.status_code == 422
    viewer = room.session("viewer").post(room.url("/quarantine/dismiss"), data={**form, "comment": "not mine"},
                                         headers=json_accept, timeout=30)
    assert viewer.status_code == 403
    cross_site = room.session().post(room.url("/quarantine/dismiss"), data={**form, "comment": "x"},
                                     headers={**json_accept, "Origin": "https://evil.example"}, timeout=30)
    assert cross_site.status_code == 403
    assert room.db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1

    done = room.session().post(room.url("/quarantine/dismiss"), data={**form, "comment": "Customer closed <2025>"},
                               headers=json_accept, timeout=30)
    assert done.status_code == 200, done.text

    assert room.db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    rows = room.session().get(room.url("/api/history"), params={"record": "12A"}, timeout=30).json()["rows"]
    assert [(r["action"], r["comment"], r["actor"], r["error_text"]) for r in rows] == [
        ("dismissed", "Customer closed <2025>", "admin", "customer code '12A' is not numeric"),
        ("rejected", None, None, "customer code '12A' is not numeric")]
    html = room.session().get(room.url("/"), params={"action": "dismissed"}, timeout=30).text
    assert "Customer closed &lt;2025&gt;" in html


def test_flow_status_shows_counts_and_watermarks(room):
    now = datetime.now(timezone.utc)
    add_rows(room.db, [
        {"at": now - timedelta(hours=1), "flow": REGISTERS, "entity": "customer", "source_id": "a",
         "action": "created", "dag_id": "severa_netvisor_registers", "run_id": "r", "task_id": "t"},
        {"at": now - timedelta(hours=2), "flow": REGISTERS, "entity": "customer", "source_id": "b",
         "action": "rejected", "dag_id": "severa_netvisor_registers", "run_id": "r", "task_id": "t"},
        {"at": now - timedelta(hours=30), "flow": REGISTERS, "entity": "customer", "source_id": "c",
         "action": "created", "dag_id": "severa_netvisor_registers", "run_id": "r", "task_id": "t"}])
    room.db.execute("INSERT INTO watermark (flow, system, stream, value) VALUES (%s, 'severa', 'customer',"
                    " '2026-03-01T08:00:00+00:00')", (REGISTERS,))
    flows = room.session().get(room.url("/api/flows"), timeout=30).json()
    assert [(f["company"], f["flow"]) for f in flows] == [(DEFAULT_COMPANY, REGISTERS)]
    assert flows[0]["counts"] == {"created": 1, "rejected": 1}
    assert flows[0]["watermarks"][0]["value"] == "2026-03-01T08:00:00+00:00"
    assert flows[0]["run"]["dag_id"] == "severa_netvisor_registers"
    html = room.session().get(room.url("/flows"), timeout=30).text
    assert "2026-03-01T08:00:00+00:00" in html and "severa_netvisor_registers" in html


def test_a_staged_payroll_row_is_edited_before_the_decision_and_the_edit_is_kept(room):
    db = room.db
    batch_id = db.execute("INSERT INTO payroll_batch (flow, period_start, period_end, dag_id, run_id) VALUES"
                          " ('horizon_payroll', '2026-10-01', '2026-10-31', 'horizon_payroll_time_import', 'r1')"
                          " RETURNING id").fetchone()[0]
    row_id = db.execute(
        "INSERT INTO payroll_row (batch_id, source, source_ref, employee_code, work_date, time_type, hours, comment,"
        " flags) VALUES (%s, 'csv', 'hours.csv:2', 'E1', '2026-11-02', 'NORMAL', -7.5, '<b>typo</b>',"
        " ARRAY['negative hours', 'date outside the period 2026-10-01..2026-10-31']) RETURNING id",
        (batch_id,)).fetchone()[0]
    url = room.url(f"/review/{batch_id}/rows/{row_id}")
    json_accept = {"Accept": "application/json"}

    assert room.session(None).post(url, data={"hours": "1"}, headers=json_accept, timeout=30).status_code == 401
    assert room.session("viewer").post(url, data={"hours": "1"}, headers=json_accept, timeout=30).status_code == 403
    bad = room.session().post(url, data={"hours": "seven"}, headers=json_accept, timeout=30)
    assert bad.status_code == 409 and "not a number" in bad.json()["message"]

    done = room.session().post(url, data={"hours": "7,5", "work_date": "2026-10-30", "time_type": "NORMAL",
                                          "note": "sign and month typo"}, headers=json_accept, timeout=30)
    assert done.status_code == 200 and sorted(done.json()["changed"]) == ["hours", "work_date"]

    data = room.session().get(room.url(f"/api/review/{batch_id}"), timeout=30).json()
    assert [(r["hours"], r["work_date"], r["flags"]) for r in data["rows"]] == [(7.5, "2026-10-30", [])]
    assert sorted((e["field"], e["old_value"], e["new_value"], e["actor"]) for e in data["edits"]) == [
        ("hours", "-7.50", "7.5", "admin"), ("work_date", "2026-11-02", "2026-10-30", "admin")]
    assert data["edits"][0]["old_flags"] == ["negative hours", "date outside the period 2026-10-01..2026-10-31"]
    html = room.session().get(room.url(f"/review/{batch_id}"), timeout=30).text
    assert "&lt;b&gt;typo&lt;/b&gt;" in html and "<b>typo</b>" not in html
    assert f"#{batch_id}" in room.session().get(room.url("/review"), timeout=30).text

    db.execute("UPDATE payroll_batch SET status = 'loading' WHERE id = %s", (batch_id,))
    late = room.session().post(url, data={"hours": "8"}, headers=json_accept, timeout=30)
    assert late.status_code == 409 and "before the decision" in late.json()["message"]


def test_retry_triggers_the_flows_dag_for_just_that_record_with_the_users_rights(room, netvisor, severa):
    from tests.flows.dagrun import run_dag

    guid = severa.seed(customers=[{"number": -1, "name": "Negative Number Oy"}])["customers"][0]
    assert run_dag("severa_netvisor_registers", {"registers": ["customers"]}).state == "success"
    form = record_form(guid)
    json_accept = {"Accept": "application/json"}

    as_viewer = room.session("viewer").post(room.url("/quarantine/retry"), data=form, headers=json_accept, timeout=30)
    assert as_viewer.status_code == 403, as_viewer.text  # Airflow itself refuses the viewer's trigger
    started = room.session().post(room.url("/quarantine/retry"), data=form, headers=json_accept, timeout=30)
    assert started.status_code == 201, started.text

    run = room.session().get(f"{room.base}/api/v2/dags/severa_netvisor_registers/dagRuns/"
                             f"{started.json()['dag_run_id']}", timeout=30).json()
    assert run["conf"] == {"retry_records": [{"entity": "customer", "source_id": guid}]}
    assert run["state"] == "queued" and "by admin" in (run.get("note") or "")
    gone = room.session().post(room.url("/quarantine/retry"), data={**form, "source_id": "nope"},
                               headers=json_accept, timeout=30)
    assert gone.status_code == 404


@pytest.mark.parametrize("dag_id, entity, source_id, key, conf", [
    ("severa_netvisor_sales_invoices", "sales_invoice", "f2000000-0000-4000-8000-000000005004", "5004",
     {"document_numbers": ["5004"]}),
    ("severa_netvisor_hours", "workday", "u-1:2026-03-02:abc", "101 2026-03-02",
     {"document_numbers": ["101"], "date_from": "2026-03-02", "date_to": "2026-03-02"}),
])
def test_retry_of_a_quarantined_document_names_the_document_in_the_runs_conf(room, dag_id, entity, source_id, key,
                                                                             conf):
    from tests.control_room.conftest import sync_dags

    sync_dags()
    add_rows(room.db, [{"at": datetime.now(timezone.utc), "flow": dag_id, "entity": entity, "source_id": source_id,
                        "source_key": key, "action": "rejected", "dag_id": dag_id, "run_id": "r1",
                        "task_id": "transfer_documents", "try_number": 1}])
    room.db.execute("INSERT INTO quarantine (flow, system, entity, source_id, source_key, reason, error_category)"
                    " VALUES (%s, 'severa', %s, %s, %s, 'no such customer', 'INVALID_REFERENCE')",
                    (dag_id, entity, source_id, key))
    form = record_form(source_id, dag_id, entity)

    started = room.session().post(room.url("/quarantine/retry"), data=form, headers={"Accept": "application/json"},
                                  timeout=30)
    assert started.status_code == 201, started.text
    assert started.json()["dag_id"] == dag_id
    run = room.session().get(f"{room.base}/api/v2/dags/{dag_id}/dagRuns/{started.json()['dag_run_id']}",
                             timeout=30).json()
    assert run["conf"] == conf
    assert run["state"] == "queued" and f"{entity} {key}" in (run.get("note") or "")
    assert f'name="source_id" value="{source_id}"' in room.session().get(room.url("/quarantine"), timeout=30).text


def test_every_dag_that_quarantines_records_can_retry_one_with_params_it_declares(airflow_db):
    from erpbridge.control_room.retry import RETRY_CONF, CannotRetry, retry_conf
    from tests.flows.dagrun import load_dag

    record = {"entity": "e", "source_id": "s-1", "source_key": "K 2026-03-02"}
    for flow in RETRY_CONF:
        conf = retry_conf(flow, {**record, "source_key": "101 2026-03-02"})
        dag = load_dag(flow)  # the default company's DAG of the flow
        assert set(conf) <= set(dag.params.keys()), flow
        for name, value in conf.items():
            dag.params[name] = value  # valid for the Param
    assert retry_conf("severa_netvisor_hours", {**record, "source_key": "Maija Virtanen 2026-03-02"}) == {
        "date_from": "2026-03-02", "date_to": "2026-03-02"}  # no employee code: the whole day is offered
    assert retry_conf("horizon_ad_accounts", record) == {"employee_codes": ["s-1"]}
    with pytest.raises(CannotRetry):
        retry_conf("severa_netvisor_sales_invoices", {**record, "source_key": None})
    with pytest.raises(CannotRetry):
        retry_conf("horizon_payroll_time_import", record)


RECORD_TYPES = [{"number": "1", "names": {"fi": "Tuntityö", "en": "Hourly work"}},
                {"number": "20", "names": {"fi": "Vuosiloma", "en": "Annual holiday"}},
                {"number": "21", "names": {"fi": "Sairausloma", "en": "Sick leave"}}]


def waiting_vacation(room) -> None:
    """A person-day of the hours flow waiting for the record type of absence type VAC; the settings Variable maps
    the work type DEV to record type 7 (so the settings use record types 1 and 7)."""
    reason = ("activity a5-1 2026-11-02: absence type 'Vacation' (code VAC) has no Netvisor record type; "
              "add its code to hours.absence_record_types")
    add_rows(room.db, [{"at": datetime.now(timezone.utc), "flow": "severa_netvisor_hours", "entity": "workday",
                        "source_id": "102/2026-11-02", "source_key": "102 2026-11-02", "action": "rejected",
                        "error_category": "ABSENCE_TYPE", "error_text": reason, "dag_id": "severa_netvisor_hours",
                        "run_id": "r1", "task_id": "t"}])
    room.db.execute("INSERT INTO quarantine (flow, system, entity, source_id, source_key, reason, error_category)"
                    " VALUES ('severa_netvisor_hours', 'severa', 'workday', '102/2026-11-02', '102 2026-11-02', %s,"
                    " 'ABSENCE_TYPE')",
                    (reason,))
    room.session().post(f"{room.base}/api/v2/variables", json={
        "key": "erpbridge_severa_netvisor", "value": json.dumps({"hours": {"record_types": {"DEV": "7"}}})},
        timeout=30).raise_for_status()


def test_a_missing_absence_record_type_is_fixed_from_the_quarantine_into_the_settings_variable(
        room, settings_variable, netvisor_in_airflow):
    netvisor_in_airflow.seed(payroll_ratios=RECORD_TYPES)
    waiting_vacation(room)
    admin = room.session()
    variables = f"{room.base}/api/v2/variables"
    page = admin.get(room.url("/quarantine"), timeout=30).text
    assert 'action="/erpbridge/quarantine/fix-absence-type"' in page and "absence type <strong>VAC</strong>" in page
    # the choices are Netvisor's record types, with their names in the connection's language (FI) ...
    assert ('<option value="1">Tuntityö</option><option value="20">Vuosiloma</option>'
            '<option value="21">Sairausloma</option>') in page
    assert "Choices: 1 Tuntityö, 20 Vuosiloma, 21 Sairausloma." in page
    assert "Read from Netvisor (connection netvisor_default)" in page
    assert '<option value="7">' not in page  # ... not the ones the settings use
    assert [c["query"] for c in netvisor_in_airflow.requests() if c["path"] == "/payrollratiolist.nv"] == [
        "source=collectorratiolines"]
    form = record_form("102/2026-11-02", "severa_netvisor_hours", "workday")

    viewer = room.session("viewer").post(room.url("/quarantine/fix-absence-type"), data={**form, "record_type": "20"},
                                         headers={"Accept": "application/json"}, timeout=30)
    assert viewer.status_code == 403
    bad = admin.post(room.url("/quarantine/fix-absence-type"), data={**form, "record_type": "twenty"},
                     headers={"Accept": "application/json"}, timeout=30)
    assert bad.status_code == 422 and "hours.absence_record_types.VAC" in bad.json()["message"]
    done = admin.post(room.url("/quarantine/fix-absence-type"), data={**form, "record_type": "20"},
                      headers={"Accept": "application/json"}, timeout=30)
    assert done.status_code == 200, done.text
    stored = json.loads(admin.get(f"{variables}/erpbridge_severa_netvisor", timeout=30).json()["value"])
    assert stored == {"hours": {"record_types": {"DEV": "7"}, "absence_record_types": {"VAC": "20"}}}


def test_the_fix_offers_the_settings_record_types_saying_why_when_netvisor_cannot_be_reached(
        room, settings_variable, netvisor_in_airflow):
    from include.airflow_services import free_port

    waiting_vacation(room)
    admin = room.session()
    empty = admin.get(room.url("/quarantine"), timeout=30).text  # Netvisor answers, but lists no record type
    assert "could not be read (Netvisor lists none)" in empty and '<option value="7">' in empty
    nowhere = admin.patch(f"{room.base}/api/v2/connections/netvisor_default", params={"update_mask": "host"},
                          json={"connection_id": "netvisor_default", "conn_type": "netvisor",
                                "host": f"http://127.0.0.1:{free_port()}"}, timeout=30)
    assert nowhere.status_code == 200, nowhere.text
    started = datetime.now(timezone.utc)
    page = admin.get(room.url("/quarantine"), timeout=30).text
    assert (datetime.now(timezone.utc) - started).total_seconds() < 10  # one attempt: the page waits for no retries
    assert '<option value="1"></option><option value="7"></option>' in page and "Choices: 1, 7." in page
    assert '<span class="choices-from problem-inline">Netvisor&#39;s list of record types could not be read' in page
    assert "settings already use" in page and "Read from Netvisor" not in page


def test_quarantine_and_flows_by_company_and_a_retry_asks_for_the_companys_dag(room):
    """Two companies' records of one flow: grouped and filtered by company, each with its company's DAG; a retry of
    acme's record asks Airflow for acme's DAG (which this installation, without a companies file, does not have)."""
    from erpbridge.company import dag_id

    now = datetime.now(timezone.utc)
    for company in ("globex", "acme"):
        add_rows(room.db, [{"at": now, "company": company, "flow": REGISTERS, "system": "severa", "entity": "customer",
                            "source_id": f"{company}-1", "source_key": f"C-{company}", "action": "rejected",
                            "dag_id": dag_id(REGISTERS, company), "run_id": "r", "task_id": "sync_customers"}])
        quarantine_row(room.db, f"{company}-1", f"C-{company}", "customer code refused", company=company)
    admin = room.session()

    groups = admin.get(room.url("/api/quarantine"), timeout=30).json()
    assert [(g["company"], g["reason"], [(r["source_id"], r["dag_id"]) for r in g["records"]]) for g in groups] == [
        ("acme", "customer code refused", [("acme-1", "severa_netvisor_registers__acme")]),
        ("globex", "customer code refused", [("globex-1", "severa_netvisor_registers__globex")])]
    only = admin.get(room.url("/api/quarantine"), params={"company": "globex"}, timeout=30).json()
    assert [g["company"] for g in only] == ["globex"]
    page = admin.get(room.url("/quarantine"), params={"company": "acme"}, timeout=30).text
    assert "C-acme" in page and "C-globex" not in page and '<h2 class="company-heading">acme</h2>' in page
    assert '<input type="hidden" name="company" value="acme">' in page

    flows = admin.get(room.url("/api/flows"), timeout=30).json()
    assert [(f["company"], f["flow"], f["dag_id"], f["quarantined"]) for f in flows] == [
        ("acme", REGISTERS, "severa_netvisor_registers__acme", 1),
        ("globex", REGISTERS, "severa_netvisor_registers__globex", 1)]
    assert [f["company"] for f in admin.get(room.url("/api/flows"), params={"company": "acme"}, timeout=30).json()] \
        == ["acme"]
    assert {r["company"] for r in admin.get(room.url("/api/history"), params={"company": "acme"},
                                            timeout=30).json()["rows"]} == {"acme"}

    retry = admin.post(room.url("/quarantine/retry"), data={**record_form("acme-1"), "company": "acme"},
                       headers={"Accept": "application/json"}, timeout=30)
    assert retry.status_code == 404 and "severa_netvisor_registers__acme" in retry.json()["message"], retry.text
    unknown = admin.post(room.url("/quarantine/retry"), data=record_form("acme-1"),  # the default company's: none
                         headers={"Accept": "application/json"}, timeout=30)
    assert unknown.status_code == 404 and "not waiting" in unknown.json()["message"]


def test_the_record_type_fix_writes_only_the_records_companys_settings(room, settings_variable, netvisor_in_airflow):
    """A company's refusal is fixed in that company's hours settings: "acme" runs no hours flow on this
    installation (no companies file), so its waiting vacation is offered no fix and a posted one is refused, while
    the default company's keeps its fix; nothing is written into the default company's Variable for acme."""
    netvisor_in_airflow.seed(payroll_ratios=RECORD_TYPES)
    waiting_vacation(room)
    room.db.execute("INSERT INTO quarantine (company, flow, system, entity, source_id, source_key, reason,"
                    " error_category) SELECT 'acme', flow, system, entity, source_id, source_key, reason, error_category"
                    " FROM quarantine")
    admin = room.session()
    page = admin.get(room.url("/quarantine"), timeout=30).text
    assert page.count('action="/erpbridge/quarantine/fix-absence-type"') == 1  # the default company's only
    refused = admin.post(room.url("/quarantine/fix-absence-type"),
                         data={**record_form("102/2026-11-02", "severa_netvisor_hours", "workday"), "company": "acme",
                               "record_type": "20"}, headers={"Accept": "application/json"}, timeout=30)
    assert refused.status_code == 409 and "company acme does not run the hours flow" in refused.json()["message"]
    stored = json.loads(admin.get(f"{room.base}/api/v2/variables/erpbridge_severa_netvisor", timeout=30).json()["value"])
    assert stored == {"hours": {"record_types": {"DEV": "7"}}}
