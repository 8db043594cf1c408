"""Envoice -> Standard Books purchase documents every 20 minutes: each approved and
published invoice or receipt becomes an incoming e-invoice with all its coded data and the original
PDF, then Envoice is told it was transferred. Setting `auto_create_purchase_invoice` (Variable
`erpbridge_standardbooks_envoice`) also creates the purchase invoice, unapproved. Refused documents
wait in quarantine with the reason and are tried again on every run."""

from airflow.sdk import Param

from erpbridge.companies import CompanyFlow
from erpbridge.dag_factory import company_dags
from erpbridge.engine.tasks import load_settings, migrate_ledger
from erpbridge.flows.standardbooks_envoice.tasks import transfer_documents


@company_dags(
    "envoice_standardbooks_purchase_documents",
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would move, write nothing."),
        "document_numbers": Param([], type=["null", "array"], items={"type": "string"}, uniqueItems=True,
                                  description="Move only these document numbers (empty: every published one)."),
        "resend": Param(None, type=["null", "string"],
                        description="One document number to transfer again (e.g. after its record was removed "
                                    "from the ERP); an existing record is adopted, never duplicated."),
    },
)
def envoice_standardbooks_purchase_documents(cf: CompanyFlow):
    settings = load_settings(cf.scope())
    migrate_ledger() >> settings
    transfer_documents.override(pool=cf.pool("standard_books"))(settings=settings, scope=cf.scope())


envoice_standardbooks_purchase_documents.for_every_company()
