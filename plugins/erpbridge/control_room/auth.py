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
    """A signed-in user who may read DAG runs (the transfer log is what those runs did)."""
    if not get_auth_manager().is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: reading DAG runs is not allowed for this user")
    return user


def may_operate(user: BaseUser, dag_id: str | None) -> bool:
    """Dismissing a record changes what a flow does next: the right to edit that flow's DAG runs."""
    details = DagDetails(id=dag_id) if dag_id else None
    return get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, details=details,
                                                user=user)


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
    return get_auth_manager().get_url_login(next_url=str(request.url))


Reader = Annotated[BaseUser, Depends(reader)]
