"""The control room's routes: transfer history, quarantine (retry / dismiss) and per-flow status.

Mounted in Airflow's api-server by erpbridge.control_room.plugin; every route needs Airflow's login.
HTML for people, the same data as JSON under /api for scripts and tests.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from urllib.parse import quote, urlencode

import jinja2
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request, status
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from erpbridge import settings
from erpbridge.company import DEFAULT_COMPANY
from erpbridge.control_room import fixes, queries, review
from erpbridge.control_room.airflow_api import AirflowApi, AirflowApiError, api_root
from erpbridge.control_room.auth import (Reader, is_admin, login_url, may_operate, may_read, readable, reader,
                                         same_origin, token_of)
from erpbridge.control_room.retry import RETRY_CONF, CannotRetry, retry_conf

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
LEDGER_CONN_ID = "erpbridge_ledger"

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined))


@contextmanager
def ledger():
    """A short-lived connection to the ledger (the erpbridge_ledger Airflow connection)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=LEDGER_CONN_ID).get_conn()
    try:
        conn.autocommit = True
        yield conn
    finally:
        conn.close()


def ui_root() -> str:
    """The path Airflow's UI lives under (empty at the root), for links to DAG and task runs."""
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def task_run_url(row: dict) -> str | None:
    if not (row.get("dag_id") and row.get("run_id") and row.get("task_id")):
        return None
    return (f"{ui_root()}/dags/{quote(row['dag_id'], safe='')}/runs/{quote(row['run_id'], safe='')}"
            f"/tasks/{quote(row['task_id'], safe='')}")


def dag_url(dag_id: str) -> str:
    return f"{ui_root()}/dags/{quote(dag_id, safe='')}"


def route_path(request: Request, route: str, **params) -> str:
    """A route's path under the mount (no scheme or host: never built from the request's Host header)."""
    return request.scope.get("root_path", "") + app.url_path_for(route, **{k: str(v) for k, v in params.items()})


def render(request: Request, name: str, **context) -> HTMLResponse:
    context.update(user=request.state.control_room_user, task_run_url=task_run_url, dag_url=dag_url,
                   url=lambda route, **q: route_path(request, route) + (f"?{urlencode(q)}" if q else ""),
                   static=lambda path: route_path(request, "static", path=path),
                   path=lambda route, **params: route_path(request, route, **params),
                   notice=request.query_params.get("notice", ""), problem=request.query_params.get("problem", ""))
    return templates.TemplateResponse(request, name, context)


def remember_user(request: Request, user: Reader) -> None:
    request.state.control_room_user = user.get_name()


async def no_nul(request: Request) -> None:
    """A NUL character in a filter or form field is refused, naming the field (the ledger cannot store one)."""
    fields = list(request.query_params.multi_items())
    if request.method == "POST":
        fields += [(key, value) for key, value in (await request.form()).multi_items() if isinstance(value, str)]
    for key, value in fields:
        if "\x00" in key or "\x00" in value:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{key[:40]!r}: a NUL character is not allowed")


app = FastAPI(title="erpbridge control room", docs_url=None, redoc_url=None, openapi_url=None,
              dependencies=[Depends(reader), Depends(remember_user), Depends(no_nul)])
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


@app.exception_handler(HTTPException)
async def not_signed_in(request: Request, exc: HTTPException) -> Response:
    """A browser without a login goes to Airflow's login page and comes back; anything else gets the error."""
    wants_html = request.method == "GET" and "text/html" in request.headers.get("accept", "")
    if exc.status_code == status.HTTP_401_UNAUTHORIZED and wants_html:
        return RedirectResponse(login_url(request), status_code=status.HTTP_303_SEE_OTHER)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


# --- transfer history ----------------------------------------------------------------------------

def _history(request: Request, user) -> tuple[queries.HistoryFilter, queries.Page, dict]:
    flt = queries.HistoryFilter.from_query(request.query_params)
    if flt.action and flt.action not in queries.ACTIONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown outcome {flt.action[:40]!r}")
    try:
        with ledger() as conn:
            dag_ids = queries.dag_ids(conn)
            visible = readable(user, dag_ids)
            scope = None if visible == set(dag_ids) and is_admin(user) else queries.Scope(visible, is_admin(user))
            page = queries.history(conn, flt, request.query_params.get("after") or None, scope=scope)
            picks = queries.choices(conn)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return flt, page, picks


