"""A weighing's GS1-128 label data read with stdnum.gs1_128: the values with their decimals, and for a label
that does not parse the label and the field in the reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from erpbridge.flows.horizon_weighing.labels import Label, LabelRefused, parse

GTIN = "04750001000016"


def test_gtin_net_weight_with_its_decimals_lot_and_pack_date():
    assert parse("L1", f"(01){GTIN}(3103)012345(10)LOT-7(13)261130") == Label(GTIN, Decimal("12.345"), "LOT-7",
                                                                              date(2026, 11, 30))
    assert parse("L2", f"(13)261130(10)B(3102)001050(01){GTIN}(21)SERIAL9").net_kg == Decimal("10.50")


@pytest.mark.parametrize(("data", "reason"), [
    (f"(01){GTIN[:-1]}9(3103)012345(10)L(13)261130",
     "label L9: GTIN (01): '04750001000019': The number's checksum or check digit is invalid."),
    (f"(01){GTIN}(3103)01234X(10)L(13)261130",
     "label L9: net weight (310n): '01234X' is not a valid value of this field"),
    (f"(01){GTIN}(3103)000000(10)L(13)261130", "label L9: net weight (310n): 0.000 kg is not a weight"),
    (f"(01){GTIN}(3103)012345(13)261130", "label L9: lot (10): missing"),
    (f"(01){GTIN}(3103)012345(10)L(13)261340",
     "label L9: pack date (13): '261340' is not a valid value of this field"),
    (f"(01){GTIN}(3103)012345(3102)001000(10)L(13)261130", "label L9: net weight (310n): given twice"),
    (f"01{GTIN}3103012345", "label L9: label data: '01047500010000163103012345' is not GS1-128 data in the form"
                           " (AI)value"),
])
def test_a_label_that_does_not_parse_names_the_label_and_the_field(data, reason):
    with pytest.raises(LabelRefused) as refused:
        parse("L9", data)
    assert str(refused.value) == reason
