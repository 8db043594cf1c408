"""Comarch ERP Optima offline XML read back with ElementTree (namespace-aware, nothing shared with the writer):
cp1250 declared, the three sections at version 2.00, every document's counterparty in KONTRAHENCI, VAT rows
summing to the amount due, corrections naming their document, and the same GUIDs and bytes when written again."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree as ET

from erpbridge.flows.accounting_exchange import optima
from erpbridge.flows.accounting_exchange.documents import to_accounting
from tests.accounting_exchange.samples import COST, SALE, SALE_CORRECTION, SETTINGS, VARIABLE, hub_document

NS = {"o": "http://www.comarch.pl/cdn/optima/offline"}


def written(*documents, company: str = "BIURO-1") -> bytes:
    return optima.render([to_accounting(d, SETTINGS, VARIABLE) for d in documents], company, SETTINGS.registers)


def records(root: ET.Element) -> dict[str, ET.Element]:
    found = root.findall("o:REJESTRY_SPRZEDAZY_VAT/o:REJESTR_SPRZEDAZY_VAT", NS) + \
        root.findall("o:REJESTRY_ZAKUPU_VAT/o:REJESTR_ZAKUPU_VAT", NS)
    return {r.findtext("o:NUMER", namespaces=NS): r for r in found}


def test_the_file_reads_back_with_every_counterparty_and_the_totals():
    data = written(COST, SALE, SALE_CORRECTION)
    assert data.startswith(b"<?xml version='1.0' encoding='windows-1250'?>")
    assert "Łódź".encode("cp1250") in data
    root = ET.fromstring(data)
    assert root.tag == "{http://www.comarch.pl/cdn/optima/offline}ROOT"
    for name in ("KONTRAHENCI", "REJESTRY_SPRZEDAZY_VAT", "REJESTRY_ZAKUPU_VAT"):
        assert root.findtext(f"o:{name}/o:WERSJA", namespaces=NS) == "2.00"
    counterparties = {k.findtext("o:ID_ZRODLA", namespaces=NS): k.findtext("o:AKRONIM", namespaces=NS)
                      for k in root.findall("o:KONTRAHENCI/o:KONTRAHENT", NS)}
    assert sorted(counterparties.values()) == ["K-001", "O-17"]  # each once, though O-17 has two documents
    found = records(root)
    assert sorted(found) == ["FS 3/2026", "FV 5001/01/2026", "KOR 1/2026"]
    assert [r.findtext("o:NUMER", namespaces=NS) for r in root.findall(
        "o:REJESTRY_ZAKUPU_VAT/o:REJESTR_ZAKUPU_VAT", NS)] == ["FV 5001/01/2026"]
    for record in found.values():
        assert counterparties[record.findtext("o:PODMIOT_ID", namespaces=NS)] == record.findtext("o:PODMIOT", namespaces=NS)
        rows = record.findall("o:POZYCJE/o:POZYCJA", NS)
        total = sum(Decimal(r.findtext("o:NETTO", namespaces=NS)) + Decimal(r.findtext("o:VAT", namespaces=NS))
                    for r in rows)
        assert total == Decimal(record.findtext("o:PLATNOSCI/o:PLATNOSC/o:KWOTA_PLAT", namespaces=NS))
    cost, correction = found["FV 5001/01/2026"], found["KOR 1/2026"]
    assert cost.findtext("o:NR_KSEF", namespaces=NS) == "5252344078-20260115-0A1B2C3D4E5F-6A"
    assert cost.findtext("o:REJESTR", namespaces=NS) == "ZAKUP" and cost.findtext("o:KATEGORIA", namespaces=NS) == "402-01"
    assert (correction.findtext("o:KOREKTA", namespaces=NS), correction.findtext("o:KOREKTA_NUMER", namespaces=NS)) == \
        ("Tak", "FS 3/2026")
    assert [r.findtext("o:STATUS_VAT", namespaces=NS) for r in found["FS 3/2026"].findall("o:POZYCJE/o:POZYCJA", NS)] \
        == ["opodatkowana", "zwolniona"]


def test_written_again_the_same_guids_and_bytes():
    first = written(COST, SALE, SALE_CORRECTION)
    assert written(SALE_CORRECTION, COST, SALE) == first  # the order documents come in does not matter
    alone = records(ET.fromstring(written(COST)))["FV 5001/01/2026"]
    together = records(ET.fromstring(first))["FV 5001/01/2026"]
    assert alone.findtext("o:ID_ZRODLA", namespaces=NS) == together.findtext("o:ID_ZRODLA", namespaces=NS)
    other_company = records(ET.fromstring(written(COST, company="BIURO-2")))["FV 5001/01/2026"]
    assert other_company.findtext("o:ID_ZRODLA", namespaces=NS) != alone.findtext("o:ID_ZRODLA", namespaces=NS)


def test_guids_differ_per_document():
    root = ET.fromstring(written(COST, hub_document(5009)))
    ids = [r.findtext("o:ID_ZRODLA", namespaces=NS) for r in root.iter("{%s}REJESTR_ZAKUPU_VAT" % NS["o"])]
    assert len(ids) == len(set(ids)) == 2
