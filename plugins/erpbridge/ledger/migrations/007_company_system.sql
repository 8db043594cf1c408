-- Many companies on one installation (issue 15). Every row carries the company it belongs to and, where it
-- holds a source id, the system that id belongs to; every key includes them, so id maps, watermarks and
-- quarantine never cross companies or directions (a register switched from Severa -> Netvisor to
-- Netvisor -> Severa no longer reads the old direction's Severa guids from Netvisor). Ledger flow names
-- become the DAG ids. Existing rows move to the default company ('default' = erpbridge.company).

-- 1. Flow names = DAG ids.
CREATE TEMPORARY TABLE flow_rename (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP;
INSERT INTO flow_rename VALUES
    ('severa_netvisor', 'severa_netvisor_registers'),
    ('envoice_standardbooks_documents', 'envoice_standardbooks_purchase_documents'),
    ('horizon_ad', 'horizon_ad_accounts'),
    ('horizon_payroll', 'horizon_payroll_time_import');
UPDATE id_map t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;
UPDATE watermark t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;
UPDATE quarantine t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;
UPDATE document_transfer t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;
UPDATE transfer_log t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;
UPDATE payroll_batch t SET flow = r.new FROM flow_rename r WHERE t.flow = r.old;

-- 2. The system each existing source id belongs to, as the code before this migration meant it
--    (flow, entity or watermark stream -> system). NULL entity: every entity of the flow.
CREATE TEMPORARY TABLE source_system (flow text NOT NULL, entity text, system text NOT NULL) ON COMMIT DROP;
INSERT INTO source_system VALUES
    -- Severa -> Netvisor registers: business units and projects always come from Severa; customers and
    -- products from either side (the register's direction setting), resolved below by the id's shape.
    ('severa_netvisor_registers', NULL, 'severa'),
    ('severa_netvisor_sales_invoices', NULL, 'severa'),     -- Severa invoice guids
    ('severa_netvisor_hours', NULL, 'severa'),              -- Severa user guid + day
    ('severa_netvisor_travel_invoices', NULL, 'severa'),    -- Severa travel invoice guids
    ('netvisor_severa_purchase_invoices', NULL, 'netvisor'),-- Netvisor purchase invoice keys
    ('standardbooks_envoice_master_data', NULL, 'standard_books'), -- Standard Books register codes
    ('envoice_standardbooks_purchase_documents', NULL, 'envoice'), -- Envoice document ids
    ('horizon_ad_accounts', NULL, 'visma_horizon'),         -- Horizon employee codes
    -- E-shop: shop order ids, shop customer keys and the shop's product index are WooCommerce's; the ERP
    -- product index, the catalog items (ERP product codes) and the ERP product stream are Fakturownia's.
    ('eshop_erp_orders', NULL, 'woocommerce'),
    ('eshop_erp_orders', 'erp_product', 'fakturownia'),
    ('eshop_erp_payments', NULL, 'woocommerce'),
    ('erp_eshop_catalog', NULL, 'fakturownia'),
    ('erp_eshop_catalog', 'shop_product', 'woocommerce');


-- The system of one source id (NULL: a flow or entity the mapping does not know). Registers' customers and
-- products: Netvisor keys are numbers, Severa ids are guids.
CREATE FUNCTION pg_temp.source_system(p_flow text, p_entity text, p_source_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_flow = 'severa_netvisor_registers' AND p_entity IN ('customer', 'product')
             AND p_source_id ~ '^[0-9]+$' THEN 'netvisor'
        ELSE coalesce((SELECT system FROM source_system s WHERE s.flow = p_flow AND s.entity = p_entity),
                      (SELECT system FROM source_system s WHERE s.flow = p_flow AND s.entity IS NULL))
    END
$$;

-- 3. The columns, filled. A row of a flow the mapping does not know is kept, under system 'unknown'.
ALTER TABLE id_map ADD COLUMN company text NOT NULL DEFAULT 'default', ADD COLUMN system text;
UPDATE id_map SET system = coalesce(pg_temp.source_system(flow, entity, source_id), 'unknown');

ALTER TABLE quarantine ADD COLUMN company text NOT NULL DEFAULT 'default', ADD COLUMN system text;
UPDATE quarantine SET system = coalesce(pg_temp.source_system(flow, entity, source_id), 'unknown');

ALTER TABLE document_transfer ADD COLUMN company text NOT NULL DEFAULT 'default', ADD COLUMN system text;
UPDATE document_transfer SET system = coalesce(pg_temp.source_system(flow, entity, source_id), 'unknown');

-- A watermark (stream = the entity, or a stream name in the mapping) holds a time or a sequence, no id: a
-- register's customer / product stream takes the system of that register's newest id map row (the direction
-- it last ran in), else Severa (the default direction).
ALTER TABLE watermark ADD COLUMN company text NOT NULL DEFAULT 'default', ADD COLUMN system text;
UPDATE watermark w SET system = coalesce(
    CASE WHEN w.flow = 'severa_netvisor_registers' AND w.stream IN ('customer', 'product') THEN
        (SELECT m.system FROM id_map m WHERE m.flow = w.flow AND m.entity = w.stream
         ORDER BY m.updated_at DESC LIMIT 1) END,
    pg_temp.source_system(w.flow, w.stream, NULL), 'unknown');

-- The transfer log keeps NULL where the id is no system's: payroll time is keyed employee/day/time type.
ALTER TABLE transfer_log ADD COLUMN company text NOT NULL DEFAULT 'default', ADD COLUMN system text;
UPDATE transfer_log SET system = coalesce(pg_temp.source_system(flow, entity, source_id), 'unknown')
 WHERE NOT (flow = 'horizon_payroll_time_import' AND entity = 'payroll_time');

ALTER TABLE payroll_batch ADD COLUMN company text NOT NULL DEFAULT 'default';

-- Reservations: shop order ids are the shop's (WooCommerce, the only shop so far).
ALTER TABLE eshop_reservation ADD COLUMN company text NOT NULL DEFAULT 'default',
                              ADD COLUMN system text NOT NULL DEFAULT 'woocommerce';
ALTER TABLE eshop_reservation ALTER COLUMN system DROP DEFAULT;

DROP FUNCTION pg_temp.source_system(text, text, text);

-- 4. Keys and indexes include them.
ALTER TABLE id_map ALTER COLUMN system SET NOT NULL, DROP CONSTRAINT id_map_pkey,
    ADD PRIMARY KEY (company, flow, entity, system, source_id);
ALTER TABLE quarantine ALTER COLUMN system SET NOT NULL, DROP CONSTRAINT quarantine_pkey,
    ADD PRIMARY KEY (company, flow, entity, system, source_id);
ALTER TABLE document_transfer ALTER COLUMN system SET NOT NULL, DROP CONSTRAINT document_transfer_pkey,
    ADD PRIMARY KEY (company, flow, entity, system, source_id);
DROP INDEX document_transfer_reference;
CREATE UNIQUE INDEX document_transfer_reference ON document_transfer (company, flow, system, reference);
ALTER TABLE watermark ALTER COLUMN system SET NOT NULL, DROP CONSTRAINT watermark_pkey,
    ADD PRIMARY KEY (company, flow, system, stream);
ALTER TABLE eshop_reservation DROP CONSTRAINT eshop_reservation_pkey,
    ADD PRIMARY KEY (company, shop, system, shop_order_id, sku);
DROP INDEX eshop_reservation_sku;
CREATE INDEX eshop_reservation_sku ON eshop_reservation (company, shop, sku);
DROP INDEX payroll_batch_period;
CREATE INDEX payroll_batch_period ON payroll_batch (company, flow, period_start, period_end, id DESC);
DROP INDEX transfer_log_source;
CREATE INDEX transfer_log_source ON transfer_log (company, flow, entity, system, source_id);
CREATE INDEX transfer_log_company_at ON transfer_log (company, at DESC, id DESC);

-- 5. A quarantined record its source no longer has (or whose id is not that system's) leaves with 'gone'.
ALTER TABLE transfer_log DROP CONSTRAINT transfer_log_action_check, ADD CONSTRAINT transfer_log_action_check
    CHECK (action IN ('created', 'updated', 'unchanged', 'rejected', 'failed', 'skipped', 'dismissed', 'gone'));
