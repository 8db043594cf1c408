"""WeighingHook against the weighing system simulator over HTTP (the contract both assume: README "assumed,
verify first"), and the weighed-goods side of VismaHorizonHook against the Horizon simulator."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from erpbridge.errors import RecordRejected
from erpbridge.hooks.visma_horizon import VismaHorizonHook
from erpbridge.hooks.weighing import PAGE_SIZE, WeighingHook, label_elements
from tests.conftest import SECRET_VALUES

ORDER = {"order_no": "SO-1", "customer": "Customer 1", "delivery_date": "2026-12-02",
         "lines": [{"line_no": "1", "gtin": "04750001000016", "item_code": "CHEESE", "packages": 2,
                    "quantity_kg": "20.000"}]}


def posted(n: int, station: str = "ST-1") -> dict:
    return {"label_id": f"L{n}", "order_no": "SO-1", "station_id": station,
            "weighed_at": f"2026-11-30T08:{n % 60:02d}:00+02:00", "label": "(01)04750001000016(3103)010000"}


def test_orders_on_the_stations_list_and_the_test_button(weighing):
    hook = WeighingHook()

    hook.put_order(ORDER)
    hook.put_order({**ORDER, "customer": "Customer 1 SIA"})

    assert weighing.state()["orders"] == [{**ORDER, "customer": "Customer 1 SIA"}], "a repeated PUT replaces it"
    ok, message = hook.test_connection()
    assert ok and "1 order(s)" in message
    with pytest.raises(RecordRejected, match="INVALID_ORDER"):
        hook.put_order({**ORDER, "lines": []})


def test_a_wrong_api_key_fails_the_test_button_without_showing_it(weighing, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WEIGHING_DEFAULT", json.dumps(
        {"conn_type": "weighing", "host": weighing.base, "password": "not-the-key", "extra": {"backoff": 0.01}}))
    ok, message = WeighingHook().test_connection()
    assert not ok and "UNAUTHORIZED" in message
    assert not any(secret in message for secret in SECRET_VALUES + ["not-the-key"])


def test_weighings_after_a_cursor_page_by_page_and_an_offline_station_later_with_its_own_time(weighing):
    weighing.seed(offline=["ST-2"])
    weighing.seed(weighings=[posted(n) for n in range(PAGE_SIZE + 5)] + [posted(999, "ST-2")])
    hook = WeighingHook()

    pages = list(hook.weighings(0))

    assert [len(page) for page in pages] == [PAGE_SIZE, 5]
    assert [w["seq"] for page in pages for w in page] == list(range(1, PAGE_SIZE + 6))
    assert list(hook.weighings(PAGE_SIZE + 5)) == []
    weighing.seed(online=["ST-2"])
    (late,), = list(hook.weighings(PAGE_SIZE + 5))
    assert (late["seq"], late["label_id"], late["weighed_at"], late["voided"]) == (
        PAGE_SIZE + 6, "L999", "2026-11-30T08:39:00+02:00", False)


def test_label_data_in_human_readable_form_splits_into_its_elements():
    assert label_elements("(01)04750001000016(3103)012345(10)LOT-7(13)261130") == [
        ("01", "04750001000016"), ("3103", "012345"), ("10", "LOT-7"), ("13", "261130")]
    assert label_elements("0104750001000016310301234510LOT-7") == []
    assert label_elements("(01)04750001000016 trailing(") == []


def test_weighed_sales_orders_and_a_delivery_note_found_again_by_its_reference(horizon):
    horizon.seed(sales_orders=[
        {"OrderNo": "SO-1", "Customer": "C1", "DeliveryDate": "2026-12-02", "Status": "REGISTERED", "Weighed": True},
        {"OrderNo": "SO-2", "Customer": "C2", "DeliveryDate": "2026-12-02", "Status": "REGISTERED", "Weighed": False},
        {"OrderNo": "SO-3", "Customer": "C3", "DeliveryDate": "2026-12-02", "Status": "DELIVERED", "Weighed": True}])
    horizon.seed(order_lines=[{"OrderNo": no, "LineNo": "1", "ItemCode": "CHEESE", "GTIN": "04750001000016",
                               "Packages": "2", "Quantity": "20.000", "Price": "8.95"} for no in ("SO-1", "SO-2")])
    hook = VismaHorizonHook()

    (order,) = hook.weighed_orders()

    assert {k: order[k] for k in ("order_no", "customer", "delivery_date")} == {
        "order_no": "SO-1", "customer": "C1", "delivery_date": "2026-12-02"}
    assert order["lines"] == [{"line_no": "1", "item_code": "CHEESE", "gtin": "04750001000016", "packages": "2",
                               "quantity_kg": "20.000", "price": "8.95"}]
    line = {"line_no": "1", "item_code": "CHEESE", "gtin": "04750001000016", "packages": 2,
            "quantity_kg": Decimal("20.150"), "price": Decimal("8.95"), "amount": Decimal("180.34"), "lots": "L1,L2"}
    note = {"order_pk": order["pk"], "reference": "WEIGH-1", "date": "2026-11-30", "amount": Decimal("180.34"),
            "lines": [line]}
    with pytest.raises(RecordRejected, match="INVALID_AMOUNT"):
        hook.create_delivery_note({**note, "lines": [{**line, "amount": Decimal("180.33")}],
                                   "amount": Decimal("180.33")})
    assert hook.delivery_note_by_reference("WEIGH-1") is None

    pk = hook.create_delivery_note(note)

    assert hook.delivery_note_by_reference("WEIGH-1") == pk
    (stored,) = horizon.state()["delivery_notes"]
    assert stored["Lines"] == [{"LineNo": "1", "ItemCode": "CHEESE", "GTIN": "04750001000016", "Packages": "2",
                                "Quantity": "20.150", "Price": "8.95", "Amount": "180.34", "Lots": "L1,L2"}]
    assert hook.weighed_orders() == [], "the order left REGISTERED with its note"
