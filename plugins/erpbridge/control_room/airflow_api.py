"""Airflow's own REST API (/api/v2), called with the signed-in user's token: Airflow decides what
that user may see and trigger, the control room adds no permissions of its own."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from urllib.parse import quote

import httpx

TIMEOUT = 15


class AirflowApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(f"Airflow API answered {status}: {detail}")
        self.status = status
        self.detail = detail


def api_root() -> str:
    """Where this api-server's REST API is, from configuration only (never from a request, whose Host a caller
    chooses): ERPBRIDGE_AIRFLOW_API_URL, else an absolute [api] base_url, else this machine's api-server on
    [api] port under base_url's path."""
    if explicit := os.environ.get("ERPBRIDGE_AIRFLOW_API_URL"):
        return explicit.rstrip("/")
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="") or ""
    if base.startswith(("http://", "https://")):
        return base.rstrip("/")
    return f"http://127.0.0.1:{conf.getint('api', 'port', fallback=8080)}{base.rstrip('/')}"


class AirflowApi:
    def __init__(self, root: str, token: str):
        self.root = root
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        """One call; a transport failure or an answer that is not JSON is an AirflowApiError (502) too."""
        try:
            response = httpx.request(method, f"{self.root}/api/v2/{path}", headers=self.headers, timeout=TIMEOUT,
                                     **kwargs)
        except httpx.HTTPError as exc:
            raise AirflowApiError(502, f"Airflow's REST API at {self.root} did not answer: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise AirflowApiError(502 if response.status_code < 400 else response.status_code,
                                  f"Airflow's REST API gave an answer that is not JSON (HTTP {response.status_code})"
                                  ) from None
        if response.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise AirflowApiError(response.status_code, str(detail)[:500])
        return body

    def dag_params(self, dag_id: str) -> dict:
        return self._call("GET", f"dags/{quote(dag_id, safe='')}/details").get("params") or {}

    def trigger(self, dag_id: str, conf: dict, note: str | None = None) -> dict:
        body = {"logical_date": datetime.now(timezone.utc).isoformat(), "conf": conf}
        if note:
            body["note"] = note
        return self._call("POST", f"dags/{quote(dag_id, safe='')}/dagRuns", json=body)

    def last_run(self, dag_id: str, state: str | None = None) -> dict | None:
        params = {"order_by": "-run_after", "limit": 1}
        if state:
            params["state"] = state
        runs = self._call("GET", f"dags/{quote(dag_id, safe='')}/dagRuns", params=params).get("dag_runs") or []
        return runs[0] if runs else None

    def variable(self, key: str) -> str | None:
        """A Variable's value as stored, or None when it does not exist."""
        try:
            return self._call("GET", f"variables/{quote(key, safe='')}").get("value")
        except AirflowApiError as exc:
            if exc.status == 404:
                return None
            raise

    def set_variable(self, key: str, value: str, exists: bool) -> None:
        if exists:
            self._call("PATCH", f"variables/{quote(key, safe='')}", json={"key": key, "value": value},
                       params={"update_mask": "value"})
        else:
            self._call("POST", "variables", json={"key": key, "value": value})

    def retry_record(self, dag_id: str, conf: dict, label: str, actor: str) -> dict:
        """Trigger ``dag_id`` with ``conf`` (see control_room.retry); refuses a DAG that lacks one of its Params."""
        missing = sorted(set(conf) - set(self.dag_params(dag_id)))
        if missing:
            raise AirflowApiError(409, f"DAG {dag_id} has no {', '.join(map(repr, missing))} param: it cannot "
                                       f"retry a single record")
        return self.trigger(dag_id, conf, note=f"retry of {label} from the control room by {actor}")
