"""Shared base of the vendor simulators: admin API, fault injection and request log.

Every simulator module builds one :class:`Simulator`, adds its vendor routes to ``sim.app``
and registers its state hooks with :meth:`Simulator.on_reset`, :meth:`Simulator.on_seed`
and :meth:`Simulator.on_state`. Admin routes live under ``/_sim/`` and are never logged nor
faulted; every other request goes through the fault middleware and the request log.
"""

from __future__ import annotations

import asyncio
import copy
import random
import threading
from datetime import datetime, timezone
from typing import Any, Callable

from fastapi import Body, FastAPI
from starlette.responses import JSONResponse, Response

ADMIN_PREFIX = "/_sim/"
FAULT_KEYS = {
    "error_rate", "error_category", "rate_429", "retry_after", "latency_ms",
    "timeout_rate", "timeout_seconds", "reset_rate", "malformed_rate", "next_n", "respond", "seed",
}

_MISSING = object()
ErrorResponse = Callable[[int, str, str], Response]


class _SimApp(FastAPI):
    """FastAPI app whose outermost layer is the simulator's fault/log middleware.

    Being outside Starlette's error middleware lets a "reset" fault abort the connection
    instead of being turned into a 500 answer.
    """

    sim: "Simulator"

    def build_middleware_stack(self):
        return _FaultMiddleware(super().build_middleware_stack(), self.sim)


class Simulator:
    """Admin side + fault injection + request log for one vendor simulator."""

    def __init__(self, name: str, error_response: ErrorResponse):
        self.name = name
        self.error_response = error_response
        self.lock = threading.RLock()
        self.config: dict = {}
        self.faults: dict = {}
        self.rng = random.Random()
        self.requests: list[dict] = []
        self.generation = 0  # bumped by every reset: a request that arrived before it is not served after it
        self._seq = 0
        self._config_backup: dict = {}
        self._reset: Callable[[], Any] = lambda: None
        self._seed: Callable[[dict], dict] = lambda payload: {}
        self._state: Callable[[], dict] = dict
        self.app = _SimApp(title=f"{name} simulator")
        self.app.sim = self
        self._add_admin_routes()

    # -- hooks registered by the simulator module -------------------------------------------
    def on_reset(self, fn):
        """Register the function that clears the vendor state."""
        self._reset = fn
        return fn

    def on_seed(self, fn):
        """Register ``fn(payload) -> dict`` that loads data and returns e.g. the created ids."""
        self._seed = fn
        return fn

    def on_state(self, fn):
        """Register ``fn() -> dict`` dumping the whole vendor state as JSON-able data."""
        self._state = fn
        return fn

    # -- admin operations --------------------------------------------------------------------
    def reset(self) -> None:
        """Clear vendor state, faults and request log; undo changes made via /_sim/config."""
        with self.lock:
            self._reset()
            self.generation += 1
            self.faults.clear()
            self.requests.clear()
            for key, value in self._config_backup.items():
                if value is _MISSING:
                    self.config.pop(key, None)
                else:
                    self.config[key] = value
            self._config_backup.clear()

    def seed(self, payload: dict) -> dict:
        with self.lock:
            return self._seed(payload)

    def update_config(self, changes: dict) -> dict:
        with self.lock:
            for key in changes.keys() - self._config_backup.keys():
                self._config_backup[key] = copy.deepcopy(self.config[key]) if key in self.config else _MISSING
            self.config.update(changes)
            return dict(self.config)

    def set_faults(self, faults: dict) -> dict:
        unknown = set(faults) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if "respond" in faults:
            faults = {**faults, "respond": _respond_rule(faults["respond"])}
        with self.lock:
            self.faults.update(faults)
            if "seed" in faults:
                self.rng.seed(faults["seed"])
            return dict(self.faults)

    def log(self, scope: dict, status: int | None, body_size: int) -> None:
        with self.lock:
            self._seq += 1
            self.requests.append({
                "seq": self._seq,
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "method": scope["method"],
                "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "status": status,
                "body_size": body_size,
            })

    def _add_admin_routes(self) -> None:
        app, sim = self.app, self

        @app.post("/_sim/reset")
        def reset() -> dict:
            sim.reset()
            return {"reset": True}

        @app.post("/_sim/seed")
        def seed(payload: dict = Body(default_factory=dict)):
            try:
                return sim.seed(payload)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        @app.get("/_sim/state")
        def state() -> dict:
            with sim.lock:
                return sim._state()

        @app.get("/_sim/requests")
        def requests(since: int = 0) -> list[dict]:
            with sim.lock:
                return [r for r in sim.requests if r["seq"] > since]

        @app.delete("/_sim/requests")
        def clear_requests() -> dict:
            with sim.lock:
                sim.requests.clear()
            return {"cleared": True}

        @app.get("/_sim/config")
        def get_config() -> dict:
            with sim.lock:
                return dict(sim.config)

        @app.post("/_sim/config")
        def set_config(payload: dict = Body(...)) -> dict:
            return sim.update_config(payload)

        @app.post("/_sim/faults")
        def set_faults(payload: dict = Body(...)):
            try:
                return sim.set_faults(payload)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        @app.delete("/_sim/faults")
        def clear_faults() -> dict:
            with sim.lock:
                sim.faults.clear()
            return {}

        @app.get("/_sim/health")
        def health() -> dict:
            return {"status": "ok", "name": sim.name}


