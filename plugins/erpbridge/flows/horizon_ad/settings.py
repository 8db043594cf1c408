"""Horizon -> Active Directory settings (Variable ``erpbridge_horizon_ad``)."""

from __future__ import annotations

from erpbridge.settings import OverlapMinutes, Strict


class HorizonAdSettings(Strict):
    """Flow C accounts settings (Variable ``erpbridge_horizon_ad``)."""

    timezone: str = "Europe/Riga"  # the day on which employment starts and ends
    watermark_overlap_minutes: OverlapMinutes = 10
