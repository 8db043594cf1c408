"""Severa <-> Netvisor: registers (customers, products, dimensions) and documents (invoices, hours, purchases)."""
