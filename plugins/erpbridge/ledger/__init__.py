"""The PostgreSQL ledger: id map, watermarks, transfer log, quarantine."""
