"""eshop_erp_orders end to end: dag.test() against the WooCommerce and Fakturownia simulators over HTTP and a
real ledger. Each order -> one customer order (ZK) exactly once, the customer card matched or made, totals
and VAT per rate equal to the grosz; bad orders refused with their reason, the rest unaffected."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.flows.dagrun import run_dag, task_states
from tests.flows.eshop_shop import (ESHOP_WAREHOUSE, NIP_COMPANY, NIP_RETURNING, NIP_WRONG, SENT_TO_STORE,
                                    STORE_WAREHOUSE, Shop, seed)

DAG = "eshop_erp_orders"


@pytest.fixture
def shop(airflow_db, ledger, woocommerce, fakturownia, monkeypatch) -> Shop:
    seed(woocommerce, fakturownia)
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({"eshop_warehouse_id": ESHOP_WAREHOUSE}))
    return Shop(woocommerce)


def erp_orders(fakturownia) -> dict[str, dict]:
    return {i["oid"]: i for i in fakturownia.state()["invoices"] if i["kind"] == "estimate"}


def quarantine(ledger) -> dict[str, str]:
    return dict(ledger.execute("SELECT source_key, reason FROM quarantine").fetchall())


def vat_per_rate(order: dict) -> dict[str, Decimal]:
    rates = {t["rate_id"]: t["rate_percent"] for t in order["tax_lines"]}
    return {f"{rates[t['rate_id']]:g}": Decimal(t["tax_total"]) + Decimal(t["shipping_tax_total"])
            for t in order["tax_lines"]}


def erp_vat_per_rate(invoice: dict) -> dict[str, Decimal]:
    vat: dict[str, Decimal] = {}
    for p in invoice["positions"]:
        vat[p["tax"]] = vat.get(p["tax"], Decimal(0)) + Decimal(p["total_price_gross"]) - Decimal(p["total_price_net"])
    return vat


def test_every_kind_of_order_becomes_one_customer_order(shop, ledger, fakturownia):
    guest = shop.order({"MUG-01": 2, "BOOK-01": 1}, coupon="rabat10")
    company = shop.order({"CAKE-01": 1}, email="biuro@abc.pl", company="ABC Sp. z o.o.", nip=NIP_COMPANY, fee="5.00")
    returning = shop.order({"TEE-M": 1}, email="inny@staly.pl", company="Stały Klient", nip="PL " + NIP_RETURNING)
    guest_again = shop.order({"TEE-L": 2}, email="ANNA@example.pl", shipping=None)
    waiting = shop.order({"MUG-01": 1}, paid=False)  # pending payment: waits
    run = run_dag(DAG)
    assert task_states(run)["import_orders"] == "success"

    made = erp_orders(fakturownia)
    assert sorted(made) == sorted(f"WC-{o['number']}" for o in (guest, company, returning, guest_again))
    assert f"WC-{waiting['number']}" not in made
    for order in (guest, company, returning, guest_again):
        zk = made[f"WC-{order['number']}"]
        assert (zk["price_gross"], zk["warehouse_id"], zk["oid_unique"]) == (order["total"], ESHOP_WAREHOUSE, "yes")
        assert erp_vat_per_rate(zk) == {rate: amount for rate, amount in vat_per_rate(order).items() if amount}
    codes = {p["code"] for p in made[f"WC-{guest['number']}"]["positions"] if p["code"]}
    assert codes == {"MUG-01", "BOOK-01"} and "rabat10" in made[f"WC-{guest['number']}"]["description"]
    assert [p["name"] for p in made[f"WC-{company['number']}"]["positions"]] == [
        "Tort urodzinowy", "Wysyłka: Kurier", "Pakowanie na prezent"]

    clients = {c["id"]: c for c in fakturownia.state()["clients"]}
    by_order = {o["number"]: clients[made[f"WC-{o['number']}"]["client_id"]] for o in (guest, company, returning,
                                                                                       guest_again)}
    assert by_order[company["number"]]["tax_no"] == NIP_COMPANY and by_order[company["number"]]["company"]
    assert by_order[returning["number"]]["name"] == "Stały Klient Sp. z o.o."  # the existing card, by NIP
    assert by_order[guest["number"]]["id"] == by_order[guest_again["number"]]["id"]  # a returning guest, by e-mail
    assert len(clients) == 3  # the seeded one, the company and the guest: never a second card

    writes = fakturownia.last_seq()
    again = run_dag(DAG)
    assert task_states(again)["import_orders"] == "success"
    assert fakturownia.writes(since=writes) == []  # a second run changes nothing


def test_bad_orders_are_refused_with_their_reason_and_the_rest_move(shop, ledger, fakturownia, woocommerce):
    good = shop.order({"MUG-01": 1})
    unknown_sku = shop.order({"MUG-01": 1})
    wrong_nip = shop.order({"MUG-01": 1}, nip=NIP_WRONG, company="Zła Firma")
    euro = shop.quirky(good, currency="EUR")
    negative = shop.quirky(good, line_items=[good["line_items"][0] | {"quantity": -1}])
    one_grosz_less = str(Decimal(good["tax_lines"][0]["tax_total"]) - Decimal("0.01"))
    vat_grosz = shop.quirky(good, tax_lines=[good["tax_lines"][0] | {"tax_total": one_grosz_less}])
    odd_status = shop.quirky(good, status="wyslane-do-sklepu")
    unknown = shop.quirky(unknown_sku, line_items=[unknown_sku["line_items"][0] | {"sku": "NOPE-404"}])

    run = run_dag(DAG)
    assert task_states(run)["import_orders"] == "success"
    assert list(erp_orders(fakturownia)) == [f"WC-{good['number']}", f"WC-{unknown_sku['number']}"]
    reasons = quarantine(ledger)
    assert "SKU NOPE-404 is not a product code in Fakturownia" in reasons[f"order {unknown['number']}"]
    assert f"NIP '{NIP_WRONG}' (order meta _billing_nip) is not a valid Polish NIP" in reasons[
        f"order {wrong_nip['number']}"]
    assert "currency 'EUR'" in reasons[f"order {euro['number']}"]
    assert "quantity -1 is not a positive whole number" in reasons[f"order {negative['number']}"]
    assert "VAT 23 %: its lines carry 12.42, its tax line says 12.41 (difference 0.01)" in reasons[
        f"order {vat_grosz['number']}"]
    assert "status 'wyslane-do-sklepu' is not in the status map" in reasons[f"order {odd_status['number']}"]
    assert len(reasons) == 6


def test_a_cancelled_order_rejects_its_customer_order_once(shop, ledger, fakturownia):
    order = shop.order({"MUG-01": 1}, paid=False, status="on-hold")
    run_dag(DAG)
    zk = erp_orders(fakturownia)[f"WC-{order['number']}"]
    shop.set_status(order, "cancelled")
    run_dag(DAG)
    assert erp_orders(fakturownia)[f"WC-{order['number']}"]["status"] == "rejected"
    writes = fakturownia.last_seq()
    run_dag(DAG)
    assert fakturownia.writes(since=writes) == []
    assert zk["status"] == "issued"


def landed_zk(fakturownia, order: dict, gross: list[tuple[str, str]]) -> int:
    """A ZK for ``order`` already in the ERP (a post whose answer was lost): positions (name, gross) at 23 %."""
    return fakturownia.seed(invoices=[{"kind": "estimate", "oid": f"WC-{order['number']}", "oid_unique": "yes",
                                       "buyer_name": "Anna Nowak", "positions": [
                                           {"name": name, "quantity": 1, "tax": "23", "total_price_gross": amount}
                                           for name, amount in gross]}])["invoices"][0]


def test_a_customer_order_already_in_the_erp_is_adopted_not_posted_again(shop, ledger, fakturownia):
    order = shop.order({"MUG-01": 1})  # 39.00 + 8.97 VAT, shipping 15.00 + 3.45
    landed = landed_zk(fakturownia, order, [("Kubek ceramiczny", "47.97"), ("Wysyłka: Kurier", "18.45")])
    run = run_dag(DAG)
    assert task_states(run)["import_orders"] == "success"
    assert [i["id"] for i in fakturownia.state()["invoices"] if i["oid"] == f"WC-{order['number']}"] == [landed]
    row = ledger.execute("SELECT stage, target_id FROM document_transfer WHERE source_id = %s",
                         (str(order["id"]),)).fetchone()
    assert row == ("done", str(landed))


def test_erp_totals_that_differ_are_reported_never_absorbed(shop, ledger, fakturownia):
    order = shop.order({"MUG-01": 1}, shipping=None)
    landed = landed_zk(fakturownia, order, [("Kubek ceramiczny", "47.98")])
    number = next(i["number"] for i in fakturownia.state()["invoices"] if i["id"] == landed)
    run_dag(DAG)
    assert quarantine(ledger)[f"order {order['number']}"] == (
        f"WC-{order['number']}: the ERP's customer order {number} totals 47.98 with VAT 23 %: 8.97, the shop's "
        "order 47.97 with VAT 23 %: 8.97; correct the customer order in the ERP")
    writes = fakturownia.last_seq()
    run_dag(DAG)
    assert fakturownia.writes(since=writes) == []  # asked again, never posted again


def test_a_refused_post_leaves_nothing_and_the_next_run_moves_it(shop, ledger, fakturownia):
    order = shop.order({"MUG-01": 1})
    fakturownia.faults(respond={"path": "/invoices.json", "method": "POST", "status": 502, "body": "Bad gateway",
                                "content_type": "text/html"})
    first = run_dag(DAG)
    assert task_states(first)["import_orders"] == "failed"  # the ERP did not act; the run says so
    assert erp_orders(fakturownia) == {}
    second = run_dag(DAG)
    assert task_states(second)["import_orders"] == "success"
    assert list(erp_orders(fakturownia)) == [f"WC-{order['number']}"]


def test_a_pickup_order_sent_to_its_store_moves_there_once(shop, ledger, fakturownia, woocommerce, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_ESHOP_ERP", json.dumps({
        "eshop_warehouse_id": ESHOP_WAREHOUSE, "pickup_locations": {"Sklep Kraków": STORE_WAREHOUSE},
        "status_map": {"pending": "wait", "processing": "order", "completed": "order", "cancelled": "cancel",
                       SENT_TO_STORE: "to_store"}}))
    pickup = shop.order({"MUG-01": 2}, pickup="Sklep Kraków")
    elsewhere = shop.order({"MUG-01": 1}, pickup="Sklep Gdańsk")
    run_dag(DAG)
    assert list(erp_orders(fakturownia)) == [f"WC-{pickup['number']}"]
    assert "pickup location 'Sklep Gdańsk' is not in the setting pickup_locations" in quarantine(ledger)[
        f"order {elsewhere['number']}"]
    held = ledger.execute("SELECT sku, quantity FROM eshop_reservation WHERE shop_order_id = %s",
                          (str(pickup["id"]),)).fetchall()
    assert [(sku, int(q)) for sku, q in held] == [("MUG-01", 2)]  # reserved in the e-shop warehouse

    shop.set_status(pickup, SENT_TO_STORE)
    run_dag(DAG)
    (transfer,) = fakturownia.state()["warehouse_documents"]
    assert (transfer["kind"], transfer["warehouse_id"]) == ("mm", ESHOP_WAREHOUSE)
    assert [(a["quantity"], a["warehouse2_id"]) for a in transfer["warehouse_actions"]] == [("2.0", STORE_WAREHOUSE)]
    mug = next(p for p in fakturownia.state()["products"] if p["code"] == "MUG-01")
    assert mug["stock"] == {str(ESHOP_WAREHOUSE): "18.0", str(STORE_WAREHOUSE): "2.0"}
    assert ledger.execute("SELECT count(*) FROM eshop_reservation WHERE shop_order_id = %s",
                          (str(pickup["id"]),)).fetchone()[0] == 0
    notes = [n["note"] for n in shop.api.get(f"orders/{pickup['id']}/notes").json()]
    assert notes == [f"Przesunięcie do sklepu {transfer['number']} (Fakturownia)"]
    writes = fakturownia.last_seq()
    run_dag(DAG)
    assert fakturownia.writes(since=writes) == []  # the MM once
    run_dag("eshop_erp_payments")
    assert f"WC-{pickup['number']}/sale" not in {i["oid"] for i in fakturownia.state()["invoices"]}  # the store's


@pytest.mark.parametrize("dag_id", ["eshop_erp_orders", "eshop_erp_payments", "erp_eshop_catalog"])
def test_a_dry_run_writes_nothing_anywhere(shop, ledger, woocommerce, fakturownia, dag_id):
    """The preview reads what it needs (the ERP's product codes, the shop's SKUs) into memory only: the ledger,
    the shop and the ERP stay as they were."""
    shop.order({"MUG-01": 2, "BOOK-01": 1})
    shop_seq, erp_seq = woocommerce.last_seq(), fakturownia.last_seq()

    run = run_dag(dag_id, {"dry_run": True})

    assert run.state == "success", task_states(run)
    assert woocommerce.writes(shop_seq) == [] and fakturownia.writes(erp_seq) == []
    tables = [t for (t,) in ledger.execute("SELECT table_name FROM information_schema.tables WHERE table_schema ="
                                           " 'public' AND table_name <> 'schema_migration'")]
    assert {t: n for t in tables if (n := ledger.execute(f"SELECT count(*) FROM {t}").fetchone()[0])} == {}


def test_a_quarantined_order_the_shop_no_longer_has_leaves_as_gone(shop, ledger, fakturownia):
    refused = shop.order({"MUG-01": 1}, nip=NIP_WRONG, company="Zła Firma")
    assert run_dag(DAG).state == "success"
    ledger.execute("INSERT INTO quarantine (flow, system, entity, source_id, source_key, reason)"
                   " VALUES (%s, 'woocommerce', 'customer_order', '999999', 'order 999999', 'refused')", (DAG,))

    run = run_dag(DAG)

    assert task_states(run)["import_orders"] == "success"
    assert list(quarantine(ledger)) == [f"order {refused['number']}"]  # still in the shop: still waiting
    assert ledger.execute("SELECT source_id, error_text FROM transfer_log WHERE action = 'gone'").fetchall() == [
        ("999999", "the shop has no order 999999 any more")]
