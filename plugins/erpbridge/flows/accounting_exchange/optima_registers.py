"""The accounting program's registers read from a Comarch ERP Optima offline XML export ("Struktura plików XML do
pracy rozproszonej", 2.00; ``ROOT xmlns="http://www.comarch.pl/cdn/optima/offline"``), as SaldeoSMART ``*/merge``
items: counterparties from ``KONTRAHENCI/KONTRAHENT``; from every ``REJESTRY_SPRZEDAZY_VAT/REJESTR_SPRZEDAZY_VAT``
and ``REJESTRY_ZAKUPU_VAT/REJESTR_ZAKUPU_VAT`` record the VAT register it names (``REJESTR``), its categories
(``KATEGORIA``, ``POZYCJE/POZYCJA/KATEGORIA_POS``) and payment forms (``FORMA_PLATNOSCI``,
``PLATNOSCI/PLATNOSC/FORMA_PLATNOSCI_PLAT``). Parsed by the project's safe XML parser (no DTD, no entities, no
network), in the encoding the XML declaration names. Pure: a record that cannot be read comes with a
RecordRejected naming the file, the record (``ID_ZRODLA`` and position) and the field; a file that is not an
Optima export of a version read here raises NotOptima.

ASSUMED, verify first (each lives only here): ``DEFAULT_ENCODING`` - a file without an encoding in its XML
declaration is cp1250, as Optima writes; ``KINDS`` - a counterparty's ``RODZAJ`` words ``dostawca`` / ``odbiorca``
make it a supplier / customer; ``VAT_NUMBER`` - ``NIP`` without separators, prefixed with ``NIP_KRAJ`` unless
that is PL; the counterparty's ``AKRONIM`` is its program id and short name (as the Optima writer assumes), its
current address (``ADRESY/ADRES`` with ``STATUS`` aktualny, else the first) its full name (``NAZWA1`` .. ``NAZWA3``)
and address; a register's program id is its name (Optima's file gives none).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange.program_registers import SEPARATORS, Export, Item, named
from erpbridge.hooks.safe_xml import MalformedXml, parse

NAMESPACE = "http://www.comarch.pl/cdn/optima/offline"
VERSIONS = ("2.00",)
DEFAULT_ENCODING = "cp1250"  # DEFAULT_ENCODING
KINDS = {"SUPPLIER": "dostawca", "CUSTOMER": "odbiorca"}  # KINDS: flag -> the RODZAJ word that sets it
REGISTER_SECTIONS = {"REJESTRY_SPRZEDAZY_VAT": "REJESTR_SPRZEDAZY_VAT", "REJESTRY_ZAKUPU_VAT": "REJESTR_ZAKUPU_VAT"}
DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)


class NotOptima(ValueError):
    """The file is not an Optima offline XML export of a version read here."""


def q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def value(element: Element | None, path: str) -> str:
    found = element.find("/".join(q(tag) for tag in path.split("/"))) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def root_of(name: str, content: bytes) -> Element:
    """The file's ROOT, decoded as its declaration says (cp1250 when it names no encoding)."""
    if not DECLARED_ENCODING.match(content):
        content = content.decode(DEFAULT_ENCODING).encode("utf-8")
    try:
        root = parse(content)
    except MalformedXml as exc:
        raise NotOptima(f"{name} is not readable XML: {exc}") from None
    if root.tag != q("ROOT"):
        raise NotOptima(f"{name} is not an Optima offline export: its root is {root.tag}, not ROOT in {NAMESPACE}")
    for block in root:
        version = value(block, "WERSJA")
        if version not in VERSIONS:
            section = block.tag.removeprefix(f"{{{NAMESPACE}}}")
            raise NotOptima(f"{name}: section {section} is version {version or '(none)'}, this reader reads "
                            f"{', '.join(VERSIONS)}")
    return root


