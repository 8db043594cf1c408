"""The catalog of flows: one entry per flow says everything the DAGs, the ledger and the control room need to
know about it. Adding a flow = its DAG file, its package under ``flows/`` and one entry here; adding a company =
one entry in the companies file (``erpbridge.companies``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module

# rate-limited targets: pool per company (one slot), named ``<target>_default`` for the default company
POOL_TARGETS = {
    "netvisor": "Netvisor accepts one request at a time per company",
    "standard_books": "Standard Books: one document transfer at a time per company",
}


@dataclass(frozen=True)
class Flow:
    """One flow: ``id`` is its DAG id (for the default company) and its name in the ledger."""

    id: str
    family: str  # its package: erpbridge.flows.<family>
    label: str  # what the control room and the DAG list call it
    connections: dict[str, str]  # connection type -> default connection id
    settings_model: str  # "<module under the family package>:<class>"
    settings_variable: str  # the Airflow Variable holding the default company's settings
    schedule: timedelta | str  # default; the companies file (or ERPBRIDGE_SCHEDULE__<DAG_ID>) may override
    tags: tuple[str, ...]
    pools: tuple[str, ...] = ()  # rate-limited targets its transfers queue for (keys of POOL_TARGETS)
    retry: str | None = None  # how "Retry now" names one record: a key of control_room.retry.RETRY_BY
    kind: str | None = None  # document kind (its settings section) for the families that have several
    noun: str = "document"  # what a person calls one document it moves (the approval's words)
    paused_on_creation: bool = False
    entities: dict[str, str] = field(default_factory=dict)  # ledger entity -> label, where plain names won't do

    def settings(self):
        """The flow's settings model (imported when a task needs it, never at DAG parse)."""
        module, name = self.settings_model.split(":")
        return getattr(import_module(f"erpbridge.flows.{self.family}.{module}"), name)


_SEVERA_NETVISOR = {"severa": "severa_default", "netvisor": "netvisor_default"}
_SB_ENVOICE = {"standard_books": "standard_books_default", "envoice": "envoice_default"}
_ESHOP = {"woocommerce": "woocommerce_default", "fakturownia": "fakturownia_default"}
_ESHOP_ENTITIES = {"customer_order": "customer order", "sales_document": "sales document",
                   "store_transfer": "transfer to store", "order_cancellation": "cancellation",
                   "correction": "correction"}


def _severa_netvisor_documents(flow_id: str, kind: str, noun: str, label: str, retry: str) -> Flow:
    return Flow(flow_id, "severa_netvisor", label, _SEVERA_NETVISOR, "settings:SeveraNetvisorSettings",
                "erpbridge_severa_netvisor", "@hourly", ("severa", "netvisor", "documents"), pools=("netvisor",),
                retry=retry, kind=kind, noun=noun)


