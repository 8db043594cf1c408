"""Settings of the accounting export (the default company's Variable: ``erpbridge_saldeo_accounting``),
validated at run start.

The format version is checked by the export itself (not here), so that a wrong one is reported in the
transfer log as its own failure kind rather than as a settings error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from erpbridge.engine.destinations import LOCATION
from erpbridge.settings import Strict

Text = Annotated[str, Field(min_length=1)]


class Sender(Strict):
    """The company whose documents these are, as the file's [INFO] section names it."""

    code: str = ""  # the company's symbol in the accounting program
    short_name: str = ""
    full_name: str = ""
    city: str = ""
    postcode: str = ""
    street: str = ""
    nip: str = ""


class AccountingExportSettings(Strict):
    company_program_id: str = ""  # the company's program id in the hub; empty: nothing is exported
    # where exchange files are written (set by an administrator here, never from a run's Params): a local folder
    # (/path) or a folder on an SFTP server, sftp://<Airflow connection id>/path
    destination: Annotated[str, Field(pattern=LOCATION)] = "/opt/airflow/data/accounting_exchange"
    format: str = "epp"  # "epp" (EDI++), "optima" (Comarch ERP Optima offline XML) or "ksef_fa3" (KSeF FA(3))
    format_version: str = "1.05"  # epp: 1.05; optima: 2.00; ksef_fa3: 1-0E
    # ksef_fa3: the legal basis of a VAT exemption (FA(3) P_19A), written on documents with a "zw" row
    ksef_exemption_basis: str = ""
    sender: Sender = Sender()
    # epp: a card (section KONTRAHENCI) for each document's counterparty, so the program creates or updates it; false
    # when the program's own counterparty register must not be changed by the hub's data (its codes then must exist)
    epp_counterparty_cards: bool = True
    # hub document category (CATEGORY) -> the accounting program's account / category its posting scheme uses
    accounts: dict[Text, Text] = {}
    # hub document kind (DOCUMENT_TYPE/MODEL_TYPE) -> EPP document type; a correction gets the "K" prefix
    document_types: dict[Text, Text] = {"INVOICE_COST": "FZ", "INVOICE_SALES": "FS"}
    # Optima XML: the VAT register each side's documents go to
    registers: dict[Literal["sales", "purchase"], Text] = {"sales": "SPRZEDAŻ", "purchase": "ZAKUP"}
    # hub VAT rate (VAT_REGISTRY/RATE, case-insensitive) -> EPP VAT symbol
    vat_symbols: dict[Text, Text] = {"23": "23", "8": "8", "5": "5", "0": "0", "zw": "zw", "np": "np",
                                     "oo": "oo", "ex": "ex", "ue": "ue", "npo": "npo"}
    # bank statements (the hub's bank_statement/list) exported too, into a file of their own; off: none
    bank_statements: bool = False
    # hub bank account number (BANK_STATEMENT_ACCOUNT_NUMBER; spaces and dashes ignored) -> the accounting program's
    # bank register (Optima: the RACHUNEK of the cash/bank report)
    bank_accounts: dict[Text, Text] = {}
    # statements whose period ends before this day are not exported (those the program already holds)
    bank_statements_since: date | None = None


class RegistersSettings(Strict):
    """``accounting_saldeo_registers`` (the default company's Variable: ``erpbridge_saldeo_registers``)."""

    company_program_id: str = ""  # the company's program id in the hub; empty: nothing is synchronised
    # the folder the accounting program exports its EPP (*.epp) or Optima XML (*.xml) files to (an administrator's
    # setting, never a run's Param): a local folder (/path) or a folder on an SFTP server, sftp://<conn id>/path
    source: Annotated[str, Field(pattern=LOCATION)] = "/opt/airflow/data/accounting_registers"
    # what goes to the hub: counterparties (EPP card KONTRAHENCI, Optima KONTRAHENCI), document categories and
    # payment forms (EPP document headers, Optima VAT register records), VAT registers (Optima), and - off unless
    # listed, as it creates hub companies - "company": the companies whose EPP exports are in the folder ([INFO])
    registers: list[Literal["contractor", "category", "register", "payment_method", "company"]] = [
        "contractor", "category", "register", "payment_method"]
    # "company": the e-mail address of a created company's admin user (the hub sends the welcome there)
    company_admin_email: str = ""

    @model_validator(mode="after")
    def _company_needs_an_admin_email(self):
        if "company" in self.registers and "@" not in self.company_admin_email:
            raise ValueError('registers lists "company": set company_admin_email, the e-mail address the hub sends a '
                             "created company's admin user its welcome to")
        return self
