"""horizon_weighing end to end, over HTTP against the Horizon and weighing simulators and a real ledger: 8 sales
orders of weighed goods go to the weighing system; labels come back inside and outside the tolerance, one
posted twice, one voided, one unreadable, and two from a station that worked offline and sends them the next
run -> the right delivery notes (weight x price to the cent), the review for the orders outside tolerance,
nothing counted twice, and a run after that changes nothing."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.flows.dagrun import run_dag, task_states
from tests.flows.hitl import run_dag_answering

DAG_ID = "horizon_weighing"
CHEESE, HAM, BACON = "04750001000016", "04750001000023", "04750001000030"  # GTINs with their check digits
PRICES = {CHEESE: Decimal("8.95"), HAM: Decimal("12.40"), BACON: Decimal("6.15")}
ONLINE, OFFLINE = "ST-1", "ST-2"


def label(gtin: str, kilograms: str, lot: str = "L2611", packed: str = "261130") -> str:
    """A label's GS1-128 data, human-readable form: GTIN, net kg with 3 decimals (3103), lot, pack date."""
    grams = int(Decimal(kilograms) * 1000)
    return f"(01){gtin}(3103){grams:06d}(10){lot}(13){packed}"


def order(no: int, *lines: tuple[str, int, str]) -> tuple[dict, list[dict]]:
    header = {"OrderNo": f"SO-{no}", "Customer": f"Customer {no}", "DeliveryDate": "2026-12-02",
              "Status": "REGISTERED", "Weighed": True}
    return header, [{"OrderNo": f"SO-{no}", "LineNo": str(n), "ItemCode": {CHEESE: "CHEESE", HAM: "HAM",
                                                                           BACON: "BACON"}[gtin],
                     "GTIN": gtin, "Packages": str(packages), "Quantity": kilograms, "Price": str(PRICES[gtin])}
                    for n, (gtin, packages, kilograms) in enumerate(lines, 1)]


ORDERS = [order(1, (CHEESE, 2, "20.000")),
          order(2, (CHEESE, 2, "20.000"), (HAM, 1, "5.000")),
          order(3, (CHEESE, 2, "20.000")),  # weighed 24.9 kg: outside the 5 % tolerance
          order(4, (HAM, 2, "10.000")),  # one label posted twice
          order(5, (BACON, 2, "8.000")),  # one label voided and repacked
          order(6, (CHEESE, 2, "20.000")),  # one package weighed on the offline station
          order(7, (HAM, 2, "10.000")),  # one unreadable label, then two good ones
          order(8, (BACON, 3, "12.000"))]  # weighed 10.2 kg: under the tolerance


def posted(label_id: str, order_no: int, data: str, station: str = ONLINE, at: str = "08:00", **extra) -> dict:
    return {"label_id": label_id, "order_no": f"SO-{order_no}", "station_id": station,
            "weighed_at": f"2026-11-30T{at}:00+02:00", "label": data, **extra}


WEIGHINGS = [
    posted("L11", 1, label(CHEESE, "10.000")), posted("L12", 1, label(CHEESE, "10.150")),
    posted("L21", 2, label(CHEESE, "9.900")), posted("L22", 2, label(CHEESE, "10.050")),
    posted("L23", 2, label(HAM, "5.125", lot="H77")),
    posted("L31", 3, label(CHEESE, "12.500")), posted("L32", 3, label(CHEESE, "12.400")),
    posted("L41", 4, label(HAM, "5.010")), posted("L42", 4, label(HAM, "4.980")),
    posted("L41", 4, label(HAM, "5.010")),  # the same label posted again
    posted("L51", 5, label(BACON, "4.200")), posted("L52", 5, label(BACON, "3.950")),
    posted("L51", 5, label(BACON, "4.200"), voided=True),  # voided; the package is weighed again
    posted("L53", 5, label(BACON, "4.010")),
    posted("L61", 6, label(CHEESE, "10.020")),
    posted("L62", 6, label(CHEESE, "9.890"), station=OFFLINE, at="07:15"),  # held in the offline station
    posted("L71", 7, label(HAM, "5.000").replace(HAM, HAM[:-1] + "9")),  # wrong GTIN check digit
    posted("L72", 7, label(HAM, "5.050")), posted("L73", 7, label(HAM, "4.930")),
    posted("L81", 8, label(BACON, "3.400")), posted("L82", 8, label(BACON, "3.400", lot="B2")),
    posted("L83", 8, label(BACON, "3.400", lot="B3")),
]


def expected_line(gtin: str, *kilograms: str) -> tuple:
    weight = sum(Decimal(k) for k in kilograms)
    return gtin, len(kilograms), weight, (weight * PRICES[gtin]).quantize(Decimal("0.01"), ROUND_HALF_UP)


