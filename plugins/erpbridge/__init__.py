"""erpbridge: Airflow integrations between business systems (hooks, mappings, sync engines, ledger)."""
