"""Standard Books <-> Envoice settings (Variable ``erpbridge_standardbooks_envoice``)."""

from __future__ import annotations

from erpbridge.settings import Strict


class StandardBooksEnvoiceSettings(Strict):
    """Flow B settings (Variable ``erpbridge_standardbooks_envoice``)."""

    auto_create_purchase_invoice: bool = False  # R-B.6: also make the VIVc (unapproved) from each invoice
    default_currency: str = "EUR"  # for a document that names none
    vat_codes: dict[str, str] = {}  # Envoice VAT rate ("24") -> Standard Books VAT code; unlisted: the rate
