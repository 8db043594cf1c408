"""Airflow's SimpleAuthManager with per-DAG rights for one user, as FAB's per-DAG permissions give them:
``alice`` (role op) may read and change the runs of ALICE_DAG only. The api-server of these tests runs
with it (AIRFLOW__CORE__AUTH_MANAGER), so the control room is checked against a real per-DAG user."""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

ALICE = "alice"
ALICE_DAG = "severa_netvisor_registers"


class OneDagAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        if user.get_name() == ALICE and not (details is not None and details.id == ALICE_DAG):
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
