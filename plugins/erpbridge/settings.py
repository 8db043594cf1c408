"""Flow settings: defaults in code, overrides in an Airflow Variable (JSON), validated at run start."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettingsError(ValueError):
    """A settings Variable that does not validate; the message names every bad key."""


def load(model: type[Model], variable: str) -> Model:
    """The model's defaults overridden by the JSON in Airflow Variable ``variable`` (when it exists)."""
    from airflow.sdk import Variable

    raw = Variable.get(variable, default=None)
    try:
        overrides = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise SettingsError(f"Variable {variable} is not valid JSON: {exc}") from None
    return parse(model, overrides, variable)


def parse(model: type[Model], overrides: dict, source: str) -> Model:
    try:
        return model.model_validate(overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{source} has bad settings: {problems}") from None


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


OverlapMinutes = Annotated[int, Field(ge=0, le=1440)]  # a watermark re-reads this much before itself
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


class HorizonAdSettings(Strict):
    """Flow C accounts settings (Variable ``erpbridge_horizon_ad``)."""

    timezone: str = "Europe/Riga"  # the day on which employment starts and ends
    watermark_overlap_minutes: OverlapMinutes = 10


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


class HorizonPaymentsSettings(Strict):
    """Payroll payment files (Variable ``erpbridge_horizon_payments``)."""

    # the company's bank folder: pain.001 files are written here (never a folder named by a run's Params)
    bank_folder: Annotated[str, Field(pattern=r"^/")] = "/opt/airflow/data/bank_outbox"
    debtor_name: str = Field("Company", min_length=1, max_length=70)  # the paying company as the bank knows it
    remittance: str = Field("Salary {period}", min_length=1, max_length=140)  # {period}: the run's YYYY-MM
    lookback_days: int = Field(92, ge=1, le=3660)  # runs whose pay date is older are no longer read


class HorizonSeveraAbsencesSettings(Strict):
    """Horizon absences -> Severa activities (Variable ``erpbridge_horizon_severa_absences``)."""

    absence_types: dict[str, str] = {}  # Horizon absence type code -> Severa activity type (code or name, Absences)
    days_back: int = Field(60, ge=0, le=3660)  # the window of absences a run reads, around today
    days_ahead: int = Field(400, ge=0, le=3660)


class StandardBooksEnvoiceSettings(Strict):
    """Flow B settings (Variable ``erpbridge_standardbooks_envoice``)."""

    auto_create_purchase_invoice: bool = False  # R-B.6: also make the VIVc (unapproved) from each invoice
    default_currency: str = "EUR"  # for a document that names none
    vat_codes: dict[str, str] = {}  # Envoice VAT rate ("24") -> Standard Books VAT code; unlisted: the rate


OrderAction = Literal["order", "wait", "cancel", "to_store"]


class EshopErpSettings(Strict):
    """E-shop <-> ERP settings, WooCommerce <-> Fakturownia (Variable ``erpbridge_eshop_erp``)."""

    shop_conn_id: str = "woocommerce_default"
    erp_conn_id: str = "fakturownia_default"
    currency: str = "PLN"  # the only currency the ERP documents are issued in; other orders are refused
    eshop_warehouse_id: int | None = None  # the ERP warehouse the shop sells from (None: the ERP's default)
    # What each shop order status means here: "order" becomes a customer order (ZK) in the ERP,
    # "wait" does nothing yet, "cancel" lifts the customer order, "to_store" (a pickup order sent to its
    # store, e.g. a plugin's "sent to store" status) moves its goods to the store's warehouse (MM) once;
    # a status not listed is refused by name.
    status_map: dict[str, OrderAction] = {
        "pending": "wait", "on-hold": "order", "processing": "order", "completed": "order",
        "cancelled": "cancel", "refunded": "order", "failed": "wait", "checkout-draft": "wait"}
    nip_meta_key: str = "_billing_nip"  # order meta_data key holding the buyer's NIP (plugin-specific)
    pickup_method_ids: list[str] = ["local_pickup", "pickup_location"]  # shipping methods that mean store pickup
    pickup_location_meta_key: str = "pickup_location"  # shipping line (or order) meta key naming the location
    pickup_locations: dict[str, int] = {}  # pickup location name -> the store's ERP warehouse id
    invoice_meta_key: str = "_billing_invoice"  # order meta_data key: the buyer asked for a VAT invoice (1/yes/true)
    paid_statuses: list[str] = ["processing", "completed"]  # a paid order in one of these gets its sales document
    ksef_send: bool = False  # VAT invoices are sent to KSeF by Fakturownia (gov_save_and_send)
    shop_prices_include_tax: bool = False  # the shop's prices are entered with VAT: the ERP's gross price is written
    oid_prefix: str = "WC-"  # ERP order id (oid) = prefix + the shop's order number
    orders_since: date | None = None  # orders created before this day are never imported
    watermark_overlap_minutes: int = Field(10, ge=0, le=1440)

    @model_validator(mode="after")
    def _orders_move(self):
        if "order" not in self.status_map.values():
            raise ValueError("status_map must map at least one status to \"order\"")
        waiting = [s for s in self.paid_statuses if self.status_map.get(s) != "order"]
        if waiting:
            raise ValueError(f"paid_statuses must be statuses the status_map maps to \"order\"; not {waiting}")
        return self