def read(name: str, content: bytes) -> Export:
    """Every register item of one Optima export, a record that cannot be read with its refusal."""
    root = root_of(name, content)
    export = Export()
    for position, record in enumerate(root.findall(f"{q('KONTRAHENCI')}/{q('KONTRAHENT')}"), start=1):
        where = f"{name}, KONTRAHENT {value(record, 'ID_ZRODLA') or '(no ID_ZRODLA)'} (position {position})"
        try:
            export.entries.append((contractor(record, where), None))
        except RecordRejected as refused:
            key = value(record, "AKRONIM") or value(record, "ID_ZRODLA") or where
            export.entries.append((Item("contractor", key, {}, where), refused))
    for section, tag in REGISTER_SECTIONS.items():
        for position, record in enumerate(root.findall(f"{q(section)}/{q(tag)}"), start=1):
            where = f"{name}, {tag} {value(record, 'ID_ZRODLA') or '(no ID_ZRODLA)'} (position {position})"
            export.entries.extend(register_items(record, where))
    return export


def contractor(record: Element, where: str) -> Item:
    """A KONTRAHENT as a ``contractor/merge`` item."""
    code = value(record, "AKRONIM")
    if not code:
        raise RecordRejected(f"counterparty at {where}: field AKRONIM is empty; SaldeoSMART keys the counterparty "
                             "by it", "INVALID_DATA")
    addresses = record.findall(f"{q('ADRESY')}/{q('ADRES')}")
    address = next((a for a in addresses if value(a, "STATUS") == "aktualny"), addresses[0] if addresses else None)
    full_name = " ".join(filter(None, (value(address, f"NAZWA{n}") for n in (1, 2, 3))))
    if not full_name:
        raise RecordRejected(f"counterparty {code} ({where}): field ADRESY/ADRES/NAZWA1 is empty; SaldeoSMART needs "
                             "the counterparty's full name", "INVALID_DATA")
    kinds = value(record, "RODZAJ").lower().split()
    nip = SEPARATORS.sub("", value(address, "NIP"))
    country = value(address, "NIP_KRAJ").upper()
    street = " ".join(filter(None, (value(address, "ULICA"), value(address, "NR_DOMU"))))
    if value(address, "NR_LOKALU"):
        street = f"{street}/{value(address, 'NR_LOKALU')}"
    return Item("contractor", code, {
        "CONTRACTOR_PROGRAM_ID": code, "SHORT_NAME": code, "FULL_NAME": full_name,
        **{flag: "true" if word in kinds else "false" for flag, word in KINDS.items()},
        "VAT_NUMBER": (f"{country}{nip}" if country not in ("", "PL") else nip) or None,
        "CITY": value(address, "MIASTO") or None, "POSTCODE": value(address, "KOD_POCZTOWY") or None,
        "STREET": street or None, "TELEPHONE": value(address, "TELEFON1") or value(address, "TELEFON") or None,
        "COUNTRY_ISO3166A2": value(record, "KRAJ_ISO") or None,
    }, where)


def register_items(record: Element, where: str) -> list[tuple[Item, RecordRejected | None]]:
    """The VAT register a register record names, its categories and payment forms (an empty one names none)."""
    register = value(record, "REJESTR")
    if register:
        items = [(named("register", register, where), None)]
    else:
        key = value(record, "ID_ZRODLA") or where
        refused = RecordRejected(f"VAT register record at {where}: field REJESTR is empty; the record names no VAT "
                                 "register", "INVALID_DATA")
        items = [(Item("register", key, {}, where), refused)]
    categories = [value(record, "KATEGORIA")] + [value(p, "KATEGORIA_POS")
                                                for p in record.findall(f"{q('POZYCJE')}/{q('POZYCJA')}")]
    payment_forms = [value(record, "FORMA_PLATNOSCI")] + [
        value(p, "FORMA_PLATNOSCI_PLAT") for p in record.findall(f"{q('PLATNOSCI')}/{q('PLATNOSC')}")]
    items += [(named("category", name, where), None) for name in dict.fromkeys(categories) if name]
    items += [(named("payment_method", name, where), None) for name in dict.fromkeys(payment_forms) if name]
    return items

