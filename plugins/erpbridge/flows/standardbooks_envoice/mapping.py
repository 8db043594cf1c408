"""Standard Books <-> Envoice mappings (R-B.2, R-B.5, R-B.6). Pure: no I/O.

Standard Books records are the StandardBooksHook's dicts (register field names, text values);
Envoice records are its API's JSON. A document becomes ``{"fields": {...}, "rows": [{...}]}`` for
the incoming e-invoice register (``EInvoiceInVc``).
"""

from __future__ import annotations

from decimal import Decimal

from erpbridge.engine import checks
from erpbridge.errors import RecordRejected, RecordSkipped

CENT = Decimal("0.01")


# --- master data: Standard Books -> Envoice -------------------------------------------------------

def supplier_to_contact(record: dict) -> dict:
    """A supplier (CUVc with VEType 1) as an Envoice contact; a blocked supplier goes as inactive."""
    code = checks.text("contact", "Code", record.get("Code"), required=True)
    if record.get("VEType") != "1":
        raise RecordSkipped(f"contact {code} is not a supplier")
    address = ", ".join(v.strip() for v in (record.get(f"InvAddr{i}") or "" for i in range(5)) if v.strip())
    return {
        "code": code,
        "name": checks.text(f"supplier {code}", "Name", record.get("Name"), required=True),
        "vat_number": record.get("VATNr") or None,
        "email": record.get("eMail") or None,
        "phone": record.get("Phone") or None,
        "address": address or None,
        "active": record.get("blockedFlag") != "1",
    }


def account_to_envoice(record: dict) -> dict:
    """An account; a blocked account goes as inactive (still known, not offered for coding)."""
    code = checks.text("account", "AccNumber", record.get("AccNumber"), required=True)
    return {"code": code, "name": record.get("Comment") or code, "active": record.get("blockedFlag") != "1"}


def object_type_to_group(record: dict) -> dict:
    code = checks.text("object type", "Code", record.get("Code"), required=True)
    return {"code": code, "name": record.get("Comment") or code, "active": True}


def object_to_dimension(record: dict) -> dict:
    """An object as a dimension of its object type's group; a closed object goes as inactive."""
    code = checks.text("object", "Code", record.get("Code"), required=True)
    group = record.get("OTCode") or ""
    if not group:
        raise RecordRejected(f"object {code} has no object type; Envoice files every dimension under a "
                             "dimension group: give the object a type in Standard Books")
    return {"code": code, "group_code": group, "name": record.get("Comment") or code,
            "active": record.get("Closed") != "1"}


# --- purchase documents: Envoice -> Standard Books ------------------------------------------------

def document_reference(document: dict) -> str:
    """The deterministic external reference of an Envoice document in Standard Books (ExternalId)."""
    return f"envoice-{document['id']}"


def document_to_incoming_invoice(document: dict, reference: str, *, default_currency: str = "EUR",
                                 vat_codes: dict[str, str] | None = None) -> dict:
    """An approved, published Envoice document as an EInvoiceInVc record with all its coded data."""
    name = f"{document.get('type', 'document')} {document.get('number') or document.get('id')}"
    supplier = document.get("supplier") or {}
    supplier_code = checks.text(name, "supplier code", supplier.get("code"), required=True)
    number = checks.text(name, "invoice number", document.get("number"), required=True)
    if not document.get("issue_date"):
        raise RecordRejected(f"{name}: the document date is missing; enter it in Envoice")
    lines = document.get("lines") or []
    if not lines:
        raise RecordRejected(f"{name}: the document has no coded lines (account and amount); code it in Envoice")
    check_totals(name, document)
    rows = []
    for number_, line in enumerate(lines, 1):
        account = line.get("account")
        if not account:
            raise RecordRejected(f"{name}: line {number_} ({line.get('description') or 'no description'}) has no "
                                 "account; code it in Envoice")
        rate = str(line.get("vat_rate") or "0")
        rows.append({
            "AccNumber": account,
            "Objects": ",".join(d["code"] for d in line.get("dimensions") or []),
            "Sum": _money(line.get("net")),
            "VATCode": (vat_codes or {}).get(rate, rate),
            "VATSum": _money(line.get("vat")),
            "Comment": line.get("description") or "",
        })
    fields = {
        "SerNr": "",  # Standard Books numbers it
        "SupplierCode": supplier_code,
        "SupplierName": supplier.get("name") or "",
        "InvoiceNr": number,
        "InvDate": document["issue_date"],
        "DueDate": document.get("due_date") or "",
        "CurncyCode": document.get("currency") or default_currency,
        "TotSum": _money(document.get("total")),
        "VATSum": _money(document.get("vat_total")),
        "DocType": "receipt" if document.get("type") == "receipt" else "invoice",
        "ExternalId": reference,
        "Comment": comments_text(document.get("comments") or []),
    }
    return {"fields": fields, "rows": rows}


