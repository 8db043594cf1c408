"""E-service payments -> Horizon settings (Variable ``erpbridge_eservice_payments_horizon``)."""

from __future__ import annotations

from erpbridge.settings import OverlapMinutes, Strict


class EServicePaymentsSettings(Strict):
    """E-service payments -> Horizon customers and invoices (Variable ``erpbridge_eservice_payments_horizon``)."""

    services: dict[str, str] = {}  # e-service service code -> the Horizon article its positions are invoiced as
    timezone: str = "Europe/Riga"  # the day of a payment (the invoice date) and of a refund (the credit note's)
    watermark_overlap_minutes: OverlapMinutes = 10
