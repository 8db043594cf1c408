"""Standard Books REST API v2 simulator, exercised over real HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from include.simulators.standard_books import DEMO_SEED

AUTH = ("erpbridge", "demo-sb-password")


@pytest.fixture
def base(simulators) -> str:
    """Base URL of a freshly reset simulator loaded with the demo seed."""
    url = simulators["standard_books"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    requests.post(f"{url}/_sim/seed", json=DEMO_SEED, timeout=5).raise_for_status()
    return url


def get(base: str, path: str, auth=AUTH, **params) -> requests.Response:
    return requests.get(f"{base}/api/1/{path}", params=params, auth=auth, timeout=5)


def post(base: str, path: str, data: dict, method: str = "POST") -> requests.Response:
    return requests.request(method, f"{base}/api/1/{path}", data=data, auth=AUTH, timeout=5)


def xml(response: requests.Response) -> ET.Element:
    return ET.fromstring(response.content)


def codes(response: requests.Response, register: str, field: str = "Code") -> list[str]:
    return [r.findtext(field) for r in xml(response).findall(register)]


def error(response: requests.Response) -> dict:
    assert response.status_code == 400, response.text
    node = xml(response).find("error")
    assert node is not None, response.text
    return dict(node.attrib)


def invoice(supplier: str = "2001", total: str = "124.00", vat: str = "24.00", **extra) -> dict:
    body = {"set_field.SerNr": "", "set_field.SupplierCode": supplier, "set_field.SupplierName": "",
            "set_field.InvoiceNr": "INV-1", "set_field.InvDate": "2024-05-02", "set_field.DueDate": "2024-05-16",
            "set_field.TotSum": total, "set_field.VATSum": vat, "set_field.DocType": "invoice",
            "set_field.ExternalId": "1001",
            "set_row_field.0.AccNumber": "4100", "set_row_field.0.Objects": "ADM,P100",
            "set_row_field.0.Sum": "60.00", "set_row_field.0.VATCode": "1", "set_row_field.0.VATSum": "14.40",
            "set_row_field.1.AccNumber": "4300", "set_row_field.1.Objects": "SALES",
            "set_row_field.1.Sum": "40.00", "set_row_field.1.VATCode": "1", "set_row_field.1.VATSum": "9.60"}
    return body | extra


# -- auth, company, methods ------------------------------------------------------------------
def test_basic_auth_required(base):
    for auth in (None, ("erpbridge", "wrong"), ("someone", "demo-sb-password")):
        response = get(base, "CUVc", auth=auth)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert xml(response).find("error").get("description")
    assert get(base, "CUVc").status_code == 200


def test_unknown_company_register_record_and_delete(base):
    response = requests.get(f"{base}/api/7/CUVc", auth=AUTH, timeout=5)
    assert response.status_code == 404
    assert "Company 7" in xml(response).find("error").get("description")
    assert get(base, "NoSuchVc").status_code == 404
    missing = get(base, "CUVc/9999")
    assert missing.status_code == 404 and xml(missing).find("error") is not None
    deleted = requests.delete(f"{base}/api/1/CUVc/2001", auth=AUTH, timeout=5)
    assert deleted.status_code == 405 and xml(deleted).find("error") is not None
    assert get(base, "CUVc/2001").status_code == 200


# -- reading ---------------------------------------------------------------------------------
def test_list_envelope_fields_and_special_characters(base):
    response = get(base, "CUVc")
    assert response.headers["Content-Type"].startswith("application/xml")
    root = xml(response)
    assert root.tag == "data" and root.get("register") == "CUVc"
    assert root.get("systemversion") and int(root.get("sequence")) > 0
    names = {r.findtext("Code"): r.findtext("Name") for r in root.findall("CUVc")}
    assert names["2001"] == "Ehitus & Remont OÜ"
    assert names["2002"] == "Šveitsi Õlitööstus Jäätmekäitlus Žürii AS"
    customer = root.find("CUVc[Code='1001']")
    assert (customer.findtext("CUType"), customer.findtext("VEType")) == ("1", "0")

    narrow = xml(get(base, "CUVc", fields="Code,Name")).find("CUVc")
    assert [child.tag for child in narrow] == ["Code", "Name"]


def test_filter_sort_range_offset_limit(base):
    assert codes(get(base, "CUVc", **{"filter.VEType": "1"}), "CUVc") == ["2001", "2002", "2003"]
    assert codes(get(base, "AccVc", sort="AccNumber", range="4000:4200"), "AccVc", "AccNumber") == [
        "4000", "4100", "4200"]
    # documented: one value is an exact match
    assert codes(get(base, "AccVc", sort="AccNumber", range="4100"), "AccVc", "AccNumber") == ["4100"]
    assert codes(get(base, "CUVc", sort="Name", range="Klient AS"), "CUVc") == ["1001"]
    assert codes(get(base, "ObjVc", sort="Comment"), "ObjVc") == ["ADM", "P100", "P099", "SALES"]
    page = get(base, "AccVc", offset="1", limit="2")
    assert codes(page, "AccVc", "AccNumber") == ["4000", "4100"]
    assert codes(get(base, "ObjVc", **{"filter.Closed": "1"}), "ObjVc") == ["P099"]
    bad = get(base, "CUVc", **{"filter.NoField": "x"})
    assert error(bad)["field"] == "NoField"


def test_updates_after_sequence(base):
    sequence = int(xml(get(base, "CUVc")).get("sequence"))
    assert codes(get(base, "CUVc", updates_after=str(sequence)), "CUVc") == []

    changed = post(base, "CUVc/2003", {"set_field.Phone": "+372 5555 5555"}, method="PATCH")
    assert changed.status_code == 200
    after = xml(get(base, "CUVc", updates_after=str(sequence)))
    assert [r.findtext("Code") for r in after.findall("CUVc")] == ["2003"]
    assert int(after.get("sequence")) == sequence + 1
    assert after.find("CUVc").get("sequence") == str(sequence + 1)
    assert codes(get(base, "CUVc", updates_after=after.get("sequence")), "CUVc") == []


# -- writing ---------------------------------------------------------------------------------
def test_post_auto_number_url_and_patch(base):
    created = post(base, "CUVc", {"set_field.Code": "", "set_field.Name": "Uus Tarnija & Co OÜ",
                                  "set_field.VEType": "1"})
    assert created.status_code == 200, created.text
    answer = xml(created)  # documented: the url on <data>, only the fields with non-blank data
    record = answer.find("CUVc")
    code = record.findtext("Code")
    assert code and answer.get("url") == f"/api/1/CUVc/{code}" and record.attrib == {}
    assert [child.tag for child in record] == ["Code", "Name", "VEType"]
    assert record.findtext("Name") == "Uus Tarnija & Co OÜ"

    patched = requests.patch(f"{base}{answer.get('url')}", data={"set_field.eMail": "arved@uus.ee"},
                             auth=AUTH, timeout=5)
    assert patched.status_code == 200
    assert xml(patched).find("CUVc").findtext("eMail") == "arved@uus.ee"
    assert xml(get(base, f"CUVc/{code}")).find("CUVc").findtext("Name") == "Uus Tarnija & Co OÜ"


def test_the_documented_post_patch_get_exchange(base):
    """HansaWorld's own example (Rest API POST doc; "Koostame kliendi"): a new contact with a blank
    Code, its url from <data>, a PATCH to that url, then the record by sort=Code&range=<code>."""
    created = requests.post(f"{base}/api/1/CUVc", auth=AUTH, timeout=5,
                            data="set_field.Code=&set_field.Name=Kohvimasina POST OÜ&set_field.InvAddr0=Saue&"
                                 "set_field.InvAddr1=Kodu 13".encode())
    answer = xml(created)
    assert (answer.tag, answer.get("register"), created.status_code) == ("data", "CUVc", 200)
    assert set(answer.attrib) == {"register", "sequence", "url", "systemversion"}
    code = answer.findtext("CUVc/Code")
    assert answer.get("url") == f"/api/1/CUVc/{code}"
    assert {c.tag: c.text for c in answer.find("CUVc")} == {
        "Code": code, "Name": "Kohvimasina POST OÜ", "InvAddr0": "Saue", "InvAddr1": "Kodu 13"}
    patched = requests.patch(f"{base}{answer.get('url')}?set_field.Phone=5555", auth=AUTH, timeout=5)
    assert xml(patched).get("url") == answer.get("url") and xml(patched).findtext("CUVc/Phone") == "5555"
    read = xml(get(base, "CUVc", sort="Code", range=code))
    assert [(r.findtext("Code"), r.findtext("Phone"), r.get("url")) for r in read.findall("CUVc")] == [
        (code, "5555", answer.get("url"))]


def test_incoming_einvoice_with_rows_and_patch_rows(base):
    created = post(base, "EInvoiceInVc", invoice())
    assert created.status_code == 200, created.text
    record = xml(created).find("EInvoiceInVc")
    assert xml(created).get("url") == f"/api/1/EInvoiceInVc/{record.findtext('SerNr')}"
    assert record.findtext("SupplierName") == "Ehitus & Remont OÜ"  # filled from the contact
    rows = record.findall("rows/row")
    assert [(r.get("rownumber"), r.findtext("AccNumber"), r.findtext("Sum")) for r in rows] == [
        ("0", "4100", "60.00"), ("1", "4300", "40.00")]
    assert xml(created).find("message") is None

    url = xml(created).get("url")
    patched = requests.patch(f"{base}{url}", auth=AUTH, timeout=5, data={
        "set_field.Comment": "checked", "set_row_field.1.Sum": "30.00", "set_row_field.2.AccNumber": "4000",
        "set_row_field.2.Sum": "10.00"})
    assert patched.status_code == 200, patched.text
    rows = xml(patched).findall("EInvoiceInVc/rows/row")
    assert [r.findtext("Sum") for r in rows] == ["60.00", "30.00", "10.00"]

    again = post(base, "EInvoiceInVc", invoice())
    assert again.status_code == 200
    assert "ExternalId 1001" in xml(again).find("message").get("description")


def test_validation_errors_use_the_vendor_element(base):
    unknown_supplier = error(post(base, "EInvoiceInVc", invoice(supplier="99")))
    assert unknown_supplier == {"code": "20060", "description": "Supplier 99 does not exist", "row": "",
                                "field": "SupplierCode"}
    assert error(post(base, "EInvoiceInVc", invoice(supplier="1001")))["field"] == "SupplierCode"  # a customer

    unknown_account = error(post(base, "EInvoiceInVc", invoice(**{"set_row_field.1.AccNumber": "9999"})))
    assert (unknown_account["code"], unknown_account["row"], unknown_account["field"]) == ("20060", "1", "AccNumber")

    blocked = error(post(base, "EInvoiceInVc", invoice(**{"set_row_field.0.AccNumber": "4999"})))
    assert (blocked["row"], blocked["field"]) == ("0", "AccNumber") and "blocked" in blocked["description"]

    unknown_object = error(post(base, "EInvoiceInVc", invoice(**{"set_row_field.0.Objects": "ADM,NOPE"})))
    assert (unknown_object["code"], unknown_object["field"]) == ("20060", "Objects")
    assert "NOPE" in unknown_object["description"]
    closed = error(post(base, "EInvoiceInVc", invoice(**{"set_row_field.0.Objects": "P099"})))
    assert "closed" in closed["description"]

    totals = error(post(base, "EInvoiceInVc", invoice(total="124.02")))
    assert totals["field"] == "TotSum"
    assert post(base, "EInvoiceInVc", invoice(total="124.01")).status_code == 200  # within 0.01

    duplicate = error(post(base, "CUVc", {"set_field.Code": "2001", "set_field.Name": "Copy"}))
    assert duplicate["field"] == "Code"
    bad_decimal = error(post(base, "EInvoiceInVc", invoice(total="124,00")))
    assert bad_decimal["field"] == "TotSum"
    assert error(post(base, "CUVc", {"set_field.Nope": "x", "set_field.Name": "X"}))["field"] == "Nope"

    purchase = error(post(base, "VIVc", {"set_field.VECode": "99", "set_field.InvDate": "2024-05-02"}))
    assert purchase == {"code": "20060", "description": "Supplier 99 does not exist", "row": "", "field": "VECode"}
    # nothing was stored by refused writes
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert [r["TotSum"] for r in state["EInvoiceInVc"]] == ["124.01"] and state["VIVc"] == []
    assert [r["Code"] for r in state["CUVc"]] == ["1001", "2001", "2002", "2003"]


def test_purchase_invoice_ok_flag_locks_and_links_einvoice(base):
    einvoice = xml(post(base, "EInvoiceInVc", invoice())).find("EInvoiceInVc").findtext("SerNr")
    body = {"set_field.VECode": "2001", "set_field.InvDate": "2024-05-02", "set_field.InvoiceNr": "INV-1",
            "set_field.PayVal": "124.00", "set_field.VATVal": "24.00", "set_field.EInvoiceSerNr": einvoice,
            "set_row_field.0.AccNumber": "4100", "set_row_field.0.Sum": "100.00", "set_row_field.0.Objects": "ADM"}
    created = post(base, "VIVc", body)
    assert created.status_code == 200, created.text
    record = xml(created).find("VIVc")
    assert record.findtext("VEName") == "Ehitus & Remont OÜ" and record.find("OKFlag") is None  # default: left out
    url = xml(created).get("url")
    assert "already entered" in xml(post(base, "VIVc", body)).find("message").get("description")

    ok = requests.patch(f"{base}{url}", data={"set_field.OKFlag": "1"}, auth=AUTH, timeout=5)
    assert xml(ok).find("VIVc").findtext("OKFlag") == "1"
    locked = requests.patch(f"{base}{url}", data={"set_field.InvoiceNr": "X"}, auth=AUTH, timeout=5)
    assert error(locked)["field"] == "OKFlag"
    assert error(post(base, "VIVc", body | {"set_field.EInvoiceSerNr": "1"}))["field"] == "EInvoiceSerNr"


# -- attachments -----------------------------------------------------------------------------
def test_attachment_round_trip_is_byte_identical(base):
    key = xml(post(base, "EInvoiceInVc", invoice())).find("EInvoiceInVc").findtext("SerNr")
    pdf = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
    before = int(xml(get(base, "EInvoiceInVc")).get("sequence"))

    uploaded = requests.post(f"{base}/api/1/Attach/EInvoiceInVc/{key}", params={"filename": "arve ÕÜ.pdf"},
                             data=pdf, headers={"Content-Type": "application/pdf"}, auth=AUTH, timeout=5)
    assert uploaded.status_code == 200, uploaded.text
    attach = xml(uploaded).find("Attach")
    assert (attach.get("nr"), attach.get("filename"), attach.get("size")) == ("0", "arve ÕÜ.pdf", str(len(pdf)))

    listed = xml(requests.get(f"{base}/api/1/Attach/EInvoiceInVc/{key}", auth=AUTH, timeout=5)).findall("Attach")
    assert [a.get("filename") for a in listed] == ["arve ÕÜ.pdf"]
    content = requests.get(f"{base}{listed[0].get('url')}", auth=AUTH, timeout=5)
    assert content.status_code == 200 and content.content == pdf
    assert content.headers["Content-Type"] == "application/pdf"

    record = xml(get(base, f"EInvoiceInVc/{key}")).find("EInvoiceInVc")
    assert record.find("Attachments/Attachment").get("url") == listed[0].get("url")
    assert codes(get(base, "EInvoiceInVc", updates_after=str(before)), "EInvoiceInVc", "SerNr") == [key]

    assert requests.get(f"{base}/api/1/Attach/EInvoiceInVc/{key}/5", auth=AUTH, timeout=5).status_code == 404
    assert requests.get(f"{base}/api/1/Attach/EInvoiceInVc/{key}", timeout=5).status_code == 401
    missing_name = requests.post(f"{base}/api/1/Attach/EInvoiceInVc/{key}", data=pdf, auth=AUTH, timeout=5)
    assert error(missing_name)["field"] == "filename"


def test_injected_fault_uses_the_error_element_and_admin_state(base):
    requests.post(f"{base}/_sim/faults", json={"next_n": {"count": 1, "status": 503}}, timeout=5).raise_for_status()
    failed = get(base, "CUVc")
    assert failed.status_code == 503 and xml(failed).find("error").get("code")
    assert get(base, "CUVc").status_code == 200
    log = requests.get(f"{base}/_sim/requests", timeout=5).json()
    assert [(r["path"], r["status"]) for r in log] == [("/api/1/CUVc", 503), ("/api/1/CUVc", 200)]
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert state["sequence"] > 0 and len(state["AccVc"]) == 6
    assert requests.post(f"{base}/_sim/seed", json={"NoSuchVc": []}, timeout=5).status_code == 400
