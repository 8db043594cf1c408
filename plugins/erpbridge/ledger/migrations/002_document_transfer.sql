-- Document transfer: one row per source document, written BEFORE the post ("in_flight") with a
-- deterministic external reference, so a crash between the post and the ledger write is resolved on
-- the rerun by looking the reference up in the target, never by a second post.
CREATE TABLE IF NOT EXISTS document_transfer (
    flow       text NOT NULL,
    entity     text NOT NULL,
    source_id  text NOT NULL,
    source_key text,
    reference  text NOT NULL,
    target_id  text,
    stage      text NOT NULL CHECK (stage IN ('in_flight', 'posted', 'attached', 'completed', 'done')),
    attempts   integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow, entity, source_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS document_transfer_reference ON document_transfer (flow, reference);
