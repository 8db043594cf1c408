"""KSeF FA(3) files read back with xmlschema against the official XSD that ksef-client ships (the imports mapped
to its local copies: offline) and with ElementTree, nothing shared with the writer: a cost and a sales invoice
and a correction, each a valid FA(3) document with the right seller and buyer, totals per rate summing to P_15,
the same bytes when written again; what the schema would refuse is refused by document and field."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from importlib import resources
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange import ksef_fa3
from erpbridge.flows.accounting_exchange.documents import to_accounting
from tests.accounting_exchange.samples import COST, SALE, SALE_CORRECTION, SETTINGS, VARIABLE

NS = {"f": "http://crd.gov.pl/wzor/2025/06/25/13775/"}
FA3_SETTINGS = SETTINGS.model_copy(update={"format": "ksef_fa3", "format_version": "1-0E",
                                           "ksef_exemption_basis": "art. 43 ust. 1 pkt 37 ustawy o VAT"})


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    schemas = resources.files("ksef_client.documents.fa3.schemas")
    types = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
    return xmlschema.XMLSchema(str(schemas / "schemat_FA(3)_v1-0E.xsd"), allow="local",
                               locations=[(types, str(schemas / "StrukturyDanych_v10-0E.xsd")),
                                          (types, str(schemas / "ElementarneTypyDanych_v10-0E.xsd")),
                                          (types, str(schemas / "KodyKrajow_v10-0E.xsd"))])


def written(*documents, settings=FA3_SETTINGS) -> dict[str, bytes]:
    data = ksef_fa3.render([to_accounting(d, settings, VARIABLE) for d in documents], settings)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def text(root: ET.Element, path: str) -> str | None:
    return root.findtext("/".join(f"f:{part}" for part in path.split("/")), namespaces=NS)


def test_each_document_is_a_valid_fa3_invoice_with_its_seller_buyer_and_totals(schema):
    entries = written(COST, SALE, SALE_CORRECTION)
    assert sorted(entries) == ["5001.xml", "5002.xml", "5003.xml"]
    for name, xml in entries.items():
        schema.validate(xml.decode())  # raises with the schema's reason
        root = ET.fromstring(xml)
        assert root.find("f:Naglowek/f:KodFormularza", NS).attrib == {"kodSystemowy": "FA (3)", "wersjaSchemy": "1-0E"}
        amounts = [Decimal(e.text) for e in root.find("f:Fa", NS) if e.tag.split("}")[1].startswith(("P_13", "P_14"))]
        assert sum(amounts) == Decimal(text(root, "Fa/P_15")), name
    cost, sale, correction = (ET.fromstring(entries[n]) for n in ("5001.xml", "5002.xml", "5003.xml"))
    assert (text(cost, "Podmiot1/DaneIdentyfikacyjne/NIP"), text(cost, "Podmiot2/DaneIdentyfikacyjne/NIP")) == \
        ("5252344078", "7010020030")  # a cost invoice: the counterparty sold to the company
    assert (text(sale, "Podmiot1/DaneIdentyfikacyjne/NIP"), text(sale, "Podmiot2/DaneIdentyfikacyjne/NIP")) == \
        ("7010020030", "1132853869")
    assert (text(cost, "Fa/P_13_1"), text(cost, "Fa/P_14_1"), text(cost, "Fa/P_13_2"), text(cost, "Fa/P_14_2")) == \
        ("100.00", "23.00", "50.50", "4.04")
    assert (text(sale, "Fa/P_13_7"), text(sale, "Fa/Adnotacje/Zwolnienie/P_19A")) == \
        ("99.99", "art. 43 ust. 1 pkt 37 ustawy o VAT")
    assert (text(correction, "Fa/RodzajFaktury"), text(correction, "Fa/DaneFaKorygowanej/NrFaKorygowanej"),
            text(correction, "Fa/DaneFaKorygowanej/DataWystFaKorygowanej"), text(correction, "Fa/P_15")) == \
        ("KOR", "FS 3/2026", "2026-01-15", "-288.51")
    assert (text(cost, "Fa/RodzajFaktury"), text(cost, "Fa/P_6"), text(cost, "Fa/P_2")) == \
        ("VAT", "2026-01-14", "FV 5001/01/2026")


def test_written_again_the_same_bytes_whatever_the_order():
    documents = [to_accounting(d, FA3_SETTINGS, VARIABLE) for d in (COST, SALE, SALE_CORRECTION)]
    assert ksef_fa3.render(documents, FA3_SETTINGS) == ksef_fa3.render(documents[::-1], FA3_SETTINGS)


def test_what_the_schema_or_the_format_would_refuse_is_refused_by_document_and_field():
    without_basis = FA3_SETTINGS.model_copy(update={"ksef_exemption_basis": ""})
    with pytest.raises(RecordRejected) as refused:
        ksef_fa3.check(to_accounting(SALE, without_basis, VARIABLE), without_basis, VARIABLE)
    assert "document FS 3/2026 (Saldeo id 5002)" in refused.value.reason
    assert "ksef_exemption_basis" in refused.value.reason and refused.value.category == "UNMAPPED_EXEMPTION"

    bad_nip = {**COST, "contractor": {**COST["contractor"], "vat_number": "52523"}}
    with pytest.raises(RecordRejected) as refused:
        ksef_fa3.check(to_accounting(bad_nip, FA3_SETTINGS, VARIABLE), FA3_SETTINGS, VARIABLE)
    assert refused.value.reason.startswith("document FV 5001/01/2026 (Saldeo id 5001): not a valid FA(3) invoice: "
                                           "Faktura/Podmiot1/DaneIdentyfikacyjne/NIP: Element 'NIP': [facet 'pattern'] "
                                           "The value '52523' is not accepted")
    assert refused.value.category == "INVALID_DATA"
    ksef_fa3.check(to_accounting(COST, FA3_SETTINGS, VARIABLE), FA3_SETTINGS, VARIABLE)  # the good one passes
