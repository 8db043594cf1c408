"""Envoice simulator (assumed REST/JSON contract), exercised over real HTTP."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from include.simulators.envoice import DEMO_SEED

API_KEY = "demo-envoice-key"


@pytest.fixture
def base(simulators) -> str:
    url = simulators["envoice"]
    requests.post(f"{url}/_sim/reset", timeout=5).raise_for_status()
    return url


class Api(requests.Session):
    def __init__(self, base: str, key: str | None = API_KEY):
        super().__init__()
        self.url = f"{base}/api/v1"
        if key is not None:
            self.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return super().request(method, self.url + path, **kwargs)


@pytest.fixture
def api(base) -> Api:
    with Api(base) as session:
        yield session


def seed(base: str, payload: dict) -> dict:
    response = requests.post(f"{base}/_sim/seed", json=payload, timeout=5)
    response.raise_for_status()
    return response.json()


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_bearer_api_key_required(base):
    for key in (None, "wrong-key"):
        with Api(base, key) as session:
            assert_error(session.get("/contacts"), 401, "unauthorized")
            assert_error(session.get("/purchase-documents"), 401, "unauthorized")
    with Api(base) as session:
        session.headers["Authorization"] = f"Basic {API_KEY}"
        assert_error(session.get("/accounts"), 401, "unauthorized")


def test_master_data_crud_keyed_by_code(api):
    created = api.post("/contacts", json={"code": "2001", "name": "Ehitus & Remont OÜ", "vat_number": "EE100000002"})
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True and created.json()["updated_at"].endswith("Z")
    assert_error(api.post("/contacts", json={"code": "2001", "name": "Again"}), 409, "duplicate")

    first_stamp = created.json()["updated_at"]
    time.sleep(0.01)
    updated = api.put("/contacts/2001", json={"name": "Ehitus & Remont OÜ (new)", "active": False})
    assert updated.status_code == 200
    assert updated.json()["vat_number"] == "EE100000002" and updated.json()["updated_at"] > first_stamp
    assert api.get("/contacts/2001").json()["name"] == "Ehitus & Remont OÜ (new)"
    assert_error(api.put("/contacts/9999", json={"name": "x"}), 404, "not_found")
    assert_error(api.put("/contacts/2001", json={"code": "2002"}), 422, "validation")

    assert api.delete("/contacts/2001").status_code == 204
    assert_error(api.get("/contacts/2001"), 404, "not_found")
    assert_error(api.delete("/contacts/2001"), 404, "not_found")


def test_dimensions_need_their_group_and_validation_errors(api):
    assert_error(api.post("/dimensions", json={"code": "ADM", "group_code": "DEP", "name": "Admin"}), 422, "validation")
    assert api.post("/dimension-groups", json={"code": "DEP", "name": "Departments"}).status_code == 201
    dimension = api.post("/dimensions", json={"code": "ADM", "group_code": "DEP", "name": "Administration"})
    assert dimension.status_code == 201 and dimension.json()["group_code"] == "DEP"
    assert_error(api.delete("/dimension-groups/DEP"), 409, "in_use")
    assert api.delete("/dimensions/ADM").status_code == 204
    assert api.delete("/dimension-groups/DEP").status_code == 204

    assert_error(api.post("/accounts", json={"code": "4000"}), 422, "validation")  # name missing
    assert_error(api.post("/accounts", json={"code": "4000", "name": "x", "colour": "red"}), 422, "validation")
    assert_error(api.post("/accounts", data=b"{not json", headers={"Content-Type": "application/json"}),
                 422, "validation")
    assert_error(api.get("/nothing"), 404, "not_found")


def test_master_data_paging_meta(base, api):
    seed(base, {"accounts": [{"code": f"4{i:03d}", "name": f"Account {i}"} for i in range(7)]})
    first = api.get("/accounts", params={"per_page": 3}).json()
    assert first["meta"] == {"page": 1, "per_page": 3, "total": 7, "total_pages": 3}
    assert [a["code"] for a in first["data"]] == ["4000", "4001", "4002"]
    last = api.get("/accounts", params={"per_page": 3, "page": 3}).json()
    assert [a["code"] for a in last["data"]] == ["4006"]
    assert api.get("/accounts", params={"page": 9}).json()["data"] == []
    assert api.get("/accounts").json()["meta"]["per_page"] == 50
    assert_error(api.get("/accounts", params={"per_page": 201}), 422, "validation")
    assert_error(api.get("/accounts", params={"page": 0}), 422, "validation")


def test_published_filter_and_updated_since(base, api):
    old = "2024-05-10T00:00:00Z"
    seed(base, {"documents": [doc | {"updated_at": old} for doc in DEMO_SEED["documents"]]})
    published = api.get("/purchase-documents", params={"status": "published"}).json()
    assert [d["number"] for d in published["data"]] == ["ER-2024-117", "SÕJ-0042", "R-5531"]
    assert published["meta"]["total"] == 3
    assert {d["type"] for d in published["data"]} == {"invoice", "receipt"}
    doc = published["data"][0]
    assert doc["supplier"] == {"code": "2001", "name": "Ehitus & Remont OÜ"}
    assert (doc["net_total"], doc["vat_total"], doc["total"]) == ("150.00", "28.50", "178.50")
    assert doc["vat_rows"] == [{"rate": "24", "net": "100.00", "vat": "24.00"},
                               {"rate": "9", "net": "50.00", "vat": "4.50"}]
    assert doc["lines"][0]["dimensions"] == [
        {"group_code": "DEP", "code": "ADM"}, {"group_code": "PRJ", "code": "P100"}]
    assert [h["action"] for h in doc["approval_history"]] == ["approved", "published"]
    assert doc["transfer"] is None and doc["pdf_url"].endswith(f"/api/v1/purchase-documents/{doc['id']}/pdf")
    statuses = {d["status"] for d in api.get("/purchase-documents").json()["data"]}
    assert statuses == {"draft", "approved", "published"}

    since = {"status": "published", "updated_since": (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()}
    assert api.get("/purchase-documents", params=since).json()["data"] == []
    assert len(api.get("/purchase-documents", params={"updated_since": old}).json()["data"]) == 5  # inclusive
    requests.post(f"{base}/_sim/purchase-documents/1004/status", json={"status": "published"},
                  timeout=5).raise_for_status()
    newer = api.get("/purchase-documents", params=since).json()["data"]
    assert [d["id"] for d in newer] == [1004]
    assert_error(api.get("/purchase-documents", params={"updated_since": "yesterday"}), 422, "validation")


def test_pdf_bytes(base, api):
    pdf = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
    supplier = {"code": "2001", "name": "S"}
    ids = seed(base, {"documents": [{"id": 1, "number": "X-1", "supplier": supplier,
                                     "lines": [{"account": "4000", "net": "10", "vat_rate": "24"}],
                                     "pdf_base64": base64.b64encode(pdf).decode()},
                                    {"id": 2, "number": "X-2", "supplier": supplier}]})["documents"]
    doc = api.get(f"/purchase-documents/{ids[0]}").json()
    response = requests.get(doc["pdf_url"], headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf" and response.content == pdf
    assert api.get(f"/purchase-documents/{ids[1]}").json()["pdf_url"] is None
    assert_error(api.get(f"/purchase-documents/{ids[1]}/pdf"), 404, "not_found")
    assert_error(api.get("/purchase-documents/999999/pdf"), 404, "not_found")

    seed(base, {"documents": [DEMO_SEED["documents"][0]]})
    demo_pdf = api.get("/purchase-documents/1001/pdf").content
    assert demo_pdf.startswith(b"%PDF-") and demo_pdf.rstrip().endswith(b"%%EOF")


def test_transfer_and_archive(base, api):
    seed(base, DEMO_SEED)
    transferred = api.post("/purchase-documents/1001/transfer", json={"erp_id": "10000001"})
    assert transferred.status_code == 200, transferred.text
    body = transferred.json()
    assert body["status"] == "transferred" and body["transfer"]["erp_id"] == "10000001"
    assert api.post("/purchase-documents/1001/transfer", json={"erp_id": "10000001"}).status_code == 200
    assert_error(api.post("/purchase-documents/1001/transfer", json={"erp_id": "10000002"}), 409, "invalid_status")
    assert [d["id"] for d in api.get("/purchase-documents", params={"status": "published"}).json()["data"]] == [
        1002, 1005]

    archive = {a["id"]: a for a in api.get("/archive").json()["data"]}
    assert (archive[1001]["approval_status"], archive[1001]["transfer_status"]) == ("approved", "transferred")
    assert archive[1001]["transfer"]["erp_id"] == "10000001"
    assert (archive[1002]["approval_status"], archive[1002]["transfer_status"]) == ("approved", "not_transferred")
    assert archive[1003]["approval_status"] == "pending"
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert next(d for d in state["documents"] if d["id"] == 1001)["transfer"]["erp_id"] == "10000001"


def test_transfer_of_non_published_is_refused(base, api):
    seed(base, DEMO_SEED)
    for doc_id in (1003, 1004):  # draft, approved but not published
        assert_error(api.post(f"/purchase-documents/{doc_id}/transfer", json={"erp_id": "1"}), 409, "invalid_status")
    assert_error(api.post("/purchase-documents/1002/transfer", json={}), 422, "validation")
    assert_error(api.post("/purchase-documents/4242/transfer", json={"erp_id": "1"}), 404, "not_found")
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    assert all(d["transfer"] is None for d in state["documents"])


def test_injected_fault_uses_the_json_envelope(base, api):
    requests.post(f"{base}/_sim/faults", json={"next_n": {"count": 1, "status": 503}}, timeout=5).raise_for_status()
    assert api.get("/contacts").status_code == 503
    assert api.get("/contacts").status_code == 200
    assert requests.post(f"{base}/_sim/seed", json={"documents": [{"number": "no supplier"}]},
                         timeout=5).status_code == 400
