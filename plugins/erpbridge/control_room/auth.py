"""Airflow's own login for every control-room endpoint: the user comes from Airflow's ``get_user``
dependency (the ``_token`` cookie of the UI or an ``Authorization: Bearer`` JWT from POST /auth/token),
and the auth manager decides what that user may do. No login of our own, no data without it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user


def reader(user: Annotated[BaseUser, Depends(get_user)]) -> BaseUser:
    """A signed-in user; what each page shows is limited to the DAGs whose runs the user may read."""
    return user


def may_read(user: BaseUser, dag_id: str | None) -> bool:
    """Seeing a record: the right to read the runs of the DAG it belongs to; without a DAG, admins only."""
    return _may(user, "GET", dag_id)


def may_operate(user: BaseUser, dag_id: str | None) -> bool:
    """Dismissing or editing a record changes what a flow does next: the right to edit its DAG's runs; without a
    DAG, admins only."""
    return _may(user, "PUT", dag_id)


def readable(user: BaseUser, dag_ids) -> set[str]:
    """Those of ``dag_ids`` whose runs the user may read."""
    return {dag_id for dag_id in dag_ids if dag_id and may_read(user, dag_id)}


def is_admin(user: BaseUser) -> bool:
    """Rights over every DAG's runs and over Airflow's connections (Airflow's Admin and Op roles): the only users
    shown records no DAG run wrote (dismissals, rows from before the DAG id was kept)."""
    manager = get_auth_manager()
    return manager.is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user) and \
        manager.is_authorized_connection(method="PUT", user=user)


def _may(user: BaseUser, method: str, dag_id: str | None) -> bool:
    if not dag_id:
        return is_admin(user)
    return get_auth_manager().is_authorized_dag(method=method, access_entity=DagAccessEntity.RUN,
                                                details=DagDetails(id=dag_id), user=user)


def same_origin(request: Request) -> None:
    """Refuse a state-changing request posted from another site (the cookie is SameSite=Lax, this is the
    belt to those braces)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: cross-site request")


def token_of(request: Request) -> str:
    """The caller's own JWT, to call Airflow's REST API on their behalf (with their permissions)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:]
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


def login_url(request: Request) -> str:
    """Airflow's login, coming back to this page by its path (never an address built from the Host header)."""
    here = request.scope.get("root_path", "") + request.url.path.removeprefix(request.scope.get("root_path", ""))
    return get_auth_manager().get_url_login(next_url=here + (f"?{request.url.query}" if request.url.query else ""))


Reader = Annotated[BaseUser, Depends(reader)]
