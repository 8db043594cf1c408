"""Flow B wiring: Standard Books master data -> Envoice (R-B.2); Envoice purchase documents ->
Standard Books' incoming e-invoices, with the PDF, and optionally the purchase invoice (R-B.4..R-B.6)."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Iterator

from erpbridge.engine.documents import Attachment, DocumentFlow
from erpbridge.engine.registry import Register
from erpbridge.errors import RecordRejected
from erpbridge.flows.standardbooks_envoice import endpoints as ep
from erpbridge.flows.standardbooks_envoice import mapping as m
from erpbridge.flows.standardbooks_envoice.settings import StandardBooksEnvoiceSettings
from erpbridge.hooks.envoice import EnvoiceHook
from erpbridge.hooks.standard_books import StandardBooksHook
from erpbridge.ledger.store import Ledger

log = logging.getLogger(__name__)
MAX_PDF_BYTES = 20 * 2**20  # larger originals go to quarantine (our limit; Standard Books' own is undocumented)

# entity -> (Standard Books register, key field, list filters, Envoice kind, mapping)
MASTER_DATA = {
    "contact": ("CUVc", "Code", {"VEType": "1"}, "contacts", m.supplier_to_contact),
    "account": ("AccVc", "AccNumber", {}, "accounts", m.account_to_envoice),
    "dimension_group": ("OTVc", "Code", {}, "dimension-groups", m.object_type_to_group),
    "dimension": ("ObjVc", "Code", {}, "dimensions", m.object_to_dimension),
}
DELETE_ORDER = ("dimension", "dimension_group", "account", "contact")  # dimensions before their groups
INCOMING = "EInvoiceInVc"
PURCHASE_INVOICE = "VIVc"
DOCUMENT_ENTITY = "purchase_document"


def master_data_register(entity: str, standard_books: StandardBooksHook, envoice: EnvoiceHook) -> Register:
    register, key_field, filters, kind, mapping = MASTER_DATA[entity]
    return Register(entity, ep.StandardBooksSource(standard_books, register, key_field, filters),
                    ep.EnvoiceMasterData(envoice, kind), mapping, lambda payload: payload["code"])


def delete_envoice_master_data(ledger: Ledger, hook: EnvoiceHook, *, dry_run: bool) -> dict[str, int]:
    """R-B.2 "delete and send again": remove every master-data record Envoice holds for the company
    and forget the id map, so the next sync sends everything afresh. Returns counts per entity."""
    ledger = ledger.of(ep.StandardBooksSource.system)  # the id map and watermarks of Standard Books' codes
    deleted: dict[str, int] = {}
    for entity in DELETE_ORDER:
        kind = MASTER_DATA[entity][3]
        codes = [record["code"] for record in hook.list_all(kind)]
        if dry_run:
            log.info("dry run: would delete %d %s from Envoice", len(codes), kind)
        else:
            for code in codes:
                hook.delete(kind, code)
            ledger.forget(entity)
            ledger.set_watermark(entity, "")  # empty: read everything again
            ledger.commit()
        deleted[entity] = len(codes)
    return deleted


# --- purchase documents ---------------------------------------------------------------------------

class EnvoiceDocuments:
    """Envoice's published purchase documents (optionally only some numbers) as a DocumentSource."""

    system = "envoice"

    def __init__(self, hook: EnvoiceHook, numbers: list[str] | None = None, resend: str | None = None):
        self.hook = hook
        self.numbers = set(numbers or [])
        self.resend = resend

    def ready(self) -> Iterator[dict]:
        statuses = ("published", "transferred") if self.resend else ("published",)
        for page in self.hook.iter_documents(statuses):
            for document in page:
                if self.resend and document["number"] != self.resend:
                    continue
                if self.numbers and document["number"] not in self.numbers:
                    continue
                yield document

    def fetch(self, source_ids: list[str]) -> Iterator[dict]:
        return (self.hook.document(doc_id) for doc_id in source_ids)

    def source_id(self, document: dict) -> str:
        return str(document["id"])

    def describe(self, document: dict) -> str:
        return str(document.get("number") or document["id"])

    def attachment(self, document: dict) -> Attachment:
        """The original PDF, refused (into quarantine) when Envoice has none or it is not a whole PDF."""
        what = f"{document.get('type', 'document')} {self.describe(document)}"
        found = self.hook.pdf(str(document["id"])) if document.get("pdf_url") else None
        if not found or not found[0]:
            raise RecordRejected(f"{what}: Envoice has no PDF of the original document; upload it in Envoice",
                                 "MISSING_PDF")
        content = found[0]
        if len(content) > MAX_PDF_BYTES:
            raise RecordRejected(f"{what}: the PDF in Envoice is {len(content) / 2**20:.1f} MB, more than the "
                                 f"{MAX_PDF_BYTES / 2**20:g} MB erpbridge carries; reduce it in Envoice",
                                 "OVERSIZE_PDF")
        if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-1024:]:
            raise RecordRejected(f"{what}: the file attached in Envoice is not a readable PDF (corrupt or another "
                                 "file type); replace it with the original PDF in Envoice", "NOT_PDF")
        filename = re.sub(r"[^\w.-]+", "_", f"{document.get('type', 'document')}-{self.describe(document)}") + ".pdf"
        return Attachment(filename, content, "application/pdf")

    def mark_transferred(self, document: dict, target_id: str) -> None:
        self.hook.transfer(str(document["id"]), target_id)


