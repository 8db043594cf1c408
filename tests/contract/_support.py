"""Helpers shared by the hook contract tests (connection overrides, request-log queries)."""

from __future__ import annotations

import json
from datetime import datetime


def override_connection(monkeypatch, env: str, extra: dict | None = None, **fields) -> None:
    """Replace fields / extras of the connection the fixture put in ``env`` (an AIRFLOW_CONN_* variable)."""
    import os

    conn = json.loads(os.environ[env])
    conn.update(fields)
    conn["extra"] = {**conn.get("extra", {}), **(extra or {})}
    monkeypatch.setenv(env, json.dumps(conn))


def calls(sim, path: str, since: int = 0, method: str | None = None) -> list[dict]:
    """The simulator's logged requests to ``path`` (case-insensitive), optionally of one method."""
    return [r for r in sim.requests(since) if r["path"].lower() == path.lower()
            and (method is None or r["method"] == method)]


def gaps(log: list[dict]) -> list[float]:
    """Seconds between consecutive logged requests."""
    times = [datetime.fromisoformat(r["time"]) for r in log]
    return [(b - a).total_seconds() for a, b in zip(times, times[1:])]


def after_first_response(hook, action, when=lambda response: True) -> None:
    """Run ``action`` once, right after the hook's first HTTP response matching ``when`` (before parsing).

    A requests response hook on the hook's own session: lets a test change the simulator's faults
    between two attempts deterministically, without threads or timers.
    """
    done = []

    def once(response, *args, **kwargs):
        if not done and when(response):
            done.append(True)
            action()
        return response

    hook.client.session.hooks["response"].append(once)


def sent_bodies(hook) -> list[bytes]:
    """The request bodies the hook actually put on the wire from now on (filled as responses arrive)."""
    bodies: list[bytes] = []
    hook.client.session.hooks["response"].append(
        lambda response, *args, **kwargs: bodies.append(response.request.body or b""))
    return bodies
