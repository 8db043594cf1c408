"""Flow C account mapping: transliterated, unique-able logon names and the employment state by date."""

from __future__ import annotations

from datetime import date

import pytest

from erpbridge.errors import RecordRejected
from erpbridge.flows.horizon_ad.mapping import account, ascii_name, employment_state, sam_base, sam_candidates

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("first, last, expected", [
    ("Jānis", "Bērziņš", "janis.berzins"),
    ("Łukasz", "Żółć", "lukasz.zolc"),
    ("Søren", "Ærøskøbing", "soren.aeroskobing"),
    ("Jürgen", "Weiß", "jurgen.weiss"),
    ("Seán", "O'Brien (QA)*", "sean.obrienqa"),
    ("Maximiliana", "Wolfeschlegelsteinhausen", "maximiliana.wolfesch"),
    ("", "Plato", "plato"),
])
def test_sam_base(first, last, expected):
    assert sam_base(first, last) == expected
    assert len(sam_base(first, last)) <= 20


def test_candidates_stay_within_20_characters():
    base = sam_base("Maximiliana", "Wolfeschlegelsteinhausen")
    candidates = list(sam_candidates(base, 12))
    assert candidates[0] == base and candidates[1].endswith("2") and candidates[-1].endswith("12")
    assert all(len(c) <= 20 for c in candidates) and len(set(candidates)) == 12


def test_names_without_letters_are_rejected():
    assert ascii_name("李小龍") == ""
    with pytest.raises(RecordRejected):
        sam_base("李", "小龍")


@pytest.mark.parametrize("card, enabled, why", [
    ({"employment_start": "2026-11-23"}, True, "employed since"),
    ({"employment_start": "2026-11-24"}, False, "employment starts 2026-11-24"),
    ({"employment_start": "2020-01-01", "employment_end": "2026-11-23"}, False, "employment ended 2026-11-23"),
    ({"employment_start": "2020-01-01", "employment_end": "2026-12-31", "termination_registered": True}, False,
     "termination registered"),
    ({"employment_start": "2026-11-01", "employment_end": None}, True, "employed since"),
])
def test_employment_state(card, enabled, why):
    state = employment_state(card, TODAY)
    assert state[0] is enabled and why in state[1]


def test_account_payload():
    payload = account({"code": "E1", "first_name": "Jānis", "last_name": "Bērziņš", "department": "IT",
                       "position": "Dev", "manager_code": "E0", "employment_start": "2020-01-01"}, TODAY)
    assert payload["sam_base"] == "janis.berzins" and payload["display_name"] == "Jānis Bērziņš"
    assert payload["enabled"] and payload["employee_id"] == "E1" and payload["manager_code"] == "E0"
    with pytest.raises(RecordRejected):
        account({"code": "", "first_name": "A", "last_name": "B"}, TODAY)
