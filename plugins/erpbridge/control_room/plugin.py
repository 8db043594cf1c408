"""Registers the control room with Airflow (entry point group ``airflow.plugins`` in pyproject.toml):
a FastAPI app mounted in the api-server under /erpbridge and a "Transfers" link in the navigation."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/erpbridge"
WEBHOOKS_PREFIX = "/erpbridge-webhooks"  # no Airflow login: each delivery is signed (control_room.shop_webhook)


class ControlRoomPlugin(AirflowPlugin):
    name = "erpbridge_control_room"
    external_views = [{
        "name": "Transfers",
        "href": f"{URL_PREFIX}/",
        "url_route": "erpbridge",  # shown inside Airflow's UI (an iframe at /plugin/erpbridge)
        "destination": "nav",
        "category": "browse",
    }]

    @property
    def fastapi_apps(self) -> list[dict]:
        """Imported when the api-server asks, so schedulers and task runners that load plugins skip it."""
        from erpbridge.control_room import shop_webhook
        from erpbridge.control_room.app import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "erpbridge control room"},
                {"app": shop_webhook.app, "url_prefix": WEBHOOKS_PREFIX, "name": "erpbridge shop webhooks"}]
