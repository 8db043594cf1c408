"""Migration 007 on a ledger written by the schema before it (001-006) with the SQL the code of that time ran:
every row is kept, in the default company, under the DAG id as its flow and the system its source id is of."""

from __future__ import annotations

from importlib import resources

import pytest

from erpbridge.company import DEFAULT_COMPANY
from erpbridge.ledger.store import Ledger

SEVERA_GUID = "0b3b82e6-5c1e-4d3a-9a57-0c8f1e0a2b11"

# The statements of erpbridge.ledger (store, review, reservations) before migration 007.
OLD_ID_MAP = ("INSERT INTO id_map (flow, entity, source_id, target_id, content_hash) VALUES (%s, %s, %s, %s, %s)")
OLD_WATERMARK = "INSERT INTO watermark (flow, stream, value) VALUES (%s, %s, %s)"
OLD_QUARANTINE = ("INSERT INTO quarantine (flow, entity, source_id, source_key, reason, error_category, payload)"
                  " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb)")
OLD_DOCUMENT = ("INSERT INTO document_transfer (flow, entity, source_id, source_key, reference, stage, target_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)")
OLD_LOG = ("INSERT INTO transfer_log (flow, entity, source_id, source_key, target_id, action, error_category,"
           " error_text, dag_id, run_id, task_id, try_number) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
OLD_BATCH = ("INSERT INTO payroll_batch (flow, period_start, period_end, dag_id, run_id)"
             " VALUES (%s, %s, %s, %s, %s) RETURNING id")
OLD_RESERVATION = "INSERT INTO eshop_reservation (shop, shop_order_id, sku, quantity) VALUES (%s, %s, %s, %s)"

# (old flow, entity, source id) -> (flow after 007, system)
ID_ROWS = {
    ("severa_netvisor", "customer", SEVERA_GUID): ("severa_netvisor_registers", "severa"),
    ("severa_netvisor", "product", "1042"): ("severa_netvisor_registers", "netvisor"),  # Netvisor -> Severa
    ("severa_netvisor", "business_unit", "a1b2c3d4-0000-4000-8000-000000000001"): ("severa_netvisor_registers", "severa"),
    ("severa_netvisor_sales_invoices", "sales_invoice", "9f0e8d7c-0000-4000-8000-000000000002"):
        ("severa_netvisor_sales_invoices", "severa"),
    ("netvisor_severa_purchase_invoices", "purchase_invoice", "311"): ("netvisor_severa_purchase_invoices", "netvisor"),
    ("standardbooks_envoice_master_data", "supplier", "S-100"): ("standardbooks_envoice_master_data", "standard_books"),
    ("envoice_standardbooks_documents", "purchase_document", "doc-77"):
        ("envoice_standardbooks_purchase_documents", "envoice"),
    ("horizon_ad", "ad_account", "E1001"): ("horizon_ad_accounts", "visma_horizon"),
    ("eshop_erp_orders", "customer_order", "5001"): ("eshop_erp_orders", "woocommerce"),
    ("eshop_erp_orders", "erp_product", "SKU-1"): ("eshop_erp_orders", "fakturownia"),
    ("eshop_erp_payments", "sales_document", "5001"): ("eshop_erp_payments", "woocommerce"),
    ("erp_eshop_catalog", "catalog_item", "SKU-1"): ("erp_eshop_catalog", "fakturownia"),
    ("erp_eshop_catalog", "shop_product", "SKU-1"): ("erp_eshop_catalog", "woocommerce"),
    ("someone_elses_flow", "thing", "x-1"): ("someone_elses_flow", "unknown"),  # kept, not guessed
}
# (old flow, stream) -> (flow after 007, system)
WATERMARKS = {
    ("severa_netvisor", "customer"): ("severa_netvisor_registers", "severa"),
    ("severa_netvisor", "product"): ("severa_netvisor_registers", "netvisor"),  # its id map rows are Netvisor's
    ("severa_netvisor", "project"): ("severa_netvisor_registers", "severa"),
    ("standardbooks_envoice_master_data", "supplier"): ("standardbooks_envoice_master_data", "standard_books"),
    ("eshop_erp_orders", "shop_orders"): ("eshop_erp_orders", "woocommerce"),
    ("eshop_erp_orders", "erp_product"): ("eshop_erp_orders", "fakturownia"),
    ("erp_eshop_catalog", "erp_products"): ("erp_eshop_catalog", "fakturownia"),
}


def migrate_before_007(conn) -> None:
    """The schema of 001-006, recorded as applied (what Ledger.migrate did before 007 existed)."""
    folder = resources.files("erpbridge.ledger").joinpath("migrations")
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql") and p.name < "007"), key=lambda p: p.name)
    assert [p.name[:3] for p in scripts] == ["001", "002", "003", "004", "005", "006"]
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE schema_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        for script in scripts:
            cur.execute(script.read_text(encoding="utf-8"))
            cur.execute("INSERT INTO schema_migration (name) VALUES (%s)", (script.name,))


def fill_as_before(conn) -> None:
    with conn.cursor() as cur:
        for n, (flow, entity, source_id) in enumerate(ID_ROWS):
            cur.execute(OLD_ID_MAP, (flow, entity, source_id, f"t-{n}", "h"))
            cur.execute(OLD_QUARANTINE, (flow, entity, source_id, f"K{n}", "refused", "INVALID_DATA", '{"a": 1}'))
            cur.execute(OLD_DOCUMENT, (flow, entity, source_id, f"K{n}", f"ref-{n}", "done", f"t-{n}"))
            for action in ("created", "rejected"):
                cur.execute(OLD_LOG, (flow, entity, source_id, f"K{n}", f"t-{n}", action, None, None, flow, "r1",
                                      "t", 1))
        for flow, stream in WATERMARKS:
            cur.execute(OLD_WATERMARK, (flow, stream, "2026-11-01T00:00:00+00:00"))
        cur.execute(OLD_LOG, ("horizon_payroll", "payroll_time", "E1/2026-11-02/NORMAL", "E1", "p1", "created", None,
                              None, "horizon_payroll_time_import", "r1", "load", 1))
        cur.execute(OLD_BATCH, ("horizon_payroll", "2026-11-01", "2026-11-15", "horizon_payroll_time_import", "r1"))
        cur.execute(OLD_RESERVATION, ("woocommerce_default", "5001", "SKU-1", 2))


def rows(conn, query: str) -> list[tuple]:
    return sorted(conn.execute(query).fetchall(), key=repr)


@pytest.fixture
def migrated(ledger):
    migrate_before_007(ledger)
    fill_as_before(ledger)
    counts = {table: ledger.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in
              ("id_map", "quarantine", "document_transfer", "transfer_log", "watermark", "payroll_batch",
               "eshop_reservation", "payroll_row")}
    assert Ledger(ledger, "-").migrate()[0] == "007_company_system.sql"  # then any later migration
    return ledger, counts


def test_every_row_is_kept_with_its_company_flow_and_system(migrated):
    conn, counts_before = migrated
    for table, count in counts_before.items():
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count, table
    expected_ids = sorted([(DEFAULT_COMPANY, *ID_ROWS[key][:1], key[1], ID_ROWS[key][1], key[2]) for key in ID_ROWS],
                          key=repr)
    for table in ("id_map", "quarantine", "document_transfer"):
        assert rows(conn, f"SELECT company, flow, entity, system, source_id FROM {table}") == expected_ids, table
    assert rows(conn, "SELECT company, flow, system, stream FROM watermark") == sorted(
        [(DEFAULT_COMPANY, flow, system, key[1]) for key, (flow, system) in WATERMARKS.items()], key=repr)
    logged = rows(conn, "SELECT company, flow, entity, system, source_id FROM transfer_log WHERE entity <> 'payroll_time'")
    assert logged == sorted(expected_ids * 2, key=repr)
    assert conn.execute("SELECT company, flow, system FROM transfer_log WHERE entity = 'payroll_time'").fetchall() == [
        (DEFAULT_COMPANY, "horizon_payroll_time_import", None)]  # employee/day/type: an id of no system
    assert conn.execute("SELECT company, flow FROM payroll_batch").fetchall() == [
        (DEFAULT_COMPANY, "horizon_payroll_time_import")]
    assert conn.execute("SELECT company, shop, system, shop_order_id, sku, quantity FROM eshop_reservation").fetchall() \
        == [(DEFAULT_COMPANY, "woocommerce_default", "woocommerce", "5001", "SKU-1", 2)]
    kept = conn.execute("SELECT target_id, content_hash FROM id_map WHERE source_id = %s", (SEVERA_GUID,)).fetchall()
    assert kept == [("t-0", "h")]


def test_the_ledger_reads_migrated_rows_by_company_and_system(migrated):
    conn, _ = migrated
    registers = Ledger(conn, "severa_netvisor_registers")
    assert registers.of("severa").mappings("customer", [SEVERA_GUID]) == {SEVERA_GUID: ("t-0", "h")}
    assert registers.of("netvisor").mappings("customer", [SEVERA_GUID]) == {}
    assert registers.of("severa").quarantined("customer") == [SEVERA_GUID]
    assert registers.of("netvisor").quarantined("customer") == []
    assert registers.of("netvisor").watermark("product") == "2026-11-01T00:00:00+00:00"
    assert registers.of("severa").watermark("product") is None
    assert Ledger(conn, "severa_netvisor_registers", company="acme").of("severa").mappings("customer", [SEVERA_GUID]) == {}


def test_keys_include_company_and_system(migrated):
    conn, _ = migrated
    for company in ("acme", "globex"):
        ledger = Ledger(conn, "severa_netvisor_registers", company=company).of("severa")
        ledger.remember("customer", SEVERA_GUID, f"{company}-target", "h2")
        ledger.quarantine("customer", SEVERA_GUID, "K", "refused", "INVALID_DATA", None)
        ledger.set_watermark("customer", company)
    targets = conn.execute("SELECT company, target_id FROM id_map WHERE source_id = %s ORDER BY company",
                           (SEVERA_GUID,)).fetchall()
    assert targets == [("acme", "acme-target"), ("default", "t-0"), ("globex", "globex-target")]
    assert conn.execute("SELECT count(*) FROM quarantine WHERE source_id = %s", (SEVERA_GUID,)).fetchone()[0] == 3
    assert Ledger(conn, "severa_netvisor_registers", company="acme").of("severa").watermark("customer") == "acme"
    unique_keys = conn.execute("SELECT tablename, indexdef FROM pg_indexes WHERE indexdef LIKE 'CREATE UNIQUE%%'"
                               " AND tablename IN ('id_map', 'watermark', 'quarantine', 'document_transfer',"
                               " 'eshop_reservation')").fetchall()
    assert len(unique_keys) == 6
    for table, definition in unique_keys:
        assert "company" in definition and "system" in definition, (table, definition)


def test_an_unscoped_ledger_refuses_to_guess_the_system(migrated):
    conn, _ = migrated
    with pytest.raises(ValueError, match="severa_netvisor_registers.*which system"):
        Ledger(conn, "severa_netvisor_registers").mappings("customer", [SEVERA_GUID])


def test_gone_leaves_the_quarantine_with_a_reason(migrated):
    conn, _ = migrated
    ledger = Ledger(conn, "severa_netvisor_registers").of("severa")
    ledger.gone("customer", {SEVERA_GUID: "Severa says customer 0b3b82e6 does not exist"})
    assert ledger.quarantined("customer") == []
    assert conn.execute("SELECT company, system, source_key, action, error_text FROM transfer_log"
                        " WHERE action = 'gone'").fetchall() == [
        (DEFAULT_COMPANY, "severa", "K0", "gone", "Severa says customer 0b3b82e6 does not exist")]
