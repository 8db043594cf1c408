-- The control room shows each user only the records of DAGs whose runs they may read (issue 14):
-- the distinct DAG ids of the transfer log, read by a loose index scan, and the filter by DAG.
CREATE INDEX IF NOT EXISTS transfer_log_dag_at ON transfer_log (dag_id, at DESC, id DESC);
