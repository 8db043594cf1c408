"""Work time -> Horizon payroll settings (Variable ``erpbridge_horizon_payroll``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from erpbridge.settings import Strict


class HorizonPayrollSettings(Strict):
    """Flow C work-time settings (Variable ``erpbridge_horizon_payroll``)."""

    # folders CSV files (employee_code;date;time_type;hours;comment) may be read from; the first is the
    # default inbox, the run's ``inbox`` Param may name a folder inside any of them
    inbox_roots: list[Annotated[str, Field(pattern=r"^/")]] = Field(["/opt/airflow/data/payroll_inbox"], min_length=1)
    severa_time_type: str = "WORK"  # Horizon time type for Severa hour entries (non-overtime)
    overtime_time_types: dict[str, str] = {}  # Severa overtime code or name -> Horizon time type
    max_hours_per_day: float = Field(24.0, gt=0, le=24, allow_inf_nan=False)
    # share of the entries loaded for the period a load may remove without the reviewer confirming (0: none)
    max_removal_share: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)
