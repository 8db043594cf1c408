"""Weighing round trip settings (Variable ``erpbridge_horizon_weighing``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from erpbridge.settings import Strict


class HorizonWeighingSettings(Strict):
    """Weighed goods: Horizon orders -> weighing system -> delivery notes (Variable ``erpbridge_horizon_weighing``)."""

    # a line whose weighed kilograms differ from the ordered ones by more than this share waits for a person
    tolerance_percent: Decimal = Field(Decimal("5"), ge=0, le=100)
