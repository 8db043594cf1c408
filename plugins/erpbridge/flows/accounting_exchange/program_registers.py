"""The accounting program's registers read from its EPP (EDI++) export: counterparties from the card section
``KONTRAHENCI`` (Table 14 of "Komunikacja - Struktura danych EDI++"), document categories and payment forms
from the document headers (Table 3: field 19 "Kategoria (nazwa)", field 34 "Forma platnosci (nazwa)"), the
exporting company from ``[INFO]`` (fields 5-11: code, short name, full name, city, postcode, street, NIP), as
SaldeoSMART ``*/merge`` (and ``company/*``) items. Pure: a card that cannot be read comes with a RecordRejected
naming the file, the line and the field; a file that is not EDI++ raises NotEpp.

ASSUMED, verify first (EDI++ names no ids for these): a category's and a payment form's program id in the hub
is its name; a NIP is sent without the spaces and dashes a program may keep in it; ``COMPANY_KEY`` - a company
is known by its NIP, and its code in the program is its program id in the hub.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from erpbridge.errors import RecordRejected

CODE_PAGE = "cp1250"
CARD_CONTRACTORS = "KONTRAHENCI"
CONTRACTOR_FIELDS = 8  # type .. NIP: what a counterparty card needs at least (later fields are optional here)
HEADER_FIELDS = 62  # a document header of EDI++ 1.05
CATEGORY_FIELD, PAYMENT_FORM_FIELD = 19, 34  # 1-based fields of a document header
INFO_COMPANY = {"COMPANY_PROGRAM_ID": 5, "SHORT_NAME": 6, "FULL_NAME": 7, "CITY": 8, "POSTCODE": 9, "STREET": 10,
                "VAT_NUMBER": 11}  # 1-based [INFO] fields of the exporting company
SUPPLIER_TYPES, CUSTOMER_TYPES = {0, 1, 4, 5, 7, 8}, {0, 2, 3, 4, 6, 7, 9}  # Table 14, field 1
SEPARATORS = re.compile(r"[\s-]+")


class NotEpp(ValueError):
    """The file is not an EDI++ export (no [INFO] section first)."""


@dataclass
class Item:
    """One register item as SaldeoSMART's merge takes it; ``where`` says which file and line it came from."""

    kind: str  # contractor, category, register, payment_method, company
    program_id: str
    fields: dict[str, str | None]
    where: str


@dataclass
class Export:
    """The items in the order the files give them, each with its refusal (None: readable)."""

    entries: list[tuple[Item, RecordRejected | None]] = field(default_factory=list)


def read(name: str, content: bytes) -> Export:
    """Every register item of one exported file, a row that cannot be read with its refusal."""
    export = Export()
    section, keyword = None, None
    lines = content.decode(CODE_PAGE).splitlines()
    if not lines or lines[0].strip() != "[INFO]":
        raise NotEpp(f"{name} is not an EDI++ (EPP) export: its first line is not [INFO]")
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or row == [""]:
            continue
        label = row[0].strip() if len(row) == 1 else ""
        if label in ("[INFO]", "[NAGLOWEK]", "[ZAWARTOSC]"):
            section = label
            if label == "[NAGLOWEK]":
                keyword = None
            continue
        where = f"{name} line {number}"
        if section == "[INFO]":
            try:
                export.entries.append((company(row, where), None))
            except RecordRejected as refused:
                code_at = INFO_COMPANY["COMPANY_PROGRAM_ID"]
                code = row[code_at - 1].strip() if len(row) >= code_at else ""
                export.entries.append((Item("company", code or where, {}, where), refused))
        elif section == "[NAGLOWEK]" and len(row) == 1:
            keyword = row[0].strip()
        elif section == "[NAGLOWEK]":
            keyword = "document"
            export.entries.extend((item, None) for item in document_items(row, where))
        elif section == "[ZAWARTOSC]" and keyword == CARD_CONTRACTORS:
            try:
                export.entries.append((contractor(row, where), None))
            except RecordRejected as refused:
                code = row[1].strip() if len(row) > 1 else ""
                export.entries.append((Item("contractor", code or where, {}, where), refused))
    return export


def contractor(row: list[str], where: str) -> Item:
    """A counterparty card (Table 14) as a ``contractor/merge`` item."""
    if len(row) < CONTRACTOR_FIELDS:
        raise RecordRejected(f"counterparty card at {where}: {len(row)} fields where the card has at least "
                             f"{CONTRACTOR_FIELDS}", "INVALID_DATA")
    code = row[1].strip()
    name = f"counterparty {code or '(no code)'} ({where})"
    if not code:
        raise RecordRejected(f"{name}: field 2 (Kod identyfikacyjny) is empty; SaldeoSMART keys the counterparty "
                             "by it", "INVALID_DATA")
    if not row[0].strip().isdigit() or int(row[0]) not in SUPPLIER_TYPES | CUSTOMER_TYPES:
        raise RecordRejected(f"{name}: field 1 (Typ kontrahenta) {row[0]!r} is not a type 0-9 of the format",
                             "INVALID_DATA")
    kind = int(row[0])

    def optional(position: int) -> str | None:
        return row[position - 1].strip() or None if len(row) >= position else None

    return Item("contractor", code, {
        "CONTRACTOR_PROGRAM_ID": code, "SHORT_NAME": row[2].strip(), "FULL_NAME": row[3].strip(),
        "SUPPLIER": "true" if kind in SUPPLIER_TYPES else "false",
        "CUSTOMER": "true" if kind in CUSTOMER_TYPES else "false",
        "VAT_NUMBER": SEPARATORS.sub("", row[7]) or None, "CITY": optional(5), "POSTCODE": optional(6),
        "STREET": optional(7), "TELEPHONE": optional(10), "CONTACT_PERSON": optional(15),
        "COUNTRY_ISO3166A2": optional(31),
    }, where)


def company(row: list[str], where: str) -> Item:
    """The exporting company ([INFO]) as a ``company/create`` item keyed by its NIP (``COMPANY_KEY``)."""
    if len(row) < max(INFO_COMPANY.values()):
        raise RecordRejected(f"[INFO] at {where}: {len(row)} fields where the section has 24", "INVALID_DATA")
    fields = {tag: row[position - 1].strip() for tag, position in INFO_COMPANY.items()}
    fields["VAT_NUMBER"] = SEPARATORS.sub("", fields["VAT_NUMBER"])
    for tag, label in (("COMPANY_PROGRAM_ID", "the company's code"), ("VAT_NUMBER", "NIP")):
        if not fields[tag]:
            raise RecordRejected(f"company {fields['FULL_NAME'] or fields['COMPANY_PROGRAM_ID'] or '(no name)'} "
                                 f"([INFO] at {where}): field {INFO_COMPANY[tag]} ({label}) is empty; the hub company "
                                 "is found and named by it", "INVALID_DATA")
    return Item("company", fields["VAT_NUMBER"], fields, where)  # COMPANY_KEY


def named(kind: str, name: str, where: str) -> Item:
    """A register item known by its name alone (its program id)."""
    return Item(kind, name, {f"{kind.upper()}_PROGRAM_ID": name, "NAME": name}, where)


def document_items(row: list[str], where: str) -> list[Item]:
    """The category and payment form a document header names (none when its fields are empty)."""
    if len(row) != HEADER_FIELDS:
        return []  # not a trade document's header (e.g. a cash document): it names neither
    return [named(kind, row[position - 1].strip(), where)
            for kind, position in (("category", CATEGORY_FIELD), ("payment_method", PAYMENT_FORM_FIELD))
            if row[position - 1].strip()]
