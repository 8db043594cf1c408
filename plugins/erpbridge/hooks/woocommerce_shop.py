"""WooCommerce REST API v3 (``/wp-json/wc/v3``): consumer key / secret, JSON, WordPress paging.

Auth as the official client does it: HTTP Basic over HTTPS; over plain HTTP one-legged OAuth 1.0a
(HMAC-SHA256) in the query string (oauthlib). Records cross this hook as the API's own JSON dicts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

from requests.auth import HTTPBasicAuth

from erpbridge.errors import ExternalSystemError, RecordRejected
from erpbridge.hooks.base import HttpSystemHook
from erpbridge.hooks.transport import Retryable

API = "wp-json/wc/v3"
PER_PAGE = 100  # the API's maximum
BATCH_SIZE = 100  # items per /batch call, the API's maximum
RECORD_STATUSES = {400, 404, 409, 413, 422}


class WooCommerceHook(HttpSystemHook):
    """Connection: host = the shop's URL, login = consumer key, password = consumer secret."""

    conn_name_attr = "woocommerce_conn_id"
    default_conn_name = "woocommerce_default"
    conn_type = "woocommerce"
    hook_name = "WooCommerce"
    system_name = "WooCommerce"

    def __init__(self, woocommerce_conn_id: str | None = None, **kwargs):
        super().__init__(woocommerce_conn_id, **kwargs)

    def configure(self, conn) -> None:
        self.consumer_key = conn.login or ""
        self.consumer_secret = conn.password or ""
        self._oauth = None

    def authorize(self, request) -> None:
        if request.url.lower().startswith("https://"):
            HTTPBasicAuth(self.consumer_key, self.consumer_secret)(request)
            return
        if self._oauth is None:
            from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client

            self._oauth = Client(self.consumer_key, client_secret=self.consumer_secret,
                                 signature_method=SIGNATURE_HMAC_SHA256, signature_type=SIGNATURE_TYPE_QUERY)
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        request.url, _, _ = self._oauth.sign(request.url, request.method, body=body,
                                             headers={"Content-Type": request.headers.get("Content-Type", "")})

    def request(self, method: str, path: str, *, params=None, json=None, write: bool = False) -> "Page":
        self.connection  # noqa: B018 - reads the credentials before the first request
        return self.client.call(method, f"{API}/{path}", params=params, json=json, write=write, parse=_parse)

    def probe(self) -> str:
        page = self.request("GET", "products", params={"per_page": 1})
        return f"keys accepted, {page.headers.get('X-WP-Total', '?')} products readable"

    def iter_pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Pages of a list, oldest first, until ``X-WP-TotalPages``."""
        page = 1
        while True:
            answer = self.request("GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE,
                                                       "order": "asc"})
            yield answer.body
            if page >= int(answer.headers.get("X-WP-TotalPages") or 0):
                return
            page += 1

    # --- catalog --------------------------------------------------------------------------------

    def products(self, skus: list[str] | None = None) -> Iterator[list[dict]]:
        """Pages of products (not variations), only the given SKUs when named."""
        params = {"sku": ",".join(skus)} if skus else {}
        return self.iter_pages("products", params)

    def variations(self, product_id: int) -> list[dict]:
        return [v for page in self.iter_pages(f"products/{product_id}/variations") for v in page]

    def batch_update(self, updates: list[dict], parent_id: int | None = None) -> list[dict]:
        """``update`` items through ``/products/batch`` (or a product's variations), at most 100 a call.
        Returns the answers in order; a refused item carries ``error`` (its code and message)."""
        path = f"products/{parent_id}/variations/batch" if parent_id else "products/batch"
        answers: list[dict] = []
        for start in range(0, len(updates), BATCH_SIZE):
            answers += self.request("POST", path, json={"update": updates[start:start + BATCH_SIZE]},
                                    write=True).body.get("update", [])
        return answers

    # --- orders ---------------------------------------------------------------------------------

    def orders(self, modified_after: datetime | None = None, statuses: tuple[str, ...] = ()) -> Iterator[list[dict]]:
        """Pages of orders changed after ``modified_after`` (all when None), in the given statuses."""
        params: dict = {"status": ",".join(statuses) if statuses else "any"}
        if modified_after:
            params |= {"modified_after": _wp_time(modified_after), "dates_are_gmt": "true"}
        return self.iter_pages("orders", params)

    def order(self, order_id: int | str) -> dict | None:
        try:
            return self.request("GET", f"orders/{int(order_id)}").body
        except RecordRejected as exc:
            if exc.category == "woocommerce_rest_shop_order_invalid_id":
                return None
            raise

    def notes(self, order_id: int | str) -> list[dict]:
        return self.request("GET", f"orders/{int(order_id)}/notes").body

    def add_note(self, order_id: int | str, note: str, customer_note: bool = False) -> dict:
        return self.request("POST", f"orders/{int(order_id)}/notes", json={"note": note, "customer_note": customer_note},
                            write=True).body

    def refunds(self, order_id: int | str) -> list[dict]:
        return [r for page in self.iter_pages(f"orders/{int(order_id)}/refunds") for r in page]

    def update_order(self, order_id: int | str, changes: dict) -> dict:
        return self.request("PUT", f"orders/{int(order_id)}", json=changes, write=True).body


class Page:
    def __init__(self, body, headers):
        self.body = body
        self.headers = headers


def _parse(response) -> Page:
    """A 2xx JSON answer, or WooCommerce's ``{code, message, data: {status}}`` as our error kinds."""
    try:
        body = response.json() if response.content else None
    except ValueError as exc:
        raise Retryable(f"HTTP {response.status_code}: unreadable JSON", status=response.status_code) from exc
    if response.ok:
        return Page(body, response.headers)
    error = body if isinstance(body, dict) else {}
    code = error.get("code") or f"HTTP{response.status_code}"
    message = error.get("message") or response.text[:300]
    if response.status_code in RECORD_STATUSES:
        raise RecordRejected(f"{code}: {message}", code)
    raise ExternalSystemError("WooCommerce", f"{code}: {message}", code, response.status_code)


def _wp_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
