"""E-shop <-> ERP settings (Variable ``erpbridge_eshop_erp``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from erpbridge.settings import Strict


OrderAction = Literal["order", "wait", "cancel", "to_store"]


class Promotion(Strict):
    """Promotional prices: those of an ERP price list, from ``starts`` to ``ends`` (whole days in the shop's time
    zone; the ERP's price lists carry no dates)."""

    price_list_id: int
    starts: date
    ends: date

    @model_validator(mode="after")
    def _in_order(self):
        if self.ends < self.starts:
            raise ValueError(f"promotion of price list {self.price_list_id} ends ({self.ends}) before it starts "
                             f"({self.starts})")
        return self


class EshopErpSettings(Strict):
    """E-shop <-> ERP settings, WooCommerce <-> Fakturownia (Variable ``erpbridge_eshop_erp``)."""

    currency: str = "PLN"  # the only currency the ERP documents are issued in; other orders are refused
    eshop_warehouse_id: int | None = None  # the ERP warehouse the shop sells from (None: the ERP's default)
    # Orders split per warehouse (R-D.5): the ERP warehouses an order is filled from, in this order. Each line
    # comes from the first one whose free stock holds its whole quantity, else is spread over them in this
    # order; each warehouse used gets its own customer order. Empty: every order is one customer order from
    # eshop_warehouse_id. Pickup orders are never split (reserved in the e-shop warehouse).
    split_warehouses: list[int] = []
    # What each shop order status means here: "order" becomes a customer order (ZK) in the ERP,
    # "wait" does nothing yet, "cancel" lifts the customer order, "to_store" (a pickup order sent to its
    # store, e.g. a plugin's "sent to store" status) moves its goods to the store's warehouse (MM) once;
    # a status not listed is refused by name.
    status_map: dict[str, OrderAction] = {
        "pending": "wait", "on-hold": "order", "processing": "order", "completed": "order",
        "cancelled": "cancel", "refunded": "order", "failed": "wait", "checkout-draft": "wait"}
    nip_meta_key: str = "_billing_nip"  # order meta_data key holding the buyer's NIP (plugin-specific)
    pickup_method_ids: list[str] = ["local_pickup", "pickup_location"]  # shipping methods that mean store pickup
    pickup_location_meta_key: str = "pickup_location"  # shipping line (or order) meta key naming the location
    pickup_locations: dict[str, int] = {}  # pickup location name -> the store's ERP warehouse id
    invoice_meta_key: str = "_billing_invoice"  # order meta_data key: the buyer asked for a VAT invoice (1/yes/true)
    paid_statuses: list[str] = ["processing", "completed"]  # a paid order in one of these gets its sales document
    ksef_send: bool = False  # VAT invoices are sent to KSeF by Fakturownia (gov_save_and_send)
    shop_prices_include_tax: bool = False  # the shop's prices are entered with VAT: the ERP's gross price is written
    price_list_id: int | None = None  # the ERP price list the shop sells at (a product not on it: its card's price)
    promotions: list[Promotion] = []  # dated promotional prices, written as the shop's sale price with its dates
    oid_prefix: str = "WC-"  # ERP order id (oid) = prefix + the shop's order number
    orders_since: date | None = None  # orders created before this day are never imported
    watermark_overlap_minutes: int = Field(10, ge=0, le=1440)

    @model_validator(mode="after")
    def _orders_move(self):
        if "order" not in self.status_map.values():
            raise ValueError("status_map must map at least one status to \"order\"")
        waiting = [s for s in self.paid_statuses if self.status_map.get(s) != "order"]
        if waiting:
            raise ValueError(f"paid_statuses must be statuses the status_map maps to \"order\"; not {waiting}")
        return self

    @model_validator(mode="after")
    def _warehouses_once(self):
        if len(set(self.split_warehouses)) != len(self.split_warehouses):
            raise ValueError(f"split_warehouses names a warehouse twice: {self.split_warehouses}")
        return self
