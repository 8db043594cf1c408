"""Settings: defaults in code, overrides validated with an error that names the bad key."""

from __future__ import annotations

import pytest

from erpbridge.flows.severa_netvisor.settings import SeveraNetvisorSettings
from erpbridge.settings import SettingsError, parse


def test_defaults_need_no_variable():
    settings = parse(SeveraNetvisorSettings, {}, "defaults")
    assert settings.customers.direction == "severa_to_netvisor"
    assert settings.dimensions.project_heading == "Projekti"


def test_an_unknown_key_is_named():
    with pytest.raises(SettingsError, match=r"customers\.directon: Extra inputs are not permitted"):
        parse(SeveraNetvisorSettings, {"customers": {"directon": "off"}}, "erpbridge_severa_netvisor")


def test_a_bad_value_is_named_with_what_is_allowed():
    with pytest.raises(SettingsError, match=r"products\.direction: Input should be 'severa_to_netvisor', "
                                            r"'netvisor_to_severa' or 'off'"):
        parse(SeveraNetvisorSettings, {"products": {"direction": "both"}}, "erpbridge_severa_netvisor")
