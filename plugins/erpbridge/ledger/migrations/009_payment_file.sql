-- Payroll payment files (issue 18): every pain.001 file written for a payroll run and paying account, so that
-- a run is paid once. A rerun rebuilds the same file from the same message id and creation time (and checks
-- its hash); a file with other payments for the same run and account is a new version a person confirmed.
CREATE TABLE IF NOT EXISTS payment_file (
    company        text NOT NULL,
    flow           text NOT NULL,
    run_pk         text NOT NULL,          -- the payroll run in Horizon
    payer_iban     text NOT NULL,          -- the company account paying (one file per account)
    version        integer NOT NULL,       -- 1 = the run's first file for the account; more only when confirmed
    msg_id         text NOT NULL UNIQUE,   -- GrpHdr/MsgId
    created        timestamp NOT NULL,     -- GrpHdr/CreDtTm, kept so a rerun builds the identical file
    file_name      text NOT NULL,
    payments_hash  text NOT NULL,          -- what is paid (ids, accounts, amounts): equal hash = same payments
    file_sha256    text,                   -- of the bytes written; NULL while the file is being written
    payments       integer NOT NULL,
    control_sum    numeric(18, 2) NOT NULL,
    confirmed_by   text,                   -- who allowed a second version
    written_at     timestamptz,
    PRIMARY KEY (company, flow, run_pk, payer_iban, version)
);
