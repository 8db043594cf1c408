-- The control room (issue 6): who dismissed a quarantined record and why, and indexes for the
-- transfer history's keyset paging (newest first on (at, id)) under its filters.
ALTER TABLE transfer_log ADD COLUMN IF NOT EXISTS comment text;
ALTER TABLE transfer_log ADD COLUMN IF NOT EXISTS actor text;

CREATE INDEX IF NOT EXISTS transfer_log_at ON transfer_log (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS transfer_log_action_at ON transfer_log (action, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS transfer_log_entity_at ON transfer_log (entity, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS transfer_log_source_id ON transfer_log (source_id);
CREATE INDEX IF NOT EXISTS transfer_log_target_id ON transfer_log (target_id);

-- Edits a reviewer makes to a staged payroll row (003) before the batch is decided: one row per
-- changed field, kept after the batch is loaded (no foreign key: the history outlives the rows).
CREATE TABLE IF NOT EXISTS payroll_row_edit (
    id         bigserial PRIMARY KEY,
    batch_id   bigint NOT NULL,
    row_id     bigint NOT NULL,
    field      text NOT NULL,
    old_value  text,
    new_value  text,
    old_flags  text[] NOT NULL DEFAULT '{}',
    note       text,
    actor      text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payroll_row_edit_batch ON payroll_row_edit (batch_id, row_id, id);
