"""The control room's "Retry now" for one quarantined document of saldeo_accounting_export through the real
api-server: the person's retry queues a run of the DAG naming the document by its Saldeo id, that run (executed
here: there is no scheduler) exports just that document once its mapping is fixed, and a user without rights on
the DAG cannot retry it."""

from __future__ import annotations

import json

import pytest

from tests.accounting_exchange.samples import SETTINGS
from tests.accounting_exchange.test_saldeo_accounting_export import DOCUMENTS, UNMAPPED, hub_seed
from tests.control_room.conftest import execute_queued_run
from tests.control_room.one_dag_auth_manager import ALICE, ALICE_DAG
from tests.flows.dagrun import run_dag
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)

DAG_ID = "saldeo_accounting_export"
JSON = {"Accept": "application/json"}
FORM = {"flow": DAG_ID, "entity": "document", "system": "saldeo", "source_id": "5004"}


@pytest.fixture
def exchange(room, saldeo, tmp_path, monkeypatch):  # noqa: F811 (fixture)
    """The export's settings (a folder of the test) and two documents marked for export, one with an unmapped
    category; ``configure(**changes)`` changes the settings."""
    folder = tmp_path / "exchange"
    folder.mkdir()

    def configure(**changes) -> None:
        values = {**SETTINGS.model_dump(mode="json"), "destination": str(folder), **changes}
        monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_ACCOUNTING", json.dumps(values))

    configure()
    saldeo.seed(documents=[DOCUMENTS[0], UNMAPPED])
    room.folder, room.configure = folder, configure
    return room


def test_retry_now_exports_the_waiting_document_alone_with_the_users_rights(exchange, saldeo):  # noqa: F811
    room = exchange
    assert ALICE_DAG != DAG_ID
    assert str(run_dag(DAG_ID).state) == "success"
    assert room.db.execute("SELECT source_id, source_key, error_category FROM quarantine").fetchall() == [
        ("5004", "FV 9/2026", "UNMAPPED_ACCOUNT")]
    room.configure(accounts={**SETTINGS.accounts, "Paliwo": "402-07"})  # the mapping fixed
    saldeo.seed(documents=[hub_seed(5007, number="FV 12/2026")])  # marked for export later: not part of the retry

    as_alice = room.session(ALICE).post(room.url("/quarantine/retry"), data=FORM, headers=JSON, timeout=30)
    assert as_alice.status_code == 404, as_alice.text  # no rights on the DAG: the record is not hers to see
    as_viewer = room.session("viewer").post(room.url("/quarantine/retry"), data=FORM, headers=JSON, timeout=30)
    assert as_viewer.status_code == 403, as_viewer.text  # may read the DAG, not trigger it: Airflow refuses
    started = room.session().post(room.url("/quarantine/retry"), data=FORM, headers=JSON, timeout=30)
    assert started.status_code == 201, started.text
    assert started.json()["dag_id"] == DAG_ID

    run_id = started.json()["dag_run_id"]
    queued = room.session().get(f"{room.base}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", timeout=30).json()
    assert queued["conf"] == {"retry_records": [{"entity": "document", "source_id": "5004"}]}
    assert "retry of document FV 9/2026 from the control room by admin" in (queued.get("note") or "")
    assert execute_queued_run(DAG_ID, run_id).state == "success"

    retried = room.folder / f"{COMPANY}-0000005004.epp"
    assert sorted(p.name for p in room.folder.iterdir()) == [f"{COMPANY}-0000005001.epp", retried.name]
    assert b'"FV 9/2026"' in retried.read_bytes() and b'"FV 12/2026"' not in retried.read_bytes()
    assert sorted(d["document_id"] for d in saldeo.state()["documents"] if d["ready"]) == [5007]
    assert room.db.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    assert room.db.execute("SELECT action, run_id FROM transfer_log WHERE source_id = '5004' ORDER BY id").fetchall()[
        -1] == ("created", run_id)
