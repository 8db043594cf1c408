"""Envoice -> Standard Books purchase documents every 20 minutes: each approved and
published invoice or receipt becomes an incoming e-invoice with all its coded data and the original
PDF, then Envoice is told it was transferred. Setting `auto_create_purchase_invoice` (Variable
`erpbridge_standardbooks_envoice`) also creates the purchase invoice, unapproved. Refused documents
wait in quarantine with the reason and are tried again on every run."""

from datetime import datetime, timedelta

from airflow.sdk import Param, dag

from erpbridge.engine.tasks import migrate_ledger
from erpbridge.flows.standardbooks_envoice.tasks import STANDARD_BOOKS_POOL, load_settings, transfer_documents


@dag(
    dag_id="envoice_standardbooks_purchase_documents",
    schedule=timedelta(minutes=20),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["envoice", "standard_books", "documents"],
    doc_md=__doc__,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    params={
        "dry_run": Param(False, type="boolean", description="Preview: log what would move, write nothing."),
        "document_numbers": Param([], type=["null", "array"], items={"type": "string"}, uniqueItems=True,
                                  description="Move only these document numbers (empty: every published one)."),
        "resend": Param(None, type=["null", "string"],
                        description="One document number to transfer again (e.g. after its record was removed "
                                    "from the ERP); an existing record is adopted, never duplicated."),
    },
)
def envoice_standardbooks_purchase_documents():
    settings = load_settings()
    migrate_ledger() >> settings
    transfer_documents.override(pool=STANDARD_BOOKS_POOL)(settings=settings)


envoice_standardbooks_purchase_documents()
