"""Severa <-> Netvisor settings (Variable ``erpbridge_severa_netvisor``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from erpbridge.settings import OverlapMinutes, Strict


Direction = Literal["severa_to_netvisor", "netvisor_to_severa", "off"]


class RegisterSettings(Strict):
    direction: Direction = "severa_to_netvisor"
    use_temp: bool = False  # R-A.3 / R-A.4: transfer nothing, documents use the TEMP record


class DimensionSettings(Strict):
    business_unit_heading: str = "Liiketoimintayksikkö"  # empty: business units are not created
    project_heading: str = "Projekti"  # empty: projects are not created
    cost_centre_heading: str = "Kustannuspaikka"  # documents only; empty: not sent on invoice rows
    user_heading: str = "Henkilö"  # documents only (who made the invoiced hours); empty: not sent


class SalesInvoiceSettings(Strict):
    """R-A.6 / R-A.10: Severa invoices -> Netvisor sales invoices."""

    ready_status: str = "Ready to be sent to Netvisor"  # Severa invoice status that means "move it"
    sent_status: str = "Invoice sent to Netvisor"  # written back after the transfer
    batch_size: int = Field(30, ge=1, le=30)  # invoices per transfer; more wait for the next batch
    require_approval: bool = False  # a person approves the previewed batch (Airflow HITL) first
    periodise_recurring_rows: bool = False  # recurring rows get an accrual period in Netvisor
    netvisor_status: str = "unsent"  # status of the new Netvisor invoice
    vat_code: str = "KOMY"  # Netvisor VAT code of the rows


NEVER_MOVING_TRAVEL_STATUSES = ("Draft", "Rejected")


class TravelSettings(Strict):
    """R-A.7: Severa travel invoices -> Netvisor travel expenses."""

    statuses: list[str] = ["Approved"]  # statuses that move (never Draft, Rejected or the transferred one)
    transferred_status: str = "Transferred to Netvisor"  # written back after the transfer
    batch_size: int = Field(30, ge=1, le=500)
    require_approval: bool = False

    @model_validator(mode="after")
    def _statuses_that_may_move(self):
        wrong = [s for s in self.statuses if s in (*NEVER_MOVING_TRAVEL_STATUSES, self.transferred_status)]
        if wrong or not self.statuses:
            raise ValueError(f"statuses must name at least one status other than Draft, Rejected and "
                             f"{self.transferred_status!r}; got {self.statuses}")
        return self


class PurchaseInvoiceSettings(Strict):
    """R-A.9: Netvisor purchase invoices -> costs on Severa projects."""

    status: Literal["open", "approved", "accepted"] = "approved"  # Netvisor status that moves
    per_line: bool = True  # one project cost per invoice line; false: one per invoice (one project)
    days_back: int = Field(90, ge=1, le=3660)  # default invoice-date range of a run
    batch_size: int = Field(30, ge=1, le=500)
    require_approval: bool = False


RecordType = Annotated[str, Field(pattern=r"^[0-9]{1,9}$")]  # a Netvisor record type (collector ratio) number
IsoWeekday = Annotated[int, Field(ge=1, le=7)]  # 1 = Monday ... 7 = Sunday


class HoursSettings(Strict):
    """R-A.8: Severa hour entries and absences -> Netvisor workday records."""

    use_approval: bool = False  # Severa uses hour approval: approved entries arrive as accepted
    default_record_type: RecordType = "1"  # Netvisor record type of ordinary hours
    record_types: dict[str, RecordType] = {}  # Severa work type code -> Netvisor record type number
    absence_record_types: dict[str, RecordType] = {}  # Severa absence type code -> Netvisor record type number
    absence_day_hours: Decimal = Field(Decimal("7.5"), gt=0, le=24)  # hours of an all-day absence
    absence_weekdays: list[IsoWeekday] = Field([1, 2, 3, 4, 5], min_length=1)  # days an absence counts on
    days_back: int = Field(31, ge=1, le=366)  # default date range of a run: this many days up to today
    require_approval: bool = False
    batch_size: int = Field(200, ge=1, le=1000)  # person-days per batch


class SeveraNetvisorSettings(Strict):
    """Flow A settings (Variable ``erpbridge_severa_netvisor``)."""

    customers: RegisterSettings = RegisterSettings()
    products: RegisterSettings = RegisterSettings()
    dimensions: DimensionSettings = DimensionSettings()
    sales_invoices: SalesInvoiceSettings = SalesInvoiceSettings()
    hours: HoursSettings = HoursSettings()
    travel_invoices: TravelSettings = TravelSettings()
    purchase_invoices: PurchaseInvoiceSettings = PurchaseInvoiceSettings()
    product_group: str = "Severa"  # Netvisor product group for products coming from Severa
    currency: str = "EUR"  # home currency; must be the same in both systems (R-A.10)
    watermark_overlap_minutes: OverlapMinutes = 10
