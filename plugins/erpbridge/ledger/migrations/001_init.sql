-- The ledger: what the integrations remember between runs.
CREATE TABLE IF NOT EXISTS id_map (
    flow         text NOT NULL,
    entity       text NOT NULL,
    source_id    text NOT NULL,
    target_id    text NOT NULL,
    content_hash text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow, entity, source_id)
);

CREATE TABLE IF NOT EXISTS watermark (
    flow       text NOT NULL,
    stream     text NOT NULL,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow, stream)
);

CREATE TABLE IF NOT EXISTS transfer_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    flow           text NOT NULL,
    entity         text NOT NULL,
    source_id      text NOT NULL,
    source_key     text,
    target_id      text,
    action         text NOT NULL CHECK (action IN ('created', 'updated', 'unchanged', 'rejected', 'failed', 'skipped', 'dismissed')),
    error_category text,
    error_text     text,
    dag_id         text,
    run_id         text,
    task_id        text,
    try_number     integer
);
CREATE INDEX IF NOT EXISTS transfer_log_flow_at ON transfer_log (flow, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS transfer_log_source ON transfer_log (flow, entity, source_id);
CREATE INDEX IF NOT EXISTS transfer_log_source_key ON transfer_log (source_key);

CREATE TABLE IF NOT EXISTS quarantine (
    flow           text NOT NULL,
    entity         text NOT NULL,
    source_id      text NOT NULL,
    source_key     text,
    reason         text NOT NULL,
    error_category text,
    payload        jsonb,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    attempts       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (flow, entity, source_id)
);
