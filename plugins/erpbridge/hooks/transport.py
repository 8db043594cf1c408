"""The HTTP client every REST/XML hook shares: timeouts, TLS, rate limit, retries with backoff.

Reads (idempotent) are retried on timeouts, connection errors, 429, 5xx and unreadable bodies.
Writes are retried only where the server certainly did not act: 429 and connect failures.
``Retry-After`` is honoured; otherwise the wait grows exponentially.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from erpbridge.errors import ExternalSystemError

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class RateLimiter:
    """At most ``per_second`` calls per second, spaced evenly (thread-safe)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            time.sleep(delay)


class Retryable(Exception):
    """An attempt that may succeed if repeated; ``retry_after`` seconds when the server said so."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


@dataclass
class HttpClient:
    """One session to one base URL. ``authorize`` adds auth headers to each attempt's request."""

    system: str
    base_url: str
    authorize: Callable[[requests.PreparedRequest], None]
    verify: bool | str = True
    timeout: float = 120.0
    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0
    rate_per_second: float = 0.0
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.limiter = RateLimiter(self.rate_per_second)
        # One host per client: resolve proxy settings once, not from os.environ on every request.
        self.proxies = requests.utils.resolve_proxies(requests.Request("GET", self.base_url).prepare(),
                                                      self.session.proxies, self.session.trust_env)

    def call(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[requests.Response], Any],
        params: dict | None = None,
        data: Any = None,
        json: Any = None,
        headers: dict | None = None,
        write: bool = False,
    ) -> Any:
        """Send, retrying as the rules above allow; ``parse`` turns the final response into a result.

        ``parse`` raises Retryable for an answer worth repeating (e.g. an unreadable body on a read).
        """
        def attempt() -> Any:
            request = requests.Request(method, f"{self.base_url}/{path.lstrip('/')}", params=params,
                                       data=data, json=json, headers=headers or {})
            prepared = self.session.prepare_request(request)
            self.authorize(prepared)
            self.limiter.wait()
            try:
                response = self.session.send(prepared, timeout=self.timeout, verify=self.verify,
                                             proxies=self.proxies)
            except requests.ConnectTimeout as exc:
                raise Retryable(f"connect timeout: {exc}") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if write:
                    raise ExternalSystemError(self.system, f"no answer to {method} {path}: {exc}") from exc
                raise Retryable(f"no answer: {exc}") from exc
            if response.status_code == 429 or (not write and response.status_code in RETRYABLE_STATUS):
                raise Retryable(f"HTTP {response.status_code}: {response.text[:300]}",
                                _retry_after(response), response.status_code)
            try:
                return parse(response)
            except Retryable as exc:
                if write:  # the server may have acted: the rerun's find-or-create resolves it
                    raise ExternalSystemError(self.system, f"{method} {path} failed; the server may have acted: {exc}") from exc
                raise

        retrying = Retrying(
            retry=retry_if_exception_type(Retryable),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Retryable as exc:
            raise ExternalSystemError(self.system, f"{method} {path} failed after {self.attempts} attempts: {exc}",
                                      status=exc.status) from exc

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_backoff)
        return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_backoff)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
