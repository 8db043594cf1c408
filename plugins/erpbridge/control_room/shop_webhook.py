"""WooCommerce order webhooks -> a run of the company's orders DAG within seconds (issue 16, flow 2).

WooCommerce signs each delivery: ``X-WC-Webhook-Signature`` = base64 HMAC-SHA256 of the raw body with the
webhook's secret, kept in the password of the Airflow connection ``woocommerce_webhook`` (another company's:
``woocommerce_webhook_<company>``, as the companies file names connections). A company that does not run
the orders flow (erpbridge.companies), or has no such connection, answers 404. A delivery whose signature
does not match is refused (401). An order topic (``X-WC-Webhook-Topic: order.*``) queues a run of its
orders DAG through Airflow's REST API as the service user of the connection ``erpbridge_airflow_api``
(login / password; host: the API's URL, else erpbridge.control_room.airflow_api.api_root()), so Airflow
checks that user's rights; a run already queued takes the new order too. The body is never read for
anything else: the run reads the shop's orders changed since its watermark, and the DAG's schedule still
catches any order whose webhook was lost. Mounted as its own app (no Airflow login: the signature is the
authentication).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from erpbridge.companies import COMPANY_KEY, companies_file, company_flow
from erpbridge.company import DEFAULT_COMPANY
from erpbridge.control_room.airflow_api import TIMEOUT, AirflowApi, AirflowApiError, api_root

log = logging.getLogger(__name__)

ORDERS_FLOW = "eshop_erp_orders"  # = erpbridge.flows.eshop_erp.sync.ORDERS_FLOW
WEBHOOK_CONN_ID = "woocommerce_webhook"  # password: the webhook's secret
AIRFLOW_API_CONN_ID = "erpbridge_airflow_api"  # the service user that queues the runs
MAX_BODY = 1_000_000  # bytes; an order's JSON is a few kB
PING = re.compile(rb"webhook_id=\d+")  # WooCommerce's unsigned test delivery when a webhook is saved
ORDER_TOPIC = re.compile(r"order\.[a-z_]+")

router = APIRouter()


def orders_dag(company: str) -> str | None:
    """The company's orders DAG, or None when the companies file has it run no orders flow."""
    from airflow.configuration import conf

    try:
        return company_flow(ORDERS_FLOW, company, companies_file(Path(conf.get("core", "dags_folder")))).dag_id
    except LookupError:
        return None


def secret_conn_id(company: str) -> str:
    return WEBHOOK_CONN_ID if company == DEFAULT_COMPANY else f"{WEBHOOK_CONN_ID}_{company}"


def secret(company: str) -> bytes | None:
    """The company's webhook secret, or None when it has no webhook connection."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        password = BaseHook.get_connection(secret_conn_id(company)).password
    except AirflowNotFoundException:
        return None
    return password.encode() if password else None


def signed(body: bytes, signature: str | None, key: bytes) -> bool:
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return signature is not None and hmac.compare_digest(expected, signature.strip())


def service_api() -> AirflowApi:
    """Airflow's REST API as the service user (a token from its /auth/token)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(AIRFLOW_API_CONN_ID)
    root = (conn.host or api_root()).rstrip("/")
    try:
        answer = httpx.post(f"{root}/auth/token", json={"username": conn.login, "password": conn.password},
                            timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise AirflowApiError(502, f"Airflow's REST API at {root} did not answer: {exc}") from None
    try:
        token = answer.json()["access_token"] if answer.status_code < 400 else None
    except (ValueError, KeyError, TypeError):
        token = None
    if not token:
        raise AirflowApiError(answer.status_code, f"no token for the service user of connection {AIRFLOW_API_CONN_ID}")
    return AirflowApi(root, token)


def queue_run(target: str, topic: str) -> dict:
    """A run of the orders DAG ``target``, unless one is queued already (it will read this order too)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        api = service_api()
        waiting = api.last_run(target, state="queued")
        if waiting:
            return {"triggered": False, "dag_id": target, "dag_run_id": waiting["dag_run_id"],
                    "reason": "a run is already queued"}
        run = api.trigger(target, {}, note=f"started by the shop's webhook ({topic})")
    except (AirflowApiError, AirflowNotFoundException) as exc:
        log.error("webhook %s: no run of %s queued: %s", topic, target, exc)
        return {"triggered": False, "dag_id": target,
                "reason": "Airflow did not queue the run (see the api-server log); the schedule will catch up"}
    log.info("webhook %s: run %s of %s queued", topic, run["dag_run_id"], target)
    return {"triggered": True, "dag_id": target, "dag_run_id": run["dag_run_id"]}


@router.post("/woocommerce/{company}/orders")
async def woocommerce_orders(request: Request,
                             company: Annotated[str, PathParam(pattern=COMPANY_KEY.pattern, max_length=60)]
                             ) -> JSONResponse:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "a webhook body is a few kB")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "a webhook body is a few kB")
    target = await run_in_threadpool(orders_dag, company)
    key = await run_in_threadpool(secret, company) if target else None
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no webhook is configured here")
    signature = request.headers.get("x-wc-webhook-signature")
    if signature is None and PING.fullmatch(body):
        return JSONResponse({"pong": True})
    if not signed(body, signature, key):
        log.warning("webhook for %s refused: its signature does not match the secret of connection %s", company,
                    secret_conn_id(company))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the signature does not match")
    topic = request.headers.get("x-wc-webhook-topic") or ""
    if not ORDER_TOPIC.fullmatch(topic):
        return JSONResponse({"triggered": False, "reason": "not an order topic"})
    return JSONResponse(await run_in_threadpool(queue_run, target, topic), status_code=status.HTTP_202_ACCEPTED)


app = FastAPI(title="erpbridge shop webhooks", docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(router)
