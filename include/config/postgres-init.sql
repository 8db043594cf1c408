-- Mounted into the postgres service's /docker-entrypoint-initdb.d by docker-compose.yaml: runs once,
-- when the data volume is first initialised, as POSTGRES_USER (airflow), who owns the new database.
-- The erpbridge_ledger connection points at it; the DAGs' migrate_ledger task creates the tables.
CREATE DATABASE ledger;