def check_totals(name: str, document: dict) -> None:
    """Lines, VAT rows and totals must agree to the cent, else the bookkeeper fixes it in Envoice."""
    lines = document.get("lines") or []
    net = sum((_decimal(name, "line net", line.get("net")) for line in lines), Decimal(0))
    vat = sum((_decimal(name, "line VAT", line.get("vat")) for line in lines), Decimal(0))
    total = _decimal(name, "total", document.get("total"))
    vat_total = _decimal(name, "VAT total", document.get("vat_total"))
    if abs(net + vat - total) > CENT / 2:
        raise RecordRejected(f"{name}: totals do not add up: the lines come to {net:.2f} net + {vat:.2f} VAT = "
                             f"{net + vat:.2f}, but the document total is {total:.2f}; correct it in Envoice",
                             "TOTALS")
    if abs(vat - vat_total) > CENT / 2:
        raise RecordRejected(f"{name}: totals do not add up: the lines carry {vat:.2f} VAT, but the document's "
                             f"VAT total is {vat_total:.2f}; correct it in Envoice", "TOTALS")
    vat_rows = document.get("vat_rows") or []
    if vat_rows:
        rows_vat = sum((_decimal(name, "VAT row", r.get("vat")) for r in vat_rows), Decimal(0))
        if abs(rows_vat - vat_total) > CENT / 2:
            raise RecordRejected(f"{name}: totals do not add up: the VAT rows come to {rows_vat:.2f}, but the "
                                 f"document's VAT total is {vat_total:.2f}; correct it in Envoice", "TOTALS")


def comments_text(comments: list[dict]) -> str:
    return " | ".join(f"{c.get('text', '').strip()} ({c.get('by')})" if c.get("by") else c.get("text", "").strip()
                      for c in comments if c.get("text"))


def purchase_invoice(incoming_key: str, incoming: dict) -> dict:
    """R-B.6: the purchase invoice (VIVc) made from an incoming e-invoice, unapproved (OKFlag 0)."""
    fields = incoming["fields"]
    return {
        "fields": {
            "SerNr": "", "VECode": fields["SupplierCode"], "VEName": fields["SupplierName"],
            "InvoiceNr": fields["InvoiceNr"], "InvDate": fields["InvDate"], "DueDate": fields["DueDate"],
            "CurncyCode": fields["CurncyCode"], "PayVal": fields["TotSum"], "VATVal": fields["VATSum"],
            "OKFlag": "0", "EInvoiceSerNr": incoming_key,
        },
        "rows": [{k: row[k] for k in ("AccNumber", "Objects", "Sum", "VATCode", "Comment")}
                 for row in incoming["rows"]],
    }


def _decimal(name: str, field: str, value) -> Decimal:
    number = checks.amount(name, field, value)
    return number if number is not None else Decimal(0)


def _money(value) -> str:
    number = checks.amount("document", "amount", value)
    return f"{(number or Decimal(0)).quantize(CENT)}"