@app.get("/", response_class=HTMLResponse, name="history_page")
def history_page(request: Request, user: Reader):
    flt, page, picks = _history(request, user)
    return render(request, "history.html", filter=flt, page=page, picks=picks, actions=queries.ACTIONS,
                  next_query=urlencode({**flt.as_query(), "after": page.next_cursor}) if page.next_cursor else None,
                  first_query=urlencode(flt.as_query()), paged=bool(request.query_params.get("after")))


@app.get("/api/history", name="history_json")
def history_json(request: Request, user: Reader):
    flt, page, _ = _history(request, user)
    rows = [{**row, "task_run_url": task_run_url(row)} for row in page.rows]
    return {"rows": jsonable_encoder(rows), "next": page.next_cursor}


# --- quarantine ----------------------------------------------------------------------------------

def _quarantine(user, company: str) -> list[tuple[tuple[str, str], list[dict]]]:
    """Waiting records (of ``company``, or of all) grouped by company and reason, only those of DAGs whose runs
    the user may read."""
    with ledger() as conn:
        groups = queries.quarantine(conn, company)
    shown = [(key, [r for r in records if may_read(user, r["dag_id"])]) for key, records in groups]
    return [(key, records) for key, records in shown if records]


def _companies() -> list[str]:
    with ledger() as conn:
        return queries.companies(conn)


def record_key(flow: str = Form(), entity: str = Form(), system: str = Form(), source_id: str = Form(),
               company: str = Form(DEFAULT_COMPANY)) -> dict:
    """The form fields that name one waiting record (queries.RECORD_KEY); without a company, the default one."""
    return {"company": company, "flow": flow, "entity": entity, "system": system, "source_id": source_id}


RecordKey = Annotated[dict, Depends(record_key)]


def _offer_fixes(request: Request, groups) -> str | None:
    """Mark each record whose refusal the page can fix (``record["fix"]``, with its company's settings); the
    problems reading the settings."""
    waiting = [(r, code) for _, records in groups for r in records if (code := fixes.absence_type_code(r))]
    problems = []
    for company in dict.fromkeys(r["company"] for r, _ in waiting):
        where = fixes.hours_settings(company)
        if where is None:
            continue  # the company does not run the hours flow (any more): nothing to write into
        try:
            raw = AirflowApi(api_root(), token_of(request)).variable(where.variable)
            overrides = fixes.current(raw, where.variable)
        except (AirflowApiError, settings.SettingsError) as exc:
            problems.append(f"the fix for a missing record type is not offered: {getattr(exc, 'detail', exc)}")
            continue
        offered, problem = fixes.choices(overrides, where)
        for record, code in waiting:
            if record["company"] == company:
                record["fix"] = fixes.AbsenceTypeFix(code, offered, where, problem)
    return "; ".join(problems) or None


@app.get("/quarantine", response_class=HTMLResponse, name="quarantine_page")
def quarantine_page(request: Request, user: Reader, company: str = ""):
    groups = _quarantine(user, company)
    return render(request, "quarantine.html", groups=groups, total=sum(len(g) for _, g in groups),
                  retryable=RETRY_CONF.keys(), fix_problem=_offer_fixes(request, groups), company=company,
                  companies=_companies())


@app.get("/api/quarantine", name="quarantine_json")
def quarantine_json(user: Reader, company: str = ""):
    groups = _quarantine(user, company)
    return jsonable_encoder([{"company": company_name, "reason": reason, "records": records}
                             for (company_name, reason), records in groups])


def _back(request: Request, wants_json: bool, payload: dict, problem: bool = False, code: int = 200) -> Response:
    if wants_json:
        return JSONResponse(jsonable_encoder(payload), status_code=code)
    key = "problem" if problem else "notice"
    return RedirectResponse(f"{route_path(request, 'quarantine_page')}?{urlencode({key: payload['message']})}",
                            status_code=status.HTTP_303_SEE_OTHER)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@app.post("/quarantine/retry", name="retry", dependencies=[Depends(same_origin)])
