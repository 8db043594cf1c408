"""Payroll payment file settings (Variable ``erpbridge_horizon_payments``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from erpbridge.engine.destinations import LOCATION
from erpbridge.settings import Strict


class HorizonPaymentsSettings(Strict):
    """Payroll payment files (Variable ``erpbridge_horizon_payments``)."""

    # the company's bank folder: pain.001 files are written here (never a folder named by a run's Params), a local
    # folder (/path) or a folder on an SFTP server, sftp://<Airflow connection id>/path
    bank_folder: Annotated[str, Field(pattern=LOCATION)] = "/opt/airflow/data/bank_outbox"
    debtor_name: str = Field("Company", min_length=1, max_length=70)  # the paying company as the bank knows it
    remittance: str = Field("Salary {period}", min_length=1, max_length=140)  # {period}: the run's YYYY-MM
    lookback_days: int = Field(92, ge=1, le=3660)  # runs whose pay date is older are no longer read
