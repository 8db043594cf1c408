"""Hub documents (as SaldeoHook returns them) and the settings the accounting-exchange tests share."""

from __future__ import annotations

from erpbridge.catalog import flow
from erpbridge.flows.accounting_exchange.settings import AccountingExportSettings

VARIABLE = flow("saldeo_accounting_export").settings_variable  # the default company's

SETTINGS = AccountingExportSettings(
    company_program_id="BIURO-1",
    sender={"code": "KLIENT1", "short_name": "Klient Biura", "full_name": "Klient Biura Sp. z o.o.",
            "city": "Kraków", "postcode": "30-001", "street": "ul. Floriańska 1", "nip": "7010020030"},
    accounts={"Materiały biurowe": "402-01", "Usługi": "402-02", "Sprzedaż towarów": "702"},
)


def hub_document(document_id: int, **fields) -> dict:
    """One document as the hook gives it (the API's tags in lower case)."""
    base = {
        "document_id": str(document_id), "guid": f"saldeo-{document_id:08d}", "number": f"FV {document_id}/01/2026",
        "document_type": {"short_name": "FZ", "model_type": "INVOICE_COST"},
        "issue_date": "2026-01-15", "sale_date": "2026-01-14", "receive_date": "2026-01-16",
        "payment_date": "2026-01-29", "category": "Materiały biurowe", "is_corrective": "false",
        "currency_iso4217": "PLN", "ksef_number": "5252344078-20260115-0A1B2C3D4E5F-6A",
        "contractor": {"contractor_program_id": "K-001", "short_name": "Papiernik \"Żółw\"",
                       "full_name": "Papiernik Żółw Sp. z o.o.", "vat_number": "5252344078",
                       "street": "ul. Łąkowa 7", "city": "Łódź", "postcode": "90-001"},
        "vat_registries": [{"rate": "23", "netto": "100.00", "vat": "23.00"},
                           {"rate": "8", "netto": "50.50", "vat": "4.04"}],
    }
    return {**base, **fields}


COST = hub_document(5001)
SALE = hub_document(5002, number="FS 3/2026", document_type={"short_name": "FS", "model_type": "INVOICE_SALES"},
                    category="Sprzedaż towarów", ksef_number="",
                    contractor={"contractor_program_id": "O-17", "short_name": "Odbiorca", "full_name": "Odbiorca SA",
                                "vat_number": "1132853869", "street": "ul. Prosta 2", "city": "Warszawa",
                                "postcode": "00-850"},
                    vat_registries=[{"rate": "23", "netto": "1234.56", "vat": "283.95"},
                                    {"rate": "ZW", "netto": "99.99", "vat": "0.00"}])
SALE_CORRECTION = hub_document(5003, number="KOR 1/2026", document_type={"short_name": "KFS", "model_type": "INVOICE_SALES"},
                               category="Sprzedaż towarów", is_corrective="true", corr_inv_num="FS 3/2026",
                               corr_inv_date="2026-01-15", issue_date="2026-01-20", sale_date="2026-01-14",
                               receive_date=None, payment_date=None, ksef_number="",
                               contractor=SALE["contractor"],
                               vat_registries=[{"rate": "23", "netto": "-234.56", "vat": "-53.95"}])
