"""The Transfers pages inside Airflow's own UI (Browse > Transfers: an iframe sandboxed without modals, top
navigation or popups), in headless Chromium against the real api-server, after the demo's hours run: fix the
demo's refused vacation from the quarantine with a record type read from Netvisor and see it move on Retry,
dismiss a record with the in-page confirmation and find it in the history, and follow a task-run link to
Airflow's task page."""

from __future__ import annotations

import copy
from urllib.parse import unquote

from include.simulators import netvisor as netvisor_sim
from include.simulators import severa as severa_sim
from tests.conftest import unthrottled
from tests.control_room.conftest import execute_queued_run
from tests.control_room.test_browser import browser, pytestmark, shot, wait_for  # noqa: F401  (fixture, marks)
from tests.flows.dagrun import run_dag

DAG_ID = "severa_netvisor_hours"
VACATION = "VAC"


def sign_in(driver, room) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{room.base}/plugin/erpbridge")
    user = wait_for(lambda: driver.find_element(By.NAME, "username"), what="Airflow's login form")
    user.send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(room.passwords["admin"])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def into_transfers(driver, room, page: str = "") -> None:
    """Airflow's page of the plugin, then into its iframe, on ``page`` of the control room (Airflow keeps the
    iframe's own path after /plugin/erpbridge)."""
    from selenium.webdriver.common.by import By

    driver.switch_to.default_content()
    driver.get(f"{room.base}/plugin/erpbridge/erpbridge{page or '/'}")
    frame = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "iframe[title=Transfers]"), what="the iframe")
    assert "allow-modals" not in frame.get_attribute("sandbox") and "allow-popups" not in frame.get_attribute("sandbox")
    driver.switch_to.frame(frame)
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "main"), what="the control room in the iframe")


def test_inside_airflow_fix_a_refusal_retry_dismiss_and_follow_a_link(room, settings_variable, severa,
                                                                     netvisor_in_airflow, browser, monkeypatch):
    from selenium.webdriver.common.by import By

    netvisor = netvisor_in_airflow
    unthrottled(severa, monkeypatch)
    monkeypatch.delenv("AIRFLOW_VAR_ERPBRIDGE_SEVERA_NETVISOR", raising=False)  # the demo sets no Variable
    for seed in (severa_sim.DEMO_SEED, severa_sim.DEMO_DOCUMENTS):
        severa.seed(**copy.deepcopy(seed))
    netvisor.seed(**copy.deepcopy(netvisor_sim.DEMO_SEED))
    assert run_dag(DAG_ID).state == "success"
    waiting = room.db.execute("SELECT source_id, source_key FROM quarantine WHERE error_category = 'ABSENCE_TYPE'"
                              " ORDER BY source_key").fetchall()
    assert len(waiting) == 2, waiting  # the demo's two vacation days
    driver = browser
    sign_in(driver, room)

    # The refusal and its fix on the same page, offering the record types read from Netvisor (the demo's):
    # the one chosen goes into the settings Variable.
    into_transfers(driver, room, "/quarantine")
    fix = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "form.fix"), what="the fix form")
    assert "Choices: 1 Tuntityö, 2 Ylityö 50 %, 20 Vuosiloma, 21 Sairausloma. Read from Netvisor" in fix.text
    offered = fix.find_elements(By.CSS_SELECTOR, "datalist option")
    assert [(o.get_attribute("value"), o.get_attribute("label")) for o in offered] == [
        ("1", "Tuntityö"), ("2", "Ylityö 50 %"), ("20", "Vuosiloma"), ("21", "Sairausloma")]
    fix.find_element(By.NAME, "record_type").send_keys("20")
    shot(driver, "20-iframe-fix-form")
    fix.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    notice = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".notice"), what="the saved notice")
    assert f"absence type {VACATION} now moves as Netvisor record type 20" in notice.text
    shot(driver, "21-iframe-fix-saved")

    # Retry now for the first day; the run Airflow queued is executed here (no scheduler in the tests).
    first, second = waiting
    row = driver.find_element(By.CSS_SELECTOR, f"tr.record[data-key='{first[1]}']")
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    text = wait_for(lambda: (t := driver.find_element(By.CSS_SELECTOR, ".notice").text) and "run " in t and t,
                    what="the retry notice")  # not the saved notice still shown while the page reloads
    run_id = text.split("run ", 1)[1].split(" of ", 1)[0]
    assert execute_queued_run(DAG_ID, run_id).state == "success"
    moved = [w for w in netvisor.state()["workdays"] if w["record_type"] == "20"]
    assert [w["date"] for w in moved] == [first[1].split()[-1]], "the vacation day moved as record type 20"

    # Dismiss the other day with a comment: asked in the page (no confirm() in this sandbox).
    into_transfers(driver, room, "/quarantine")
    row = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f"tr.record[data-key='{second[1]}']"),
                   what="the other vacation day")
    assert len(driver.find_elements(By.CSS_SELECTOR, "tr.record")) == 1
    form = row.find_element(By.CSS_SELECTOR, "form.dismiss")
    form.find_element(By.NAME, "comment").send_keys("taken as unpaid leave, booked by hand")
    form.find_element(By.CSS_SELECTOR, "button.ask").click()
    yes = form.find_element(By.CSS_SELECTOR, "button.yes")
    wait_for(yes.is_displayed, what="the in-page confirmation")
    shot(driver, "22-iframe-dismiss-confirm")
    yes.click()
    wait_for(lambda: "dismissed" in driver.find_element(By.CSS_SELECTOR, ".notice").text, what="the dismissal")
    assert room.db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0

    into_transfers(driver, room, "/?action=dismissed")
    rows = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#history tbody tr[data-id]"), what="history")
    assert "taken as unpaid leave" in rows[0].text
    shot(driver, "23-iframe-dismissed-in-history")

    # A task-run link opens Airflow's task page in Airflow's own window.
    into_transfers(driver, room, f"/?record={first[0]}")
    link = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#history a[data-airflow]"), what="a task link")
    target = unquote(link.get_attribute("href"))
    link.click()
    driver.switch_to.default_content()
    wait_for(lambda: unquote(driver.current_url) == target, what="Airflow's task page in the top window")
    assert "/dags/severa_netvisor_hours/runs/" in target and "/tasks/" in target
    wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, "iframe[title=Transfers]"), what="the iframe gone")
    shot(driver, "24-iframe-link-to-task")