EXPECTED = {  # order -> its note's lines: (GTIN, packages, kg, amount)
    "SO-1": [expected_line(CHEESE, "10.000", "10.150")],
    "SO-2": [expected_line(CHEESE, "9.900", "10.050"), expected_line(HAM, "5.125")],
    "SO-3": [expected_line(CHEESE, "12.500", "12.400")],
    "SO-4": [expected_line(HAM, "5.010", "4.980")],
    "SO-5": [expected_line(BACON, "3.950", "4.010")],
    "SO-6": [expected_line(CHEESE, "10.020", "9.890")],
    "SO-7": [expected_line(HAM, "5.050", "4.930")],
    "SO-8": [expected_line(BACON, "3.400", "3.400", "3.400")],
}


@pytest.fixture
def round_trip(airflow_db, ledger, horizon, weighing, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_HORIZON_WEIGHING", json.dumps({"tolerance_percent": 5}))
    horizon.seed(sales_orders=[header for header, _ in ORDERS]
                 + [{**ORDERS[0][0], "OrderNo": "SO-9", "Weighed": False}])  # not weighed goods: never sent
    horizon.seed(order_lines=[line for _, lines in ORDERS for line in lines])
    weighing.seed(offline=[OFFLINE])
    return ledger, horizon, weighing


def notes(horizon) -> dict[str, list[tuple]]:
    orders = {str(o["pk"]): o["OrderNo"] for o in horizon.state()["sales_orders"]}
    found: dict[str, list[tuple]] = {}
    for note in horizon.state()["delivery_notes"]:
        no = orders[str(note["Order"])]
        assert no not in found, f"a second delivery note for {no}"
        lines = [(line["GTIN"], int(line["Packages"]), Decimal(line["Quantity"]), Decimal(line["Amount"]))
                 for line in note["Lines"]]
        assert Decimal(note["Amount"]) == sum(amount for *_, amount in lines)
        found[no] = lines
    return found


def horizon_and_weighing_writes(horizon, weighing) -> list:
    return [(r["method"], r["path"]) for r in horizon.writes() + weighing.writes()]


def test_eight_orders_weighed_into_the_right_delivery_notes_once(round_trip):
    ledger, horizon, weighing = round_trip

    preview = run_dag(DAG_ID, {"dry_run": True})
    assert preview.state == "success", task_states(preview)
    assert horizon_and_weighing_writes(horizon, weighing) == [], "a dry run writes nowhere"
    assert weighing.state()["orders"] == [] and horizon.state()["delivery_notes"] == []
    assert ledger.execute("SELECT (SELECT count(*) FROM weighing) + (SELECT count(*) FROM transfer_log)"
                          " + (SELECT count(*) FROM watermark) + (SELECT count(*) FROM quarantine)").fetchone()[0] == 0

    weighing.seed(weighings=WEIGHINGS)
    first, asked = run_dag_answering(DAG_ID, lambda asked: (["Create the delivery notes"], {}))

    assert first.state == "success", task_states(first)
    assert sorted(o["order_no"] for o in weighing.state()["orders"]) == [f"SO-{n}" for n in range(1, 9)]
    assert len(asked) == 1 and "2 order(s) outside their tolerance" in asked[0]["subject"]
    assert "SO-3" in asked[0]["body"] and "24.900 kg weighed, 20.000 kg ordered" in asked[0]["body"]
    assert "SO-8" in asked[0]["body"] and "10.200 kg weighed, 12.000 kg ordered" in asked[0]["body"]
    made = notes(horizon)
    assert made == {no: lines for no, lines in EXPECTED.items() if no != "SO-6"}, "SO-6 waits for the offline station"
    waiting = dict(ledger.execute("SELECT source_id, reason FROM quarantine").fetchall())
    assert waiting == {"L71": "label L71: GTIN (01): '04750001000029': The number's checksum or check digit is"
                              " invalid."}
    set_aside = ledger.execute("SELECT source_id, error_text FROM transfer_log WHERE entity = 'label'"
                               " AND action = 'skipped' ORDER BY source_id").fetchall()
    assert [label_id for label_id, _ in set_aside] == ["L41", "L51"]
    assert "duplicate" in set_aside[0][1] and "voided" in set_aside[1][1]

    weighing.seed(online=[OFFLINE])  # the offline station is back: its weighing arrives with its own time
    second, _ = run_dag_answering(DAG_ID, lambda asked: pytest.fail(f"nobody should be asked: {asked['subject']}"))

    assert second.state == "success", task_states(second)
    assert notes(horizon) == EXPECTED
    late = ledger.execute("SELECT station_id, weighed_at::text, delivery_note FROM weighing WHERE label_id = 'L62'"
                          ).fetchone()
    assert late[0] == OFFLINE and late[1].startswith("2026-11-30 05:15:00") and late[2].startswith("WEIGH-")
    written = horizon_and_weighing_writes(horizon, weighing)

    third, _ = run_dag_answering(DAG_ID, lambda asked: pytest.fail("nobody should be asked"))

    assert third.state == "success", task_states(third)
    assert horizon_and_weighing_writes(horizon, weighing) == written, "a run after that writes nothing"
    assert notes(horizon) == EXPECTED
    created = ledger.execute("SELECT source_key, count(*) FROM transfer_log WHERE entity = 'delivery_note'"
                             " AND action = 'created' GROUP BY source_key").fetchall()
    assert sorted(created) == [(f"SO-{n}", 1) for n in range(1, 9)]
    assert ledger.execute("SELECT count(*) FROM weighing WHERE NOT voided AND delivery_note IS NULL").fetchone()[0] == 0


def test_a_delivery_outside_tolerance_waits_until_a_person_creates_it(round_trip):
    ledger, horizon, weighing = round_trip
    weighing.seed(weighings=[w for w in WEIGHINGS if w["order_no"] == "SO-3"])

    declined, asked = run_dag_answering(DAG_ID, lambda asked: (["Do not create"], {}))

    assert declined.state == "success", task_states(declined)
    assert asked[0]["options"] == ["Create the delivery notes", "Do not create"]
    assert horizon.state()["delivery_notes"] == []
    assert ledger.execute("SELECT error_category FROM transfer_log WHERE entity = 'delivery_note'").fetchall() == [
        ("NOT_CONFIRMED",)]

    confirmed, asked = run_dag_answering(DAG_ID, lambda asked: (["Create the delivery notes"], {}))

    assert confirmed.state == "success", task_states(confirmed)
    assert len(asked) == 1
    assert notes(horizon) == {"SO-3": EXPECTED["SO-3"]}


def test_a_label_voided_after_its_note_or_for_no_open_order_waits_in_quarantine(round_trip):
    ledger, horizon, weighing = round_trip
    weighing.seed(weighings=[w for w in WEIGHINGS if w["order_no"] == "SO-1"])
    run_dag(DAG_ID)
    late = posted("L13", 1, label(CHEESE, "10.000", lot="LATE"), at="09:00")
    weighing.seed(weighings=[{**WEIGHINGS[0], "voided": True}, late,
                             {**WEIGHINGS[0], "label_id": "L99", "order_no": "SO-77"}])

    run = run_dag(DAG_ID)

    assert run.state == "success", task_states(run)
    assert notes(horizon) == {"SO-1": EXPECTED["SO-1"]}, "the note stands; nothing else created"
    reasons = dict(ledger.execute("SELECT source_id, reason FROM quarantine").fetchall())
    assert reasons["L11"].startswith("label L11: voided after delivery note WEIGH-")
    assert reasons["L13"].endswith("already has its delivery note (WEIGH-"
                                                       f"{horizon.state()['sales_orders'][0]['pk']}): weighed after"
                                                       " it, not counted")
    assert reasons["L99"] == "label L99: order SO-77 is no registered sales order of weighed goods in Horizon"



@pytest.mark.parametrize("horizon_stored_it", [True, False], ids=["stored", "not stored"])
def test_a_note_whose_answer_was_lost_is_found_by_its_reference_or_created_once(round_trip, horizon_stored_it):
    ledger, horizon, weighing = round_trip
    weighing.seed(weighings=[w for w in WEIGHINGS if w["order_no"] == "SO-1"])
    horizon.faults(respond={"method": "POST", "body": "<resource><entity><pk>", "count": 1})  # a garbled answer

    cut_short = run_dag(DAG_ID)

    assert cut_short.state == "failed", "Horizon may have stored the note: the run must not guess"
    assert ledger.execute("SELECT stage, reference FROM document_transfer").fetchall() == [
        ("in_flight", f"WEIGH-{order_pk(horizon, 'SO-1')}")]
    if horizon_stored_it:  # as Horizon would have, had it stored the note before its answer was lost
        pk, amount = order_pk(horizon, "SO-1"), str(EXPECTED["SO-1"][0][3])
        horizon.seed(delivery_notes=[{"Order": pk, "Reference": f"WEIGH-{pk}", "Date": "2026-11-30", "Amount": amount,
                                      "Lines": [{"LineNo": "1", "ItemCode": "CHEESE", "GTIN": CHEESE, "Packages": "2",
                                                 "Quantity": "20.150", "Price": "8.95", "Amount": amount,
                                                 "Lots": "L2611"}]}])

    rerun = run_dag(DAG_ID)

    assert rerun.state == "success", task_states(rerun)
    assert notes(horizon) == {"SO-1": EXPECTED["SO-1"]}, "one note, never two"
    (text,) = ledger.execute("SELECT error_text FROM transfer_log WHERE entity = 'delivery_note'").fetchone()
    assert text.startswith("found in Horizon by its reference") == horizon_stored_it
    assert ledger.execute("SELECT count(*) FROM weighing WHERE delivery_note IS NULL").fetchone()[0] == 0


def order_pk(horizon, order_no: str) -> int:
    return next(o["pk"] for o in horizon.state()["sales_orders"] if o["OrderNo"] == order_no)