def retry(request: Request, user: Reader, key: RecordKey):
    """Run the record's company's DAG of its flow for just this record (with the user's rights)."""
    entity, source_id = key["entity"], key["source_id"]
    with ledger() as conn:
        record = queries.quarantined_record(conn, key)
    if record is None or not may_read(user, record["dag_id"]):
        return _back(request, _wants_json(request), {"message": f"{entity} {source_id} is not waiting any more"},
                     problem=True, code=404)
    label = record["source_key"] or source_id
    try:
        conf = retry_conf(record["dag_id"], record)
        run = AirflowApi(api_root(), token_of(request)).retry_record(
            record["dag_id"], conf, f"{entity} {label}", user.get_name())
    except CannotRetry as exc:
        return _back(request, _wants_json(request), {"message": f"retry not started: {exc}"}, problem=True, code=409)
    except AirflowApiError as exc:
        return _back(request, _wants_json(request), {"message": f"retry not started: {exc.detail}"}, problem=True,
                     code=exc.status)
    log.info("control room: %s triggered %s run %s for %s %s (conf %s)", user.get_name(), record["dag_id"],
             run.get("dag_run_id"), entity, source_id, conf)
    return _back(request, _wants_json(request), {
        "message": f"retry of {entity} {label} started: run {run.get('dag_run_id')} of {record['dag_id']}",
        "dag_id": record["dag_id"], "dag_run_id": run.get("dag_run_id")}, code=201)


@app.post("/quarantine/dismiss", name="dismiss", dependencies=[Depends(same_origin)])
def dismiss(request: Request, user: Reader, key: RecordKey, comment: str = Form("")):
    wants_json = _wants_json(request)
    entity, source_id = key["entity"], key["source_id"]
    with ledger() as conn:
        record = queries.quarantined_record(conn, key)
        if record is None or not may_read(user, record["dag_id"]):
            return _back(request, wants_json, {"message": f"{entity} {source_id} is not waiting any more"},
                         problem=True, code=404)
        if not may_operate(user, record["dag_id"]):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: this user may not change the flow's runs")
        if not comment.strip():
            return _back(request, wants_json, {"message": "say why: a comment is required to dismiss a record"},
                         problem=True, code=422)
        queries.dismiss(conn, key, comment, user.get_name())
    label = record["source_key"] or source_id
    return _back(request, wants_json, {"message": f"{entity} {label} dismissed; the comment is in the history"})


@app.post("/quarantine/fix-absence-type", name="fix_absence_type", dependencies=[Depends(same_origin)])
def fix_absence_type(request: Request, user: Reader, key: RecordKey, record_type: str = Form()):
    """Write the Netvisor record type of the absence type a waiting record lacks into the flow's settings."""
    wants_json = _wants_json(request)
    entity, source_id = key["entity"], key["source_id"]
    with ledger() as conn:
        record = queries.quarantined_record(conn, key)
    if record is None or not may_read(user, record["dag_id"]):
        return _back(request, wants_json, {"message": f"{entity} {source_id} is not waiting any more"}, problem=True,
                     code=404)
    if not may_operate(user, record["dag_id"]):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: this user may not change the flow's runs")
    code = fixes.absence_type_code(record)
    if code is None:
        return _back(request, wants_json, {"message": f"{entity} {source_id} is not waiting for a record type"},
                     problem=True, code=409)
    where = fixes.hours_settings(record["company"])
    if where is None:
        return _back(request, wants_json, {"message": f"company {record['company']} does not run the hours flow: "
                                                      f"no settings to write the record type into"},
                     problem=True, code=409)
    variable, api = where.variable, AirflowApi(api_root(), token_of(request))
    try:
        raw = api.variable(variable)
        api.set_variable(variable, json.dumps(fixes.with_absence_type(fixes.current(raw, variable), code, record_type,
                                                                      variable)), exists=raw is not None)
    except settings.SettingsError as exc:
        return _back(request, wants_json, {"message": f"not saved: {exc}"}, problem=True, code=422)
    except AirflowApiError as exc:
        return _back(request, wants_json, {"message": f"not saved: {exc.detail}"}, problem=True, code=exc.status)
    log.info("control room: %s set hours.absence_record_types[%s] = %s in %s", user.get_name(), code,
             record_type.strip(), variable)
    return _back(request, wants_json, {"message": f"absence type {code} now moves as Netvisor record type "
                                                  f"{record_type.strip()} (hours.absence_record_types in the Variable "
                                                  f"{variable}): press Retry now"})


# --- per flow ------------------------------------------------------------------------------------