FLOWS: dict[str, Flow] = {flow.id: flow for flow in (
    Flow("severa_netvisor_registers", "severa_netvisor", "Severa <-> Netvisor registers", _SEVERA_NETVISOR,
         "settings:SeveraNetvisorSettings", "erpbridge_severa_netvisor", timedelta(minutes=40),
         ("severa", "netvisor", "registers"), pools=("netvisor",), retry="record"),
    _severa_netvisor_documents("severa_netvisor_sales_invoices", "sales_invoices", "invoice",
                               "Severa -> Netvisor sales invoices", "document_number"),
    _severa_netvisor_documents("severa_netvisor_hours", "hours", "person-day", "Severa -> Netvisor hours",
                               "person_day"),
    _severa_netvisor_documents("severa_netvisor_travel_invoices", "travel_invoices", "travel invoice",
                               "Severa -> Netvisor travel invoices", "document_number"),
    _severa_netvisor_documents("netvisor_severa_purchase_invoices", "purchase_invoices", "purchase invoice",
                               "Netvisor -> Severa purchase invoices", "document_number"),
    Flow("standardbooks_envoice_master_data", "standardbooks_envoice", "Standard Books -> Envoice master data",
         _SB_ENVOICE, "settings:StandardBooksEnvoiceSettings", "erpbridge_standardbooks_envoice",
         timedelta(minutes=20), ("standard_books", "envoice", "registers"), retry="record"),
    Flow("envoice_standardbooks_purchase_documents", "standardbooks_envoice",
         "Envoice -> Standard Books purchase documents", _SB_ENVOICE, "settings:StandardBooksEnvoiceSettings",
         "erpbridge_standardbooks_envoice", timedelta(minutes=20), ("envoice", "standard_books", "documents"),
         pools=("standard_books",), retry="document_number"),
    Flow("horizon_ad_accounts", "horizon_ad", "Horizon -> Active Directory accounts",
         {"visma_horizon": "visma_horizon_default", "active_directory": "active_directory_default"},
         "settings:HorizonAdSettings", "erpbridge_horizon_ad", timedelta(minutes=5),
         ("horizon", "active-directory", "identity"), retry="employee_code",
         paused_on_creation=True),  # it creates and disables accounts: an admin switches it on deliberately
    Flow("horizon_payroll_time_import", "horizon_payroll", "Work time -> Horizon payroll",
         {"severa": "severa_default", "visma_horizon": "visma_horizon_default"}, "settings:HorizonPayrollSettings",
         "erpbridge_horizon_payroll", "0 6 2 * *", ("horizon", "severa", "payroll", "review")),
    Flow("horizon_severa_absences", "horizon_severa", "Horizon absences -> Severa",
         {"visma_horizon": "visma_horizon_default", "severa": "severa_default"},
         "settings:HorizonSeveraAbsencesSettings", "erpbridge_horizon_severa_absences", timedelta(minutes=30),
         ("horizon", "severa", "absences")),
    Flow("horizon_payroll_payments", "horizon_payments", "Horizon payroll -> bank files",
         {"visma_horizon": "visma_horizon_default"}, "settings:HorizonPaymentsSettings",
         "erpbridge_horizon_payments", timedelta(hours=1), ("horizon", "payroll", "bank", "review"),
         paused_on_creation=True),  # it writes bank files: switched on deliberately
    Flow("eservice_payments_horizon", "eservice_horizon", "E-service payments -> Horizon invoices",
         {"eservice": "eservice_default", "visma_horizon": "visma_horizon_default"},
         "settings:EServicePaymentsSettings", "erpbridge_eservice_payments_horizon", timedelta(minutes=10),
         ("eservice", "horizon", "invoices"),
         entities={"payment": "e-service payment", "invoice": "sales invoice", "credit_note": "credit note",
                   "customer": "Horizon customer"}),
    Flow("horizon_weighing", "horizon_weighing", "Horizon weighed goods -> weighing -> delivery notes",
         {"visma_horizon": "visma_horizon_default", "weighing": "weighing_default"},
         "settings:HorizonWeighingSettings", "erpbridge_horizon_weighing", timedelta(minutes=15),
         ("horizon", "weighing", "documents", "review")),
    Flow("eshop_erp_orders", "eshop_erp", "Shop orders -> ERP", _ESHOP, "settings:EshopErpSettings",
         "erpbridge_eshop_erp", timedelta(minutes=5), ("woocommerce", "fakturownia", "eshop", "documents"),
         entities=_ESHOP_ENTITIES),
    Flow("eshop_erp_payments", "eshop_erp", "Shop payments -> ERP", _ESHOP, "settings:EshopErpSettings",
         "erpbridge_eshop_erp", timedelta(minutes=5), ("woocommerce", "fakturownia", "eshop", "documents"),
         entities=_ESHOP_ENTITIES),
    Flow("erp_eshop_catalog", "eshop_erp", "ERP catalog -> shop", _ESHOP, "settings:EshopErpSettings",
         "erpbridge_eshop_erp", timedelta(minutes=10), ("fakturownia", "woocommerce", "eshop", "registers")),
    Flow("saldeo_accounting_export", "accounting_exchange", "SaldeoSMART -> accounting program files",
         {"saldeo": "saldeo_default"}, "settings:AccountingExportSettings", "erpbridge_saldeo_accounting",
         timedelta(hours=1), ("saldeo", "accounting", "epp", "documents"), retry="record"),
    Flow("accounting_saldeo_registers", "accounting_exchange", "Accounting program registers -> SaldeoSMART",
         {"saldeo": "saldeo_default"}, "settings:RegistersSettings", "erpbridge_saldeo_registers", "@daily",
         ("accounting", "saldeo", "epp", "registers"), retry="record"),
)}


def flow(flow_id: str) -> Flow:
    try:
        return FLOWS[flow_id]
    except KeyError:
        raise KeyError(f"no flow {flow_id!r} in the catalog; known: {', '.join(FLOWS)}") from None


def flow_of_dag(dag_id: str) -> Flow | None:
    """The flow a DAG runs (``<flow>`` or ``<flow>__<company>``); None for a DAG that is not a flow's."""
    return FLOWS.get(dag_id.split("__", 1)[0])
