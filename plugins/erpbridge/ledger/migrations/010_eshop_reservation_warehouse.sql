-- Orders split per warehouse (issue 16, R-D.5): a split order's parts hold their lines in the ERP
-- warehouse each part is issued from; 0 = an order that is not split (held in the stock the shop sells).
ALTER TABLE eshop_reservation ADD COLUMN warehouse_id bigint NOT NULL DEFAULT 0,
    DROP CONSTRAINT eshop_reservation_pkey,
    ADD PRIMARY KEY (company, shop, system, shop_order_id, sku, warehouse_id);