def _status(request: Request, user, company: str) -> list[dict]:
    """Per company and flow the ledger's side and its DAG's last runs; only flows whose DAG's runs the user may
    read."""
    with ledger() as conn:
        flows = [flow for flow in queries.flow_status(conn, company) if may_read(user, flow["dag_id"])]
    api = AirflowApi(api_root(), token_of(request))
    for flow in flows:
        run = {"dag_id": flow["dag_id"], "last_success": None, "last_run": None, "error": None}
        try:
            run["last_success"] = api.last_run(flow["dag_id"], "success")
            run["last_run"] = api.last_run(flow["dag_id"])
        except AirflowApiError as exc:  # the page still shows the ledger's side
            run["error"] = str(exc)
        flow["run"] = run
    return flows


@app.get("/flows", response_class=HTMLResponse, name="status_page")
def status_page(request: Request, user: Reader, company: str = ""):
    flows = _status(request, user, company)
    return render(request, "status.html", groups=[(name, list(group)) for name, group in
                                                  groupby(flows, key=lambda f: f["company"])],
                  company=company, companies=_companies(), now=datetime.now(timezone.utc))


@app.get("/api/flows", name="status_json")
def status_json(request: Request, user: Reader, company: str = ""):
    return jsonable_encoder(_status(request, user, company))


# --- payroll review batches ------------------------------------------------------------------------

@app.get("/review", response_class=HTMLResponse, name="review_page")
def review_page(request: Request, user: Reader):
    with ledger() as conn:
        batches = review.batches(conn) if review.available(conn) else None
    batches = None if batches is None else [b for b in batches if may_read(user, b["dag_id"])]
    return render(request, "review.html", batches=batches)


BatchId = Annotated[int, PathParam(ge=1, le=2 ** 63 - 1)]


def _review_batch(batch_id: int, user):
    """The batch, its rows and edits, if it exists and the user may read its DAG's runs (else 404)."""
    with ledger() as conn:
        found = review.batch(conn, batch_id) if review.available(conn) else None
    if found is None or not may_read(user, found[0]["dag_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no payroll batch {batch_id}")
    return found


@app.get("/review/{batch_id}", response_class=HTMLResponse, name="review_batch_page")
def review_batch_page(request: Request, user: Reader, batch_id: BatchId):
    batch, rows, edits = _review_batch(batch_id, user)
    return render(request, "review_batch.html", batch=batch, rows=rows, edits=edits, editable=review.EDITABLE)


@app.get("/api/review/{batch_id}", name="review_batch_json")
def review_batch_json(user: Reader, batch_id: BatchId):
    batch, rows, edits = _review_batch(batch_id, user)
    return jsonable_encoder({"batch": batch, "rows": rows, "edits": edits})


@app.post("/review/{batch_id}/rows/{row_id}", name="review_edit", dependencies=[Depends(same_origin)])
def review_edit(request: Request, user: Reader, batch_id: BatchId, row_id: BatchId, employee_code: str | None = Form(None),
                work_date: str | None = Form(None), time_type: str | None = Form(None), hours: str | None = Form(None),
                comment: str | None = Form(None), note: str = Form("")):
    given = {"employee_code": employee_code, "work_date": work_date, "time_type": time_type, "hours": hours,
             "comment": comment}
    values = {field: value for field, value in given.items() if value is not None}
    wants_json = _wants_json(request)
    with ledger() as conn:
        batch, _, _ = _review_batch(batch_id, user)
        if not may_operate(user, batch["dag_id"]):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: this user may not change the flow's runs")
        try:
            changed = review.edit_row(conn, batch_id, row_id, values, note, user.get_name())
        except LookupError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except review.EditRefused as exc:
            if wants_json:
                return JSONResponse({"message": str(exc)}, status_code=409)
            return RedirectResponse(f"{route_path(request, 'review_batch_page', batch_id=batch_id)}?"
                                    f"{urlencode({'problem': str(exc)})}", status_code=status.HTTP_303_SEE_OTHER)
    message = f"row {row_id}: " + (f"changed {', '.join(changed)}" if changed else "nothing changed")
    if wants_json:
        return {"message": message, "changed": changed}
    return RedirectResponse(f"{route_path(request, 'review_batch_page', batch_id=batch_id)}?{urlencode({'notice': message})}",
                            status_code=status.HTTP_303_SEE_OTHER)


# --- e-shop orders (its own module: erpbridge.control_room.orders) -------------------------------------

from erpbridge.control_room import orders as _orders  # noqa: E402 - the view's routes use this module's helpers

app.include_router(_orders.router)