class _FaultMiddleware:
    """ASGI middleware: applies the configured faults and logs every vendor request."""

    def __init__(self, app, sim: Simulator):
        self.app = app
        self.sim = sim

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        status: list[int | None] = [None]
        generation = self.sim.generation

        async def logging_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self._handle(scope, _replay(body, receive), logging_send, server_send=send, generation=generation)
        finally:
            if self.sim.generation == generation:
                self.sim.log(scope, status[0], len(body))

    async def _handle(self, scope, receive, send, server_send, generation: int):
        sim = self.sim
        fault = self._draw(scope)
        if fault.get("latency"):
            await asyncio.sleep(fault["latency"])
        if sim.generation != generation:  # delayed past a reset (a test's end): never touches the next state
            await _abort(server_send)
            return
        if fault.get("respond"):
            status, content_type, body = fault["respond"]
            await Response(body, status_code=status, media_type=content_type)(scope, receive, send)
            return
        if fault.get("reset"):
            await _abort(server_send)
            return
        if fault.get("error"):
            status, category, message, headers = fault["error"]
            response = sim.error_response(status, category, message)
            response.headers.update(headers)
            await response(scope, receive, send)
            return
        if fault.get("malformed"):
            await _garbled(self.app, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _draw(self, scope) -> dict:
        """Decide, under the lock, which faults hit this request (before the route runs)."""
        sim = self.sim
        with sim.lock:
            f, rng = sim.faults, sim.rng
            result: dict = {"latency": f.get("latency_ms", 0) / 1000}
            respond = f.get("respond")
            if respond and respond["count"] > 0 and respond["path"] in (None, scope["path"]) \
                    and respond["method"] in (None, scope["method"]):
                respond["count"] -= 1
                result["respond"] = (respond["status"], respond["content_type"], respond["body"].encode())
                return result
            next_n = f.get("next_n")
            if next_n and next_n.get("count", 0) > 0:
                next_n["count"] -= 1
                result["error"] = (
                    next_n.get("status", 503),
                    next_n.get("category", "SYSTEM_MAINTANANCE"),
                    next_n.get("message", "Injected failure"),
                    {},
                )
                return result
            if rng.random() < f.get("reset_rate", 0):
                result["reset"] = True
            elif rng.random() < f.get("timeout_rate", 0):
                result["latency"] += f.get("timeout_seconds", 30)
            if rng.random() < f.get("rate_429", 0):
                headers = {"Retry-After": str(f["retry_after"])} if f.get("retry_after") else {}
                result["error"] = (429, "TOO_MANY_REQUESTS", "Too many requests", headers)
            elif rng.random() < f.get("error_rate", 0):
                category = f.get("error_category", "TECHNICAL_ERROR")
                result["error"] = (503, category, "Injected service error", {})
            elif rng.random() < f.get("malformed_rate", 0):
                result["malformed"] = True
            return result


def _respond_rule(rule) -> dict:
    """``respond``: answer ``body`` (with ``status`` and ``content_type``) instead of running the route, for
    the next ``count`` requests to ``path`` (exact; any path if absent) and ``method`` (any if absent)."""
    if not isinstance(rule, dict) or not isinstance(rule.get("body"), str):
        raise ValueError("respond: an object with a string 'body' (and optional path, method, count, status,"
                         " content_type)")
    unknown = set(rule) - {"body", "path", "method", "count", "status", "content_type"}
    if unknown:
        raise ValueError(f"respond: unknown keys: {sorted(unknown)}")
    count, status = rule.get("count", 1), rule.get("status", 200)
    if not isinstance(count, int) or count < 1 or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("respond: count must be a positive integer and status an HTTP status")
    return {"body": rule["body"], "path": rule.get("path"), "method": (rule.get("method") or "").upper() or None,
            "count": count, "status": status, "content_type": rule.get("content_type", "application/xml")}


async def _read_body(receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive):
    """A ``receive`` that hands out the buffered body once, then defers to the server."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay():
        return pending.pop() if pending else await receive()

    return replay


async def _abort(send) -> None:
    """Drop the TCP connection without any response.

    ``send`` must be the server's own: uvicorn's is a method of an object holding the transport.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("injected connection reset")
    transport.abort()
    await asyncio.sleep(0)  # let the server notice the disconnect before it answers


async def _garbled(app, scope, receive, send) -> None:
    """Run the route (side effects happen), then answer 200 with half of its body."""
    start: dict = {}
    chunks: list[bytes] = []

    async def capture(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    full = b"".join(chunks)
    body = full[: len(full) // 2] or b"\xff"
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
