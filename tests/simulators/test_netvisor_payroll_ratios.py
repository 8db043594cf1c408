"""Netvisor simulator: payroll ratios (payrollratiolist.nv) over real HTTP, read the way the second public
client reads them (rantalainen's payrollRatioList: tags and attribute names lower-cased, PayrollRatioListItem)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from tests.simulators.test_netvisor_simulator import call, parse, statuses

RATIOS = [
    {"number": "1", "names": {"fi": "Tuntityö", "en": "Hourly work"}},
    {"number": "20", "names": {"fi": "Vuosiloma", "en": "Annual holiday"}},
    {"source": "tripexpensecustomlines", "number": "1300", "names": {"fi": "Kilometrikorvaus"}},
]


@pytest.fixture
def base(simulators) -> str:
    url = simulators["netvisor"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json={"payroll_ratios": RATIOS}, timeout=5).raise_for_status()
    return url


def lowered(node: ET.Element) -> ET.Element:
    """The answer as the client's parser sees it (normalizeTags, attribute names lower-cased)."""
    for each in node.iter():
        each.tag = each.tag.lower()
        each.attrib = {k.lower(): v for k, v in each.attrib.items()}
    return node


def payroll_ratio_list_items(root: ET.Element) -> list[dict]:
    """rantalainen's payrollRatioList, field by field: names/name with iso639-1code, identifier with its type,
    source with netvisorkey, rationumber."""
    items = []
    for ratio in lowered(root).findall("payrollratios/payrollratio"):
        source = ratio.find("source")
        items.append({"names": {n.get("iso639-1code"): n.text for n in ratio.findall("names/name")},
                      "identifier": (int(ratio.findtext("identifier")), ratio.find("identifier").get("type")),
                      "source": (source.text, int(source.get("netvisorkey"))),
                      "ratioNumber": int(ratio.findtext("rationumber"))})
    return items


def test_collector_ratio_lines_are_listed_with_numbers_and_names_per_language(base):
    response = call(base, "payrollratiolist.nv", {"source": "collectorratiolines"})
    assert response.status_code == 200 and statuses(response) == ["OK"]
    items = payroll_ratio_list_items(parse(response))
    assert [(i["ratioNumber"], i["names"]) for i in items] == [
        (1, {"fi": "Tuntityö", "en": "Hourly work"}), (20, {"fi": "Vuosiloma", "en": "Annual holiday"})]
    assert {i["source"] for i in items} == {("collectorratiolines", 3)}
    assert all(key > 0 and kind == "Netvisor" for key, kind in (i["identifier"] for i in items))


def test_each_source_lists_only_its_own_ratios_and_an_unknown_one_is_refused(base):
    trip = payroll_ratio_list_items(parse(call(base, "payrollratiolist.nv", {"source": "tripexpensecustomlines"})))
    assert [(i["ratioNumber"], i["names"]) for i in trip] == [(1300, {"fi": "Kilometrikorvaus"})]
    assert payroll_ratio_list_items(parse(call(base, "payrollratiolist.nv", {"source": "taxingrules"}))) == []
    for params in ({"source": "salaries"}, None):
        refused = call(base, "payrollratiolist.nv", params)
        assert refused.status_code == 400 and statuses(refused)[0] == "FAILED"
        assert statuses(refused)[1].startswith("INVALID_DATA :: Data form incorrect:. source must be one of")
