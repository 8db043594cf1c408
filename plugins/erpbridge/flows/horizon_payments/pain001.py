"""ISO 20022 pain.001.001.03 credit transfers (SEPA): build one file, validate it against the official XSD.

The XSD is the one the PyPI package ``sepaxml`` ships (pinned in requirements.txt); the document is built here
because a payroll file must be reproducible to the byte (sepaxml draws random ids and the clock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from lxml import etree
from text_unidecode import unidecode

SCHEMA = "pain.001.001.03"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
# the SEPA (EPC) Latin character set; everything else is transliterated or left out
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class InvalidPaymentFile(ValueError):
    """The document built does not validate against the pain.001.001.03 XSD."""


@dataclass(frozen=True)
class CreditTransfer:
    end_to_end_id: str
    name: str  # already in SEPA characters (sepa_text)
    iban: str
    bic: str | None
    amount: Decimal
    remittance: str


@dataclass(frozen=True)
class PaymentOrder:
    msg_id: str
    created: datetime
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    execution_date: date
    transfers: tuple[CreditTransfer, ...]

    @property
    def control_sum(self) -> Decimal:
        return sum((t.amount for t in self.transfers), Decimal("0.00"))


def sepa_text(text: str | None, limit: int) -> str:
    """``text`` in SEPA characters: transliterated (ā -> a, Ł -> L), other marks dropped, spaces collapsed."""
    return " ".join(_NOT_SEPA.sub(" ", unidecode(text or "")).split())[:limit].strip()


def build(order: PaymentOrder) -> bytes:
    """The pain.001.001.03 document of ``order`` (one payment information block, SALA category), validated."""
    nb, total = str(len(order.transfers)), _amount(order.control_sum)
    root = etree.Element("Document", nsmap={None: NAMESPACE})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", order.msg_id)
    _sub(header, "CreDtTm", order.created.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "NbOfTxs", nb)
    _sub(header, "CtrlSum", total)
    _sub(_sub(header, "InitgPty"), "Nm", order.debtor_name)
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", order.msg_id)
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "BtchBookg", "true")
    _sub(info, "NbOfTxs", nb)
    _sub(info, "CtrlSum", total)
    kind = _sub(info, "PmtTpInf")
    _sub(_sub(kind, "SvcLvl"), "Cd", "SEPA")
    _sub(_sub(kind, "CtgyPurp"), "Cd", "SALA")
    _sub(info, "ReqdExctnDt", order.execution_date.isoformat())
    _sub(_sub(info, "Dbtr"), "Nm", order.debtor_name)
    _sub(_sub(_sub(info, "DbtrAcct"), "Id"), "IBAN", order.debtor_iban)
    _agent(_sub(info, "DbtrAgt"), order.debtor_bic)
    _sub(info, "ChrgBr", "SLEV")
    for transfer in order.transfers:
        tx = _sub(info, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", transfer.end_to_end_id)
        _sub(_sub(tx, "Amt"), "InstdAmt", _amount(transfer.amount), Ccy="EUR")
        if transfer.bic:
            _agent(_sub(tx, "CdtrAgt"), transfer.bic)
        _sub(_sub(tx, "Cdtr"), "Nm", transfer.name)
        _sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "IBAN", transfer.iban)
        _sub(_sub(tx, "RmtInf"), "Ustrd", transfer.remittance)
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(document)
    return document


def validate(document: bytes) -> None:
    """Raise InvalidPaymentFile with the XSD's words unless ``document`` is a valid pain.001.001.03."""
    schema = _schema()
    parsed = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    if not schema.validate(parsed):
        raise InvalidPaymentFile("; ".join(f"line {e.line}: {e.message}" for e in schema.error_log))


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    xsd = resources.files("sepaxml").joinpath("schemas", f"{SCHEMA}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd, etree.XMLParser(resolve_entities=False, no_network=True)))


def _agent(parent, bic: str | None) -> None:
    institution = _sub(parent, "FinInstnId")
    if bic:
        _sub(institution, "BIC", bic)
    else:  # EPC: an agent without a BIC is named NOTPROVIDED
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _sub(parent, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element
