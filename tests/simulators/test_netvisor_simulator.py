"""Netvisor simulator over real HTTP; the MAC is computed here from the vendor contract."""

from __future__ import annotations

import hashlib
import hmac
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

CUSTOMER_ID, CUSTOMER_KEY = "ERPB-DEMO", "demo-customer-key"
PARTNER_ID, PARTNER_KEY = "ERPB", "demo-partner-key"
ORGANISATION_ID = "1234567-8"
NETVISOR_TIME = ZoneInfo("Europe/Helsinki")  # the simulator's default clock for changedsince
AUTH = "X-Netvisor-Authentication-"


@pytest.fixture
def base(simulators) -> str:
    url = simulators["netvisor"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    return url


def signed_headers(url: str, customer_key: str = CUSTOMER_KEY, transaction_id: str | None = None) -> dict:
    """Netvisor authentication headers for ``url`` (the full URL as sent, query included)."""
    now = datetime.now(timezone.utc)
    headers = {
        AUTH + "Sender": "erpbridge-tests",
        AUTH + "CustomerId": CUSTOMER_ID,
        AUTH + "PartnerId": PARTNER_ID,
        AUTH + "Timestamp": now.strftime("%Y-%m-%d %H:%M:%S.000"),
        AUTH + "TimestampUnix": str(int(now.timestamp())),
        AUTH + "TransactionId": transaction_id or uuid.uuid4().hex,
        "X-Netvisor-Interface-Language": "FI",
        "X-Netvisor-Organisation-ID": ORGANISATION_ID,
        AUTH + "MACHashCalculationAlgorithm": "HMACSHA256",
        AUTH + "UseHTTPResponseStatusCodes": "1",
    }
    parts = [url] + [headers[name] for name in (
        AUTH + "Sender", AUTH + "CustomerId", AUTH + "Timestamp", "X-Netvisor-Interface-Language",
        "X-Netvisor-Organisation-ID", AUTH + "TransactionId", AUTH + "TimestampUnix",
    )] + [customer_key, PARTNER_KEY]
    key = f"{customer_key}&{PARTNER_KEY}".encode("iso-8859-1")
    headers[AUTH + "MAC"] = hmac.new(key, "&".join(parts).encode("iso-8859-1"), hashlib.sha256).hexdigest()
    return headers


def call(base: str, resource: str, params: dict | None = None, body: bytes | None = None,
         **sign) -> requests.Response:
    """Send a signed GET (no body) or POST, signing the URL exactly as it goes on the wire."""
    request = requests.Request("POST" if body is not None else "GET", f"{base}/{resource}",
                               params=params, data=body).prepare()
    request.headers.update(signed_headers(request.url, **sign))
    with requests.Session() as session:
        return session.send(request, timeout=10)


def parse(response: requests.Response) -> ET.Element:
    return ET.fromstring(response.content)


def statuses(response: requests.Response) -> list[str]:
    return [s.text for s in parse(response).findall("ResponseStatus/Status")]


def add_customer(base: str, code: str, name: str = "Oy Testi Ab") -> requests.Response:
    body = (f"<root><customer><customerbaseinformation><internalidentifier>{code}</internalidentifier>"
            f"<externalidentifier>1234567-8</externalidentifier><name>{name}</name>"
            "<country type=\"ISO-3166\">FI</country></customerbaseinformation></customer></root>")
    return call(base, "customer.nv", {"method": "add"}, body.encode())


def test_good_mac_is_accepted(base):
    response = call(base, "customerlist.nv")
    assert response.status_code == 200
    assert statuses(response) == ["OK"]
    assert parse(response).find("Customerlist") is not None


def test_wrong_key_fails_authentication(base):
    response = call(base, "customerlist.nv", customer_key="not-the-key")
    assert response.status_code == 403
    assert statuses(response)[0] == "FAILED"
    assert statuses(response)[1].startswith("AUTHENTICATION_FAILED :: ")


def test_reused_transaction_id_is_refused(base):
    transaction_id = uuid.uuid4().hex
    assert statuses(call(base, "customerlist.nv", transaction_id=transaction_id)) == ["OK"]
    second = call(base, "customerlist.nv", transaction_id=transaction_id)
    assert statuses(second)[1].startswith("REQUEST_NOT_UNIQUE :: ")


def test_transaction_id_of_a_refused_request_may_be_sent_again(base):
    transaction_id = uuid.uuid4().hex
    refused = call(base, "getcustomer.nv", {"id": "999"}, transaction_id=transaction_id)
    assert statuses(refused)[1].startswith("INVALID_DATA :: ")
    assert statuses(call(base, "customerlist.nv", transaction_id=transaction_id)) == ["OK"]


def test_add_customer_then_list_changed_since_and_get(base):
    since = (datetime.now(NETVISOR_TIME) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    added = add_customer(base, "2001", "Änkyrä Oy")
    key = parse(added).findtext("Replies/InsertedDataIdentifier")
    assert statuses(added) == ["OK"] and key

    listed = parse(call(base, "customerlist.nv", {"changedsince": since}))
    assert [c.findtext("Code") for c in listed.iter("Customer")] == ["2001"]
    future = (datetime.now(NETVISOR_TIME) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert not list(parse(call(base, "customerlist.nv", {"changedsince": future})).iter("Customer"))

    got = parse(call(base, "getcustomer.nv", {"id": key})).find("Customer/CustomerBaseInformation")
    assert got.findtext("InternalIdentifier") == "2001"
    assert got.findtext("Name") == "Änkyrä Oy"
    assert got.find("Country").get("type") == "ISO-3166"


def test_customer_rules(base):
    assert statuses(add_customer(base, "3001")) == ["OK"]
    assert statuses(add_customer(base, "3001"))[1].startswith("DUPLICATE_DATA :: ")
    # Netvisor takes alphanumeric codes and leading zeros (a numeric rule is the integration's own)
    assert statuses(add_customer(base, "0301")) == ["OK"] and statuses(add_customer(base, "MM-7")) == ["OK"]
    edit = call(base, "customer.nv", {"method": "edit", "id": "999"},
                b"<root><customer><customerbaseinformation><name>X</name></customerbaseinformation></customer></root>")
    assert statuses(edit)[1] == (
        "INVALID_DATA :: Data form incorrect:. Customer not found with Netvisor identifier: 999")


def test_resource_names_are_case_insensitive(base):
    assert statuses(call(base, "CustomerList.nv")) == ["OK"]
    assert statuses(call(base, "CUSTOMERLIST.NV")) == ["OK"]


def test_xxe_and_entity_expansion_are_refused(base):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE root [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<root><customer><customerbaseinformation><name>&x;</name></customerbaseinformation></customer></root>")
    response = call(base, "customer.nv", {"method": "add"}, xxe)
    assert response.status_code == 400
    assert statuses(response)[1].startswith("INVALID_DATA :: ")
    assert requests.get(f"{base}/_sim/state", timeout=5).json()["customers"] == []


def test_admin_seed_state_and_requests(base):
    created = requests.post(f"{base}/_sim/seed", timeout=5, json={
        "customers": [{"code": "4001", "name": "Seeded Oy"}],
        "products": [{"code": "P1", "name": "Widget", "unit_price": "244.00", "vat_percent": "25.5"}],
        "dimensions": [{"name": "Projects", "items": ["P1000"]}],
    }).json()
    product = parse(call(base, "getproduct.nv", {"id": created["products"][0]}))
    assert product.findtext("Product/ProductBaseInformation/UnitPrice") == "244,00"
    dimensions = parse(call(base, "dimensionlist.nv"))
    assert [d.findtext("Name") for d in dimensions.iter("DimensionDetail")] == ["P1000"]

    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert state["customers"][0]["code"] == "4001" and state["customers"][0]["key"] == created["customers"][0]
    log = requests.get(f"{base}/_sim/requests", timeout=5).json()
    assert [(r["path"], r["status"]) for r in log] == [("/getproduct.nv", 200), ("/dimensionlist.nv", 200)]
    assert requests.get(f"{base}/_sim/requests", params={"since": log[0]["seq"]}, timeout=5).json() == log[1:]

    requests.post(f"{base}/_sim/reset", timeout=5).raise_for_status()
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert state["customers"] == [] and requests.get(f"{base}/_sim/requests", timeout=5).json() == []


def test_next_n_fault_fails_without_side_effect(base):
    requests.post(f"{base}/_sim/faults", timeout=5, json={
        "next_n": {"count": 1, "status": 503, "category": "SYSTEM_MAINTANANCE", "message": "Down"}})
    failed = add_customer(base, "5001")
    assert failed.status_code == 503
    assert statuses(failed) == ["FAILED", "SYSTEM_MAINTANANCE :: Down"]
    assert requests.get(f"{base}/_sim/state", timeout=5).json()["customers"] == []
    assert statuses(add_customer(base, "5001")) == ["OK"]


def test_reset_and_malformed_faults(base):
    requests.post(f"{base}/_sim/faults", json={"reset_rate": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        call(base, "customerlist.nv")
    requests.post(f"{base}/_sim/faults", json={"reset_rate": 0, "malformed_rate": 1}, timeout=5)
    garbled = call(base, "customerlist.nv")
    assert garbled.status_code == 200
    with pytest.raises(ET.ParseError):
        parse(garbled)
    requests.delete(f"{base}/_sim/faults", timeout=5)
    assert statuses(call(base, "customerlist.nv")) == ["OK"]


def test_iso_8859_15_body_and_comma_decimals(base):
    body = ('<?xml version="1.0" encoding="ISO-8859-15"?><root><product><productbaseinformation>'
            "<productcode>EUR1</productcode><name>Kahvi €</name><unitprice type=\"net\">2,50</unitprice>"
            "</productbaseinformation><productbookkeepingdetails><defaultvatpercentage>14</defaultvatpercentage>"
            "</productbookkeepingdetails></product></root>").encode("iso-8859-15")
    key = parse(call(base, "product.nv", {"method": "add"}, body)).findtext("Replies/InsertedDataIdentifier")
    product = parse(call(base, "getproduct.nv", {"id": key})).find("Product")
    assert product.findtext("ProductBaseInformation/Name") == "Kahvi €"
    assert product.findtext("ProductBaseInformation/UnitPrice") == "2,50"
    assert product.findtext("ProductBookkeepingDetails/DefaultVatPercent") == "14,00"
