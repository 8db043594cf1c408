"""E-shop <-> ERP (WooCommerce <-> Fakturownia): orders, payments, product catalog."""
