"""A small Polish shop for the e-shop flow tests: the same products in WooCommerce (by SKU) and Fakturownia
(by code), orders placed through the shop's own API (so WooCommerce prices and taxes them), and the
shop's quirks seeded as WooCommerce would answer them."""

from __future__ import annotations

import copy

from woocommerce import API

from include.simulators.fakturownia import SEEDED_AT
from tests.conftest import SECRETS

SENT_TO_STORE = "wyslane-do-sklepu"  # a pickup plugin's order status
NIP_COMPANY = "5252344078"  # valid checksums
NIP_RETURNING = "1234563218"
NIP_WRONG = "5252344079"
ESHOP_WAREHOUSE, STORE_WAREHOUSE = 1, 2

PRODUCTS = [  # sku, name, gross price in the ERP / net in the shop, VAT rate, WooCommerce tax class
    ("MUG-01", "Kubek ceramiczny", "39.00", "23", ""),
    ("BOOK-01", "Książka kucharska", "45.00", "5", "super-reduced-rate"),
    ("CAKE-01", "Tort urodzinowy", "80.00", "8", "reduced-rate"),
]
VARIATIONS = [("TEE-M", "79.00"), ("TEE-L", "79.00")]


def seed(woocommerce, fakturownia) -> None:
    woocommerce.configure(custom_statuses=[SENT_TO_STORE])
    woocommerce.seed(
        products=[{"name": name, "sku": sku, "regular_price": price, "tax_class": tax_class, "manage_stock": True,
                   "stock_quantity": 20} for sku, name, price, _, tax_class in PRODUCTS]
        + [{"name": "Koszulka", "type": "variable", "sku": "TEE", "variations": [
            {"sku": sku, "regular_price": price, "manage_stock": True, "stock_quantity": 10}
            for sku, price in VARIATIONS]}],
        coupons=[{"code": "rabat10", "discount_type": "percent", "amount": "10"}])
    fakturownia.seed(
        warehouses=[{"id": ESHOP_WAREHOUSE, "name": "Magazyn e-sklepu"}, {"id": STORE_WAREHOUSE, "name": "Sklep Kraków"}],
        products=[{"name": name, "code": sku, "price_gross": price, "tax": rate, "stock": {"1": 20},
                   "updated_at": SEEDED_AT} for sku, name, price, rate, _ in PRODUCTS]
        + [{"name": f"Koszulka {sku[-1]}", "code": sku, "price_gross": price, "tax": "23", "stock": {"1": 10},
            "updated_at": SEEDED_AT} for sku, price in VARIATIONS],
        clients=[{"name": "Stały Klient Sp. z o.o.", "tax_no": NIP_RETURNING, "email": "zakupy@staly.pl"}])


class Shop:
    """The shop's own API (the official client), to place and change orders as customers and staff do."""

    def __init__(self, woocommerce):
        creds = SECRETS["woocommerce"]
        self.sim = woocommerce
        self.api = API(woocommerce.base, creds["consumer_key"], creds["consumer_secret"], version="wc/v3", timeout=10)
        self.ids = {}
        for product in self.api.get("products", params={"per_page": 100}).json():
            self.ids[product["sku"]] = (product["id"], 0)
            for variation in self.api.get(f"products/{product['id']}/variations").json():
                self.ids[variation["sku"]] = (product["id"], variation["id"])

    def order(self, lines: dict[str, int], *, email: str = "anna@example.pl", nip: str | None = None,
              company: str = "", paid: bool = True, shipping: str | None = "15.00", coupon: str | None = None,
              fee: str | None = None, status: str | None = None, meta: dict | None = None,
              invoice: bool = False, pickup: str | None = None) -> dict:
        body = {"set_paid": paid, "billing": {"first_name": "Anna", "last_name": "Nowak", "email": email,
                                               "company": company, "address_1": "Długa 1", "city": "Kraków",
                                               "postcode": "30-001", "country": "PL"},
                "line_items": [{"product_id": self.ids[sku][0], "variation_id": self.ids[sku][1], "quantity": q}
                               for sku, q in lines.items()],
                "payment_method": "przelewy24", "payment_method_title": "Przelewy24",
                "meta_data": [{"key": k, "value": v} for k, v in (meta or {}).items()]}
        if nip:
            body["meta_data"].append({"key": "_billing_nip", "value": nip})
        if invoice:
            body["meta_data"].append({"key": "_billing_invoice", "value": "1"})
        if pickup is not None:
            body["shipping_lines"] = [{"method_id": "local_pickup", "method_title": "Odbiór osobisty", "total": "0.00",
                                       "meta_data": [{"key": "pickup_location", "value": pickup}]}]
        elif shipping:
            body["shipping_lines"] = [{"method_id": "flat_rate", "method_title": "Kurier", "total": shipping}]
        if coupon:
            body["coupon_lines"] = [{"code": coupon}]
        if fee:
            body["fee_lines"] = [{"name": "Pakowanie na prezent", "total": fee}]
        if status:
            body["status"] = status
        answer = self.api.post("orders", body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def set_status(self, order: dict, status: str) -> dict:
        return self.api.put(f"orders/{order['id']}", {"status": status}).json()

    def quirky(self, order: dict, **changes) -> dict:
        """A copy of ``order`` seeded as another order, as a plugin or a hand edit might have left it."""
        quirk = copy.deepcopy(order) | changes
        quirk.pop("id")
        quirk["number"] = f"Q{order['number']}-{len(changes)}-{sorted(changes)[0]}"
        created = self.sim.seed(orders=[quirk])["orders"][0]
        return self.api.get(f"orders/{created}").json()
