"""Horizon absences -> Severa settings (Variable ``erpbridge_horizon_severa_absences``)."""

from __future__ import annotations

from pydantic import Field

from erpbridge.settings import Strict


class HorizonSeveraAbsencesSettings(Strict):
    """Horizon absences -> Severa activities (Variable ``erpbridge_horizon_severa_absences``)."""

    absence_types: dict[str, str] = {}  # Horizon absence type code -> Severa activity type (code or name, Absences)
    days_back: int = Field(60, ge=0, le=3660)  # the window of absences a run reads, around today
    days_ahead: int = Field(400, ge=0, le=3660)
