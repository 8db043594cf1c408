"""accounting_saldeo_registers with the register "company" (dag.test(), the SaldeoSMART simulator over HTTP, a real
ledger): an accounting office's source folder holds the EPP exports of its client companies, each naming its
company in [INFO] (written here from the format description); a company the hub lacks is created once, a hub
company with that NIP and no program id gets the code, one already linked is left alone, a refused one waits in
the quarantine in the hub's words, a second run sends nothing, a dry run writes nothing, and nothing happens while
the settings do not list "company"."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from erpbridge.flows.accounting_exchange.settings import RegistersSettings
from tests.accounting_exchange.test_accounting_saldeo_registers import (  # noqa: F401 (fixture source)
    CRLF, PAPIERNIK, quarantine, quoted, run, source)
from tests.flows.dagrun import returned
from tests.saldeo import COMPANY, saldeo  # noqa: F401 (fixture)

EMAIL = "biuro@example.pl"


def export_of(code: str, short: str, full: str, nip: str) -> bytes:
    """An EPP export whose [INFO] (24 fields) names the exporting company: fields 5-11 code, short and full name,
    city, postcode, street, NIP."""
    info = [quoted("1.05"), "3", "1250", quoted("Rachmistrz GT"), quoted(code), quoted(short), quoted(full),
            quoted("Łódź"), quoted("90-001"), quoted("ul. Łąkowa 7"), quoted(nip)] + [quoted("")] * 13
    return CRLF.join(["[INFO]", ",".join(info), "", "[NAGLOWEK]", quoted("KONTRAHENCI"), "", "[ZAWARTOSC]",
                      PAPIERNIK, ""]).encode("cp1250")


@pytest.fixture
def office(airflow_db, ledger, saldeo, source, monkeypatch):
    """Four client companies' exports: a new one, one the hub has without a program id, the hub's own company
    (already linked) and one whose short name the hub refuses."""
    saldeo.seed(companies=[{"name": "Piekarnia (w hubie)", "vat_number": "PL 113-285-38-69"}])
    (source / "1-nowa.epp").write_bytes(export_of("NOWA", "Nowa", "Nowa Sp. z o.o.", "525-234-40-78"))
    (source / "2-piekarnia.epp").write_bytes(export_of("PIEK", "Piekarnia", "Piekarnia Jan Kos", "1132853869"))
    (source / "3-biuro.epp").write_bytes(export_of("BR", "Biuro", "Klient Biura Sp. z o.o.", "7010020030"))
    (source / "4-dluga.epp").write_bytes(export_of("DLUGA", "Nazwa za długa", "Długa SA", "5260250274"))
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS", json.dumps({
        "company_program_id": COMPANY, "source": str(source), "registers": ["company"],
        "company_admin_email": EMAIL}))
    return saldeo


def test_companies_are_created_once_a_known_one_synchronised_and_a_refused_one_waits(office, ledger):
    run()
    state = office.state()
    assert [(w["operation"], w["program_id"]) for w in state["company_writes"]] == [("create", "NOWA"),
                                                                                  ("synchronize", "PIEK")]
    assert {k: state["companies"]["NOWA"][k] for k in ("username", "email", "short_name", "name", "vat_number",
                                                        "city", "postcode", "street")} == {
        "username": "NOWA", "email": EMAIL, "short_name": "Nowa", "name": "Nowa Sp. z o.o.",
        "vat_number": "5252344078", "city": "Łódź", "postcode": "90-001", "street": "ul. Łąkowa 7"}
    assert state["companies"]["PIEK"]["name"] == "Piekarnia (w hubie)" and state["unlinked"] == []
    assert quarantine(ledger) == [("company", "5260250274", "NOT_VALID",
                                   "company DLUGA (NIP 5260250274, 4-dluga.epp line 2): SaldeoSMART refused it: "
                                   "SHORT_NAME: Nazwa skrócona może mieć najwyżej 8 znaków")]
    ids = dict(ledger.execute("SELECT source_id, target_id FROM id_map WHERE entity = 'company'").fetchall())
    assert ids == {"5252344078": str(state["companies"]["NOWA"]["company_id"]),
                   "1132853869": str(state["companies"]["PIEK"]["company_id"]),
                   "7010020030": str(state["companies"][COMPANY]["company_id"])}  # the hub's own: left as it is
    assert COMPANY in state["companies"] and "BR" not in state["companies"]

    since = office.last_seq()
    run()
    assert [r["path"] for r in office.writes(since)] == ["/api/xml/2.19/company/create"]  # only the waiting one
    assert len(office.state()["company_writes"]) == 2


def test_a_code_another_hub_company_holds_is_refused_before_any_call(office, ledger, source):
    (source / "5-kolizja.epp").write_bytes(export_of(COMPANY, "Inna", "Inna firma", "9542751368"))
    run()
    [(entity, source_id, category, reason)] = [r for r in quarantine(ledger) if r[1] == "9542751368"]
    assert (entity, category) == ("company", "CONFLICT")
    assert reason == ("company BIURO-1 (NIP 9542751368, 5-kolizja.epp line 2): the hub company Klient Biura Sp. z o.o. "
                      "(NIP 7010020030) already has the program id BIURO-1. What to do: give one of them another code "
                      "in the accounting program.")


def test_dry_run_lists_what_would_be_created_and_writes_nothing(office, ledger):
    counts = returned(run(dry_run=True), "sync_registers")
    assert counts == {"company unchanged": 1, "company would_create": 2, "company would_synchronize": 1,
                      "company would_reject": 0}
    assert office.state()["company_writes"] == [] and quarantine(ledger) == []
    assert ledger.execute("SELECT count(*) FROM id_map").fetchone() == (0,)


def test_nothing_happens_to_companies_unless_the_settings_list_them(office, source, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ERPBRIDGE_SALDEO_REGISTERS",
                       json.dumps({"company_program_id": COMPANY, "source": str(source)}))
    run()
    assert office.state()["company_writes"] == []
    assert "K-001" in {r["program_id"] for r in office.state()["merges"]}


def test_the_company_register_needs_the_admin_email():
    with pytest.raises(ValidationError, match="set company_admin_email"):
        RegistersSettings(registers=["company"])
    assert "company" not in RegistersSettings().registers
