"""EPP (EDI++ 1.05) files checked byte for byte against a hand-verified expected file, and read back by a reader
written here from the format description (the csv module, sharing nothing with the writer): encoding, CRLF,
field counts, dates, decimals, VAT symbols, the correction naming its document, VAT rows summing to the header,
and the counterparty cards (section KONTRAHENCI, 30 fields of 1.05's card table): one per code the headers name."""

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
CARD_FIELDS = 30  # "Struktura przesylanej kartoteki kontrahentow" of EDI++ 1.05


def read_epp(data: bytes) -> dict:
    """The format description's reading: cp1250 text, CRLF lines, [LABEL] sections, comma-separated fields with
    double-quoted texts, a card section's [NAGLOWEK] holding just its keyword; returns the [INFO] fields,
    (header, VAT rows) per document and the rows of each card section by keyword."""
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
    documents, cards = [], {}
    for (label, rows), (next_label, content) in zip(sections[1::2], sections[2::2]):
        assert (label, next_label, len(rows)) == ("NAGLOWEK", "ZAWARTOSC", 1)
        if len(rows[0]) == 1:
            cards[rows[0][0]] = content
        else:
            documents.append((rows[0], content))
    assert len(sections) == 1 + 2 * (len(documents) + len(cards))
    return {"info": sections[0][1][0], "documents": documents, "cards": cards}


def written(*documents, cards: bool = True) -> bytes:
    return epp.render([to_accounting(d, SETTINGS, VARIABLE) for d in documents], SETTINGS.sender, cards=cards)


def test_the_file_is_byte_for_byte_the_hand_verified_one():
    assert written(COST, SALE, SALE_CORRECTION) == EXPECTED.read_bytes()


def test_an_independent_reader_reads_back_the_same_totals():
    parsed = read_epp(written(COST, SALE, SALE_CORRECTION))
    info = parsed["info"]
    assert len(info) == 24 and info[:3] == ["1.05", "0", "1250"] and info[7] == "Kraków"  # 0: to an accounting office
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


def test_the_cards_describe_each_counterparty_the_headers_name_once():
    parsed = read_epp(written(COST, SALE, SALE_CORRECTION))
    assert list(parsed["cards"]) == ["KONTRAHENCI"]
    cards = parsed["cards"]["KONTRAHENCI"]
    assert all(len(card) == CARD_FIELDS for card in cards)
    by_code = {card[1]: card for card in cards}
    assert list(by_code) == ["K-001", "O-17"] and len(cards) == 2  # one card per code, in code order
    for header, _ in parsed["documents"]:
        card = by_code[header[11]]  # header field 12: the counterparty's code
        assert card[2:8] == header[12:18]  # short and full name, city, postcode, street, NIP as the header has them
        assert card[0] == "0" and card[27:] == header[59:] == ["Polska", "PL", "0"]  # customer / supplier, domestic
        assert card[8:27] == [""] * 19  # REGON .. bank account: the hub gives none
    assert by_code["K-001"][2:8] == ['Papiernik "Żółw"', "Papiernik Żółw Sp. z o.o.", "Łódź", "90-001",
                                     "ul. Łąkowa 7", "5252344078"]


def test_a_code_named_by_several_documents_gets_one_card_with_the_last_documents_data():
    moved = {**SALE["contractor"], "street": "ul. Nowa 5", "postcode": "00-001"}
    later = hub_document(5009, number="FS 9/2026", document_type={"short_name": "FS", "model_type": "INVOICE_SALES"},
                         category="Sprzedaż towarów", contractor=moved)
    parsed = read_epp(written(SALE, later))
    [card] = parsed["cards"]["KONTRAHENCI"]
    assert card[1:3] == ["O-17", "Odbiorca"] and (card[5], card[6]) == ("00-001", "ul. Nowa 5")
    assert [h[16] for h, _ in parsed["documents"]] == ["ul. Prosta 2", "ul. Nowa 5"]  # each header as on its document


def test_cards_switched_off_leave_the_documents_as_they_are():
    with_cards, without = written(COST, SALE), written(COST, SALE, cards=False)
    assert read_epp(without)["cards"] == {}
    assert with_cards.startswith(without) and with_cards[len(without):].startswith(b'[NAGLOWEK]\r\n"KONTRAHENCI"')


def test_the_registers_flows_reader_takes_the_cards_back_as_the_hubs_contractors():
    from erpbridge.flows.accounting_exchange import program_registers

    export = program_registers.read("export.epp", EXPECTED.read_bytes())
    contractors = {item.program_id: item.fields for item, refused in export.entries if item.kind == "contractor"}
    assert all(refused is None for _, refused in export.entries)
    assert {code: (f["FULL_NAME"], f["VAT_NUMBER"], f["SUPPLIER"], f["CUSTOMER"])
            for code, f in contractors.items()} == {
        "K-001": ("Papiernik Żółw Sp. z o.o.", "5252344078", "true", "true"),
        "O-17": ("Odbiorca SA", "1132853869", "true", "true")}


def test_a_counterparty_code_longer_than_the_header_holds_is_refused_naming_the_document_and_field():
    def document(document_id: int, code: str):
        contractor = {**COST["contractor"], "contractor_program_id": code}
        return to_accounting(hub_document(document_id, contractor=contractor), SETTINGS, VARIABLE)

    with pytest.raises(RecordRejected) as refused:
        epp.check(document(7002, "K" * 21), SETTINGS, VARIABLE)
    assert refused.value.category == "INVALID_DATA"
    assert refused.value.reason.startswith(f"document FV 7002/01/2026 (Saldeo id 7002): field "
                                           f"CONTRACTOR/CONTRACTOR_PROGRAM_ID '{'K' * 21}' has 21 characters")
    epp.check(document(7003, "K" * 20), SETTINGS, VARIABLE)  # 20 fit


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
