"""horizon_ad_accounts against a real Samba AD DC over LDAPS and the Horizon simulator (R-C.1, R-C.2)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from erpbridge.companies import company_flow
from erpbridge.flows.horizon_ad.tasks import sync_accounts_now
from erpbridge.hooks import active_directory as ad_module
from tests.flows.dagrun import run_dag, task_states
from tests.samba_ad import GROUPS, USERS_OU

TODAY = date.today()  # the flow's day is Europe/Riga's; the tests keep clear of midnight edges by days
SCOPE = company_flow("horizon_ad_accounts").scope()  # the default company's connections and Variable
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=30)


@pytest.fixture
def passwords(monkeypatch) -> list[str]:
    """Test-only seam: the passwords the hook generates, captured without being logged anywhere."""
    captured: list[str] = []
    real = ad_module.generate_password

    def capture(length: int = 24) -> str:
        captured.append(real(length))
        return captured[-1]

    monkeypatch.setattr(ad_module, "generate_password", capture)
    return captured


@pytest.fixture
def flow(ledger, horizon, active_directory):
    from erpbridge.ledger.store import Ledger

    migrator = Ledger.connect("-")
    migrator.migrate()
    migrator.close()
    return ledger, horizon, active_directory


def code() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def employee(first: str, last: str, *, start: date = YESTERDAY, **extra) -> dict:
    return {"EmployeeCode": extra.pop("EmployeeCode", code()), "FirstName": first, "LastName": last,
            "Department": "IT", "Position": "Engineer", "EmploymentStart": start.isoformat(), **extra}


def account(ad, employee_code: str):
    found = ad.users(f"(employeeID={employee_code})")
    assert len(found) == 1, f"{len(found)} accounts with employeeID {employee_code}"
    return found[0]


def uac(entry) -> int:
    return int(entry.userAccountControl.value)


def test_hire_creates_user_with_attributes_groups_and_a_working_password(flow, passwords, airflow_db, capfd):
    ledger, horizon, ad = flow
    boss = employee("Jānis", "Bērziņš", Department="Finanses", Position="Direktors")
    future = employee("Łukasz", "Żółć", start=TOMORROW, ManagerCode=boss["EmployeeCode"])
    horizon.seed(employees=[boss, future])

    run = run_dag("horizon_ad_accounts")

    assert run.state == "success", task_states(run)
    janis = account(ad, boss["EmployeeCode"])
    assert janis.sAMAccountName.value == "janis.berzins"
    assert janis.userPrincipalName.value == "janis.berzins@test.local"
    assert (janis.givenName.value, janis.sn.value, janis.displayName.value) == ("Jānis", "Bērziņš", "Jānis Bērziņš")
    assert (janis.department.value, janis.title.value) == ("Finanses", "Direktors")
    assert janis.entry_dn.endswith(USERS_OU)
    assert sorted(g.lower() for g in janis.memberOf.values) == sorted(g.lower() for g in GROUPS)
    assert uac(janis) & 2 == 0
    lukasz = account(ad, future["EmployeeCode"])
    assert lukasz.sAMAccountName.value == "lukasz.zolc"
    assert uac(lukasz) & 2 == 2, "disabled until the employment starts"
    assert lukasz.manager.value.lower() == janis.entry_dn.lower()
    assert len(passwords) == 2 and all(len(p) >= 20 for p in passwords)

    # the password works over TLS: AD first demands the change at next logon (773 comes only after the
    # password was verified; a wrong one gives 52e), then, once changed, the bind succeeds
    assert ad.bind("janis.berzins@test.local", "Wrong-Password-1")[1].find("data 52e") > 0
    ok, message = ad.bind("janis.berzins@test.local", passwords[0])
    assert not ok and "data 773" in message
    admin = ad.admin_conn()
    admin.modify(janis.entry_dn, {"pwdLastSet": [("MODIFY_REPLACE", [-1])]})
    assert ad.bind("janis.berzins@test.local", passwords[0]) == (True, "")
    assert "data 533" in ad.bind("lukasz.zolc@test.local", passwords[1])[1]

    actions = ledger.execute("SELECT source_id, action FROM transfer_log ORDER BY id").fetchall()
    assert sorted(actions) == sorted([(boss["EmployeeCode"], "created"), (future["EmployeeCode"], "created")])
    # the passwords are nowhere: task output, log files, XCom, ledger
    import os
    import sqlite3
    from pathlib import Path

    output = capfd.readouterr()
    logs = "".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
                   .rglob("*") if p.is_file())
    metadata = sqlite3.connect(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))
    xcoms = " ".join(str(row) for row in metadata.execute("SELECT value FROM xcom"))
    ledger_text = " ".join(str(r) for table in ("transfer_log", "quarantine", "id_map")
                           for r in ledger.execute(f"SELECT * FROM {table}").fetchall())
    assert "janis.berzins" in output.out + output.err + logs + xcoms, "the places searched hold the run's data"
    for place, text in {"output": output.out + output.err, "logs": logs, "xcom": xcoms, "ledger": ledger_text}.items():
        assert not any(p in text for p in passwords), f"a generated password appears in the {place}"

    before = {e.entry_dn: e.uSNChanged.value for e in (account(ad, boss["EmployeeCode"]),
                                                       account(ad, future["EmployeeCode"]))}
    counts = sync_accounts_now({"employee_codes": [boss["EmployeeCode"], future["EmployeeCode"]]}, SCOPE)
    assert counts["unchanged"] == 2 and not counts["actions"]
    after = {e.entry_dn: e.uSNChanged.value for e in (account(ad, boss["EmployeeCode"]),
                                                      account(ad, future["EmployeeCode"]))}
    assert after == before, "a second run changes nothing in AD"


def test_termination_disables_rehire_enables_and_changes_follow(flow, passwords):
    ledger, horizon, ad = flow
    leaver = employee("Anna", f"Leaver{uuid.uuid4().hex[:4]}")
    notice = employee("Marta", f"Notice{uuid.uuid4().hex[:4]}")
    horizon.seed(employees=[leaver, notice])
    sync_accounts_now({}, SCOPE)
    sam = account(ad, leaver["EmployeeCode"]).sAMAccountName.value
    ad.admin_conn().modify(account(ad, leaver["EmployeeCode"]).entry_dn, {"pwdLastSet": [("MODIFY_REPLACE", [-1])]})
    assert ad.bind(f"{sam}@test.local", passwords[0])[0]

    # the end date is reached / a termination is registered with the end still ahead: both disabled now
    horizon.seed(employees=[{**leaver, "EmploymentEnd": TODAY.isoformat()},
                            {**notice, "EmploymentEnd": TOMORROW.isoformat(), "TerminationRegistered": True}])
    counts = sync_accounts_now({}, SCOPE)
    assert counts["updated"] == 2
    gone = account(ad, leaver["EmployeeCode"])
    assert uac(gone) & 2 == 2
    assert "employment ended " + TODAY.isoformat() in gone.description.value
    assert "Disabled by erpbridge" in gone.description.value
    assert "termination registered" in account(ad, notice["EmployeeCode"]).description.value
    assert uac(account(ad, notice["EmployeeCode"])) & 2 == 2
    ok, message = ad.bind(f"{sam}@test.local", passwords[0])
    assert not ok and "data 533" in message

    # rehire, with a new department, position and surname: enabled again, never a second account
    horizon.seed(employees=[{**leaver, "LastName": leaver["LastName"] + "-Kalniņa", "Department": "Sales",
                             "Position": "Manager", "EmploymentStart": TODAY.isoformat(), "EmploymentEnd": ""}])
    sync_accounts_now({}, SCOPE)
    back = account(ad, leaver["EmployeeCode"])
    assert uac(back) & 2 == 0
    assert (back.department.value, back.title.value, back.sn.value) == ("Sales", "Manager",
                                                                        leaver["LastName"] + "-Kalniņa")
    assert back.displayName.value == back.cn.value == f"Anna {leaver['LastName']}-Kalniņa"
    assert back.sAMAccountName.value == sam, "the logon name stays"
    assert ad.bind(f"{sam}@test.local", passwords[0])[0]
    assert ledger.execute("SELECT count(*) FROM transfer_log WHERE action = 'updated'").fetchone()[0] == 3
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_same_names_special_characters_and_adoption(flow, passwords):
    ledger, horizon, ad = flow
    twin_name = f"Twin{uuid.uuid4().hex[:4]}"
    twins = [employee("Pēteris", twin_name), employee("Pēteris", twin_name)]
    odd = [employee("Seán", "O'Brien (QA)*"), employee("Jean+Luc, \\Dev=Ops", "Smith;<x>#\"")]
    adopted = employee("Existing", f"Person{uuid.uuid4().hex[:4]}")
    # an account that already carries the employeeID (made by hand before erpbridge): adopted, not duplicated
    admin = ad.admin_conn()
    assert admin.add(f"CN=Hand Made {adopted['EmployeeCode']},{USERS_OU}", ["top", "person", "organizationalPerson", "user"],
                     {"sAMAccountName": f"hand{adopted['EmployeeCode'][-6:]}".lower(), "employeeID": adopted["EmployeeCode"]}), admin.result
    guid = ad.users(f"(employeeID={adopted['EmployeeCode']})", ["objectGUID"])[0].objectGUID.value
    horizon.seed(employees=twins + odd + [adopted])

    counts = sync_accounts_now({}, SCOPE)

    assert counts["created"] == 4 and counts["updated"] == 1, counts
    first, second = (account(ad, t["EmployeeCode"]) for t in twins)
    base = f"peteris.{twin_name.lower()}"
    assert {first.sAMAccountName.value, second.sAMAccountName.value} == {base, base + "2"}
    assert first.entry_dn != second.entry_dn
    obrien = account(ad, odd[0]["EmployeeCode"])
    assert obrien.sn.value == "O'Brien (QA)*" and obrien.sAMAccountName.value.startswith("sean.obrienqa")
    assert ad.users("(sn=O'Brien \\28QA\\29\\2a)")[0].entry_dn == obrien.entry_dn
    weird = account(ad, odd[1]["EmployeeCode"])
    assert weird.givenName.value == "Jean+Luc, \\Dev=Ops" and weird.cn.value.startswith("Jean+Luc, \\Dev=Ops")
    # an employee code that is a filter wildcard matches nothing
    from erpbridge.hooks.active_directory import ActiveDirectoryHook
    assert ActiveDirectoryHook().users_by("employeeID", ["*", "T*", ")(employeeID=*"]) == {}
    hand = account(ad, adopted["EmployeeCode"])
    assert hand.objectGUID.value == guid, "the same AD object, adopted"
    assert hand.displayName.value == hand.cn.value == f"Existing {adopted['LastName']}"
    assert len(passwords) == 4, "an adopted account keeps its password"

    again = sync_accounts_now({}, SCOPE)
    assert again.get("created", 0) == again.get("updated", 0) == 0 and not again["actions"]


def test_ad_refusal_goes_to_quarantine_with_the_servers_message(flow, monkeypatch):
    ledger, horizon, ad = flow
    person = employee("Weak", f"Password{uuid.uuid4().hex[:4]}")
    horizon.seed(employees=[person])
    real = ad_module.generate_password
    monkeypatch.setattr(ad_module, "generate_password", lambda length=24: "abc")

    counts = sync_accounts_now({}, SCOPE)

    assert counts["rejected"] == 1
    reason = ledger.execute("SELECT reason FROM quarantine WHERE source_id = %s",
                            (person["EmployeeCode"],)).fetchone()[0]
    assert "0000052D" in reason and "password" in reason.lower()
    assert ad.users(f"(employeeID={person['EmployeeCode']})") == [], "no half-made account is left"

    monkeypatch.setattr(ad_module, "generate_password", real)
    assert sync_accounts_now({}, SCOPE)["created"] == 1
    assert ledger.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_connection_checks_the_certificate_by_default_and_speaks_starttls(active_directory, monkeypatch):
    import json
    import os

    from erpbridge.hooks.active_directory import ActiveDirectoryHook

    ok, message = ActiveDirectoryHook().test_connection()
    assert ok, message
    base = json.loads(os.environ["AIRFLOW_CONN_ACTIVE_DIRECTORY_DEFAULT"])
    untrusted = {**base, "extra": {k: v for k, v in base["extra"].items() if k != "ca_file"}}
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVE_DIRECTORY_DEFAULT", json.dumps(untrusted))
    ok, message = ActiveDirectoryHook().test_connection()
    assert not ok and "certificate" in message.lower()
    assert active_directory.password not in message
    starttls = {**base, "port": 389, "extra": {**base["extra"], "use_starttls": True}}
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVE_DIRECTORY_DEFAULT", json.dumps(starttls))
    assert ActiveDirectoryHook().test_connection()[0]
