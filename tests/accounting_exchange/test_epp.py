"""EPP (EDI++ 1.05) files checked byte for byte against a hand-verified expected file, and read back by a reader
written here from the format description (the csv module, sharing nothing with the writer): encoding, CRLF,
field counts, dates, decimals, VAT symbols, the correction naming its document, VAT rows summing to the header."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange import epp
from erpbridge.flows.accounting_exchange.documents import to_accounting
from tests.accounting_exchange.samples import COST, SALE, SALE_CORRECTION, SETTINGS, VARIABLE, hub_document

EXPECTED = Path(__file__).parent / "expected" / "cost_sale_correction.epp"
DATE = re.compile(r"^\d{14}$")
DECIMAL = re.compile(r"^-?\d+\.\d{4}$")
VAT_SYMBOLS = {"23", "8", "5", "0", "zw", "ex", "ue", "npo", "oo", "np"}


def read_epp(data: bytes) -> dict:
    """The format description's reading: cp1250 text, CRLF lines, [LABEL] sections, comma-separated fields with
    double-quoted texts; returns the [INFO] fields and (header, VAT rows) per document."""
    assert b"\n" not in data.replace(b"\r\n", b""), "a line ends without CR"
    assert data.endswith(b"\r\n\r\n"), "the file ends with a blank line"
    lines = data.decode("cp1250").split("\r\n")
    sections, current = [], None
    for row in lines:
        if re.fullmatch(r"\[[A-Z]+\]", row):
            current = (row[1:-1], [])
            sections.append(current)
        elif row:
            current[1].append(next(csv.reader([row], quotechar='"', doublequote=True, strict=True)))
    assert sections[0][0] == "INFO" and len(sections[0][1]) == 1
    documents = []
    for (label, rows), (next_label, vat_rows) in zip(sections[1::2], sections[2::2]):
        assert (label, next_label, len(rows)) == ("NAGLOWEK", "ZAWARTOSC", 1)
        documents.append((rows[0], vat_rows))
    assert len(sections) == 1 + 2 * len(documents)
    return {"info": sections[0][1][0], "documents": documents}


def written(*documents) -> bytes:
    return epp.render([to_accounting(d, SETTINGS, VARIABLE) for d in documents], SETTINGS.sender)


def test_the_file_is_byte_for_byte_the_hand_verified_one():
    assert written(COST, SALE, SALE_CORRECTION) == EXPECTED.read_bytes()


def test_an_independent_reader_reads_back_the_same_totals():
    parsed = read_epp(written(COST, SALE, SALE_CORRECTION))
    info = parsed["info"]
    assert len(info) == 24 and info[0] == "1.05" and info[2] == "1250" and info[7] == "Kraków"
    assert (info[16], info[17]) == ("20260115000000", "20260120000000")  # the period of the documents
    totals = []
    for header, vat_rows in parsed["documents"]:
        assert len(header) == 62
        assert all(len(row) == 18 for row in vat_rows)
        for index in (21, 22, 23):  # issue, sale, receive dates
            assert DATE.match(header[index])
        for index in (27, 28, 29):
            assert DECIMAL.match(header[index])
        assert {row[0] for row in vat_rows} <= VAT_SYMBOLS
        net, vat, gross = (sum(Decimal(row[i]) for row in vat_rows) for i in (2, 3, 4))
        assert (Decimal(header[27]), Decimal(header[28]), Decimal(header[29])) == (net, vat, gross)
        assert all(Decimal(row[2]) + Decimal(row[3]) == Decimal(row[4]) for row in vat_rows)
        assert int(header[24]) == len(vat_rows)
        totals.append((header[0], header[6], header[18], gross))
    assert totals == [("FZ", "FV 5001/01/2026", "402-01", Decimal("177.54")),
                      ("FS", "FS 3/2026", "702", Decimal("1618.50")),
                      ("KFS", "KOR 1/2026", "702", Decimal("-288.51"))]
    correction = parsed["documents"][2][0]
    assert (correction[7], correction[8]) == ("FS 3/2026", "20260115000000")  # names the corrected document
    cost = parsed["documents"][0][0]
    assert cost[12] == 'Papiernik "Żółw"' and cost[48] == "KSeF: 5252344078-20260115-0A1B2C3D4E5F-6A"


def test_the_same_documents_give_the_same_bytes():
    assert written(COST, SALE) == written(COST, SALE)


def test_an_unknown_format_version_is_refused_naming_the_ones_written():
    with pytest.raises(epp.UnknownFormatVersion, match="'1.11' is not one this export writes .*1.05"):
        epp.render([to_accounting(COST, SETTINGS, VARIABLE)], SETTINGS.sender, version="1.11")


@pytest.mark.parametrize("change, field, category", [
    ({"category": "Paliwo"}, "field CATEGORY 'Paliwo' has no account mapping", "UNMAPPED_ACCOUNT"),
    ({"vat_registries": [{"rate": "7", "netto": "1.00", "vat": "0.07"}]}, "VAT_REGISTRY[1]/RATE '7'", "UNMAPPED_VAT_RATE"),
    ({"document_type": {"model_type": "ORDER"}}, "DOCUMENT_TYPE/MODEL_TYPE 'ORDER'", "UNMAPPED_DOCUMENT_TYPE"),
    ({"vat_registries": [{"rate": "23", "netto": "1.005", "vat": "0.23"}]}, "NETTO '1.005' is not an amount", "INVALID_DATA"),
    ({"is_corrective": "true", "corr_inv_num": ""}, "CORR_INV_NUM is empty", "INVALID_DATA"),
    ({"number": "FV 1/2026 ✓"}, "field NUMBER", "INVALID_DATA"),
    ({"contractor": {"short_name": "Nobody"}}, "CONTRACTOR/CONTRACTOR_PROGRAM_ID and CONTRACTOR/VAT_NUMBER are both",
     "INVALID_DATA"),
])
def test_a_document_that_cannot_be_mapped_is_refused_naming_it_and_the_field(change, field, category):
    with pytest.raises(RecordRejected) as refused:
        to_accounting(hub_document(7001, **change), SETTINGS, VARIABLE)
    assert refused.value.category == category
    assert "(Saldeo id 7001)" in refused.value.reason and field in refused.value.reason
