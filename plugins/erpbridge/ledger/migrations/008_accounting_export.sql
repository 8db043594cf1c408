-- Exchange files written for accounting programs (issue 17). A file's bytes are recorded here in the same
-- transaction as its documents' document_transfer rows (stage 'in_flight', target_id = the file's name)
-- BEFORE the file is written and before the hub is marked, so the next run finishes a crashed one from these
-- bytes: an unwritten file is written, an unmarked document marked; none goes into a second file.
CREATE TABLE IF NOT EXISTS accounting_export_file (
    company          text NOT NULL,
    flow             text NOT NULL,
    file_name        text NOT NULL,
    destination      text NOT NULL,
    content          bytea NOT NULL,
    sha256           text NOT NULL,
    documents        integer NOT NULL CHECK (documents > 0),
    first_issue_date date NOT NULL,
    last_issue_date  date NOT NULL,
    written_at       timestamptz,  -- null until the file is in the destination under its name
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company, flow, file_name)
);
CREATE INDEX IF NOT EXISTS accounting_export_file_period ON accounting_export_file (company, flow, first_issue_date, last_issue_date);
