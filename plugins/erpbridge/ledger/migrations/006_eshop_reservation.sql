-- E-shop stock held by shop orders the ERP has not issued yet (issue 16): the ERP keeps no
-- reservations, so the quantity the shop may sell is the ERP's stock of the e-shop warehouse minus
-- these rows. Written when the orders flow sees an order that holds stock, removed when its sales
-- document issues the stock in the ERP or the order is cancelled. ``shop`` is the shop's connection.
CREATE TABLE IF NOT EXISTS eshop_reservation (
    shop          text NOT NULL,
    shop_order_id text NOT NULL,
    sku           text NOT NULL,
    quantity      numeric NOT NULL CHECK (quantity > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop, shop_order_id, sku)
);
CREATE INDEX IF NOT EXISTS eshop_reservation_sku ON eshop_reservation (shop, sku);
