-- horizon_weighing: every label read from the weighing system, once per label id whenever it arrived (a station
-- that was offline sends late). A label counts in at most one delivery note (delivery_note = the note's
-- reference, set in the transaction that starts the note's transfer); a voided label never counts.
CREATE TABLE IF NOT EXISTS weighing (
    company       text NOT NULL,
    flow          text NOT NULL,
    label_id      text NOT NULL,
    order_no      text NOT NULL,
    station_id    text NOT NULL,
    weighed_at    timestamptz NOT NULL,
    seq           bigint NOT NULL,          -- the weighing system's cursor when it was read
    label         text NOT NULL,            -- the GS1-128 data as posted
    gtin          text,                     -- null for a label known only as voided
    net_kg        numeric,
    lot           text,
    pack_date     date,
    voided        boolean NOT NULL DEFAULT false,
    delivery_note text,
    PRIMARY KEY (company, flow, label_id)
);
CREATE INDEX IF NOT EXISTS weighing_order ON weighing (company, flow, order_no);
