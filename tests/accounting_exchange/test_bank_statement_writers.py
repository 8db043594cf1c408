"""The bank statement writers without the flow: a statement's EPP bank document against a line written out by hand
field by field from Table 9 of the EDI++ description, the Optima report's GUIDs stable across writes, and the
refusals naming the statement and the field."""

from __future__ import annotations

import pytest

from erpbridge.errors import RecordRejected
from erpbridge.flows.accounting_exchange import epp_bank, optima
from erpbridge.flows.accounting_exchange.bank_statements import to_statement
from tests.accounting_exchange.samples import SETTINGS, VARIABLE

EPP = SETTINGS.model_copy(update={"bank_statements": True,
                                  "bank_accounts": {"PL27 1140 2004 0000 3002 0135 5387": "BANK-MBANK"}})


def hub_statement(*operations: dict, **fields) -> dict:
    """A statement as SaldeoHook gives it (the API's tags in lower case, operations as a list)."""
    return {"bank_statement_account_number": "PL27 1140 2004 0000 3002 0135 5387", "currency_iso4217": "PLN",
            "bank_statement_period_from": "2026-01-01", "bank_statement_period_to": "2026-01-31",
            "bank_statement_filename": "wyciag-2026-01.pdf", "bank_operations": list(operations), **fields}


INTEREST = {"operation_date": "2026-01-31", "value": "0.37", "debit_credit": "CREDIT",
            "operation_description": "Odsetki  za\nstyczeń", "is_approved": "true",
            "bank_operation_account_number": "PL10 1050 0099 7603 1234 5678 9123"}
FEE = {"operation_date": "2026-01-15", "value": "12.00", "debit_credit": "DEBIT", "operation_description": "Opłata",
       "is_approved": "true"}

# Table 9, written out by hand: 1 type, 2 status done, 3 number, 4 full number, 5 issue date, 6 a one-off recipient,
# 7 its code, 8-13 the counterparty, 14-29 an employee (19 a date), 30-34 an office, 35-36 category, subtitle,
# 37 title, 38 not generated, 39 its date, 40 internal, 41 remarks, 42 repaid, 43 value, 44 no simple posting,
# 45-47 its accounts and register, 48-49 persons, 50 bank, 51 account, 52 recipient's bank, 53 recipient's account,
# 54-55 country and EU prefix, 56 not an EU one.
INTEREST_HEADER = ('"BP",1,2,"BP 2/5387/260101-260131",20260131000000,'
                   '4,"",' + '"",' * 6 + '"",' * 5 + ',' + '"",' * 10 + '"",' * 5 + '"","",'
                   '"Odsetki za styczeń",0,,"","wyciag-2026-01.pdf",'
                   '0.0000,0.3700,0,"","","",'
                   '"","",'
                   '"BANK-MBANK","PL27114020040000300201355387","","PL10105000997603123456789123",'
                   '"","",0\r\n')


def test_a_bank_operation_is_the_hand_written_bp_document_and_a_payment_a_bw_one():
    data = epp_bank.render([to_statement(hub_statement(FEE, INTEREST), EPP, VARIABLE)], EPP.sender, "1.05")
    sections = data.decode("cp1250").split("\r\n\r\n")
    assert sections[0].startswith("[INFO]\r\n") and sections[-1] == ""
    assert sections[1].startswith('[NAGLOWEK]\r\n"BW",1,1,"BW 1/5387/260101-260131",20260115000000,')
    assert sections[2] + "\r\n" == "[NAGLOWEK]\r\n" + INTEREST_HEADER
    assert len(sections) == 4  # INFO, two documents, the blank line at the end; no [ZAWARTOSC]


def test_the_optima_report_keeps_its_guids_when_written_again():
    statement = to_statement(hub_statement(FEE, INTEREST), EPP.model_copy(update={"format": "optima"}), VARIABLE)
    first = optima.render_statements([statement], "BIURO-1")
    assert first == optima.render_statements([statement], "BIURO-1")
    assert optima.guid("BIURO-1", "bank_statement", statement.key).encode() in first
    assert optima.render_statements([statement], "BIURO-2") != first  # another company, other GUIDs


@pytest.mark.parametrize("change, words", [
    ({"currency_iso4217": "EUR"}, "field CURRENCY_ISO4217 'EUR': only PLN statements are exported"),
    ({"bank_statement_period_to": "31.01.2026"}, "field BANK_STATEMENT_PERIOD_TO '31.01.2026' is not a date"),
    ({"bank_operations": [FEE, {**INTEREST, "debit_credit": "X"}]},
     "field BANK_OPERATIONS/BANK_OPERATION[2]/DEBIT_CREDIT 'X' is neither CREDIT nor DEBIT"),
    ({"bank_operations": [{**FEE, "value": "-12.00"}]},
     "field BANK_OPERATIONS/BANK_OPERATION[1]/VALUE '-12.00' is not an amount in grosze without a sign"),
    ({"bank_operations": [{**FEE, "value": "1.005"}]},
     "field BANK_OPERATIONS/BANK_OPERATION[1]/VALUE '1.005' is not an amount in grosze"),
])
def test_a_statement_the_file_cannot_hold_is_refused_naming_the_field(change, words):
    with pytest.raises(RecordRejected) as refused:
        to_statement({**hub_statement(FEE, INTEREST), **change}, EPP, VARIABLE)
    assert refused.value.reason.startswith("bank statement of account PL27 1140 2004 0000 3002 0135 5387 for 2026-01")
    assert words in refused.value.reason
