-- Flow C (R-C.3): work time staged for a person's review before it goes to Horizon payroll.
CREATE TABLE IF NOT EXISTS payroll_batch (
    id            bigserial PRIMARY KEY,
    flow          text NOT NULL,
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    status        text NOT NULL DEFAULT 'staged'
                  CHECK (status IN ('staged', 'rejected', 'loading', 'loaded', 'loaded_with_errors')),
    decision      text,             -- the option the reviewer chose
    reason        text,             -- the reviewer's reason (a rejection keeps it)
    decided_by    text,
    decided_at    timestamptz,
    dag_id        text,
    run_id        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    loaded_at     timestamptz
);
CREATE INDEX IF NOT EXISTS payroll_batch_period ON payroll_batch (flow, period_start, period_end, id DESC);

CREATE TABLE IF NOT EXISTS payroll_row (
    id             bigserial PRIMARY KEY,
    batch_id       bigint NOT NULL REFERENCES payroll_batch (id) ON DELETE CASCADE,
    source         text NOT NULL,    -- 'severa' or 'csv'
    source_ref     text NOT NULL,    -- Severa workhour guid, or file name:line
    employee_code  text,
    work_date      date,
    time_type      text,
    hours          numeric(6, 2),
    comment        text,
    flags          text[] NOT NULL DEFAULT '{}',  -- each problem found, in words
    duplicate      boolean NOT NULL DEFAULT false, -- a copy of an earlier row: never loaded twice
    status         text NOT NULL DEFAULT 'staged'
                   CHECK (status IN ('staged', 'excluded', 'loaded', 'refused')),
    error_text     text
);
CREATE INDEX IF NOT EXISTS payroll_row_batch ON payroll_row (batch_id, employee_code, work_date);