class StandardBooksIncomingInvoices:
    """Standard Books' incoming e-invoice register as a DocumentTarget; with ``auto_create`` an
    invoice (not a receipt) also gets its purchase invoice, unapproved."""

    def __init__(self, hook: StandardBooksHook, auto_create: bool):
        self.hook = hook
        self.auto_create = auto_create

    def find(self, reference: str, payload: dict) -> str | None:
        """By our reference (ExternalId), then by supplier and invoice number (entered some other way)."""
        fields = payload["fields"]
        found = (self.hook.find(INCOMING, ExternalId=reference)
                 or self.hook.find(INCOMING, SupplierCode=fields["SupplierCode"], InvoiceNr=fields["InvoiceNr"]))
        return found[0]["SerNr"] if found else None

    def post(self, payload: dict) -> str:
        return self.hook.create(INCOMING, payload["fields"], payload["rows"])

    def has_attachment(self, target_id: str, attachment: Attachment) -> bool:
        return any(a.get("filename") == attachment.filename for a in self.hook.attachments(INCOMING, target_id))

    def attach(self, target_id: str, attachment: Attachment) -> None:
        self.hook.attach(INCOMING, target_id, attachment.filename, attachment.content, attachment.content_type)

    def complete(self, target_id: str, payload: dict) -> None:
        if not self.auto_create or payload["fields"]["DocType"] != "invoice":
            return
        if self.hook.find(PURCHASE_INVOICE, EInvoiceSerNr=target_id):
            return
        invoice = m.purchase_invoice(target_id, payload)
        key = self.hook.create(PURCHASE_INVOICE, invoice["fields"], invoice["rows"])
        log.info("purchase invoice %s created from incoming e-invoice %s (unapproved)", key, target_id)


def document_flow(config: StandardBooksEnvoiceSettings, envoice: EnvoiceHook, standard_books: StandardBooksHook,
                  numbers: list[str] | None = None, resend: str | None = None) -> DocumentFlow:
    return DocumentFlow(
        DOCUMENT_ENTITY,
        EnvoiceDocuments(envoice, numbers, resend),
        StandardBooksIncomingInvoices(standard_books, config.auto_create_purchase_invoice),
        m.document_reference,
        partial(_map_document, config=config),
    )


def _map_document(document: dict, reference: str, *, config: StandardBooksEnvoiceSettings) -> dict:
    return m.document_to_incoming_invoice(document, reference, default_currency=config.default_currency,
                                          vat_codes=config.vat_codes)
