"""The checks a payroll payment passes before it may be in a bank file, and the pain.001 document's own
check: each refusal names the employee and the reason, one refusal holds its account's file only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from erpbridge.flows.horizon_payments import pain001
from erpbridge.flows.horizon_payments.sync import groups, mask

RUN = {"pk": "7", "period": "2026-10", "pay_date": "2026-11-05", "currency": "EUR"}
PAYER_A, PAYER_B = "LV11RIKO0002013001234", "LV50UNLA0050001234567"


def payment(code: str, **changes) -> dict:
    return {"employee_code": code, "name": f"Darbinieks {code}", "iban": "LV87HABA0551012345678",
            "net_amount": "100.00", "payer_iban": PAYER_A, **changes}


@pytest.mark.parametrize("changes, reason", [
    ({"iban": None}, "IBAN missing"),
    ({"iban": "LV87HABA0551012345679"}, "IBAN LV…5679 invalid: Invalid checksum digits"),
    ({"iban": "TR330006100519786457841326"}, "IBAN TR…1326 is outside the SEPA zone"),
    ({"net_amount": "-5.00"}, "net amount -5.00 is negative"),
    ({"net_amount": "10.005"}, "net amount: '10.005' is not an amount in cents"),
    ({"net_amount": "ten"}, "net amount: not a number: 'ten'"),
    ({"name": "<<>>"}, "name: empty in SEPA characters"),
])
def test_a_refused_payment_holds_its_accounts_file_with_the_reason(changes, reason):
    a, b = groups(RUN, [payment("E1", **changes), payment("E2"), payment("E3", payer_iban=PAYER_B)], "Salary {period}")

    assert (a.payer_iban, a.refusals, [t.end_to_end_id for t in a.transfers]) == (PAYER_A, {"E1": reason}, ["R7-E2"])
    assert (b.payer_iban, b.refusals, b.control_sum) == (PAYER_B, {}, Decimal("100.00"))


def test_a_run_outside_eur_or_a_bad_paying_account_refuses_every_payment_it_covers():
    (group,) = groups({**RUN, "currency": "USD"}, [payment("E1")], "Salary {period}")
    assert group.refusals == {"E1": "payroll run 7 is in USD: SEPA credit transfers are in EUR"}
    (group,) = groups(RUN, [payment("E1", payer_iban="LV11RIKO0002013001235")], "Salary {period}")
    assert group.refusals == {"E1": "paying account LV…1235: IBAN LV…1235 invalid: Invalid checksum digits"}


def test_zero_net_pay_is_no_payment_and_text_is_put_in_sepa_characters():
    (group,) = groups(RUN, [payment("E1", net_amount="0.00"), payment("Ē2", name="Ēriks Ņikitins & Co")],
                      "Alga {period} — paldies!")
    assert group.skipped == {"E1": "net pay 0.00: nothing to pay"} and group.refusals == {}
    (transfer,) = group.transfers
    assert (transfer.name, transfer.remittance, transfer.end_to_end_id) == ("Eriks Nikitins Co",
                                                                           "Alga 2026-10 -- paldies", "R7-E2")
    assert mask("LV87 HABA 0551 0123 4567 8") == "LV…5678"


def test_a_document_the_xsd_refuses_is_never_returned():
    order = pain001.PaymentOrder("M-1", datetime(2026, 11, 1, 9, 0), "SIA Firma", PAYER_A, None, date(2026, 11, 5), (
        pain001.CreditTransfer("E2E-1", "Anna", "LV87HABA0551012345678", "NOT A BIC", Decimal("1.00"), "x"),))
    with pytest.raises(pain001.InvalidPaymentFile, match="BIC"):
        pain001.build(order)
