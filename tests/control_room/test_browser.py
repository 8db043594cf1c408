"""The control room in headless Chromium (Debian's chromium + chromium-driver), served by the real
api-server, after a real flow run against the simulators: sign in through Airflow's login page,
find one record's error in the history, fix the record in Severa, press "Retry now" and see it
transferred. Screenshots go to test-artifacts/control_room/."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import ARTIFACTS
from tests.control_room.conftest import execute_queued_run
from tests.flows.dagrun import run_dag
from tests.flows.test_severa_netvisor_registers import BAD_CUSTOMERS, DAG_ID, GOOD_CUSTOMERS, severa_api

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SHOTS = ARTIFACTS / "control_room"
REFUSED_BY_NETVISOR = {"number": 1004, "name": "Lowercase Country Oy", "headquarterAddress": {"country": "fi"}}
LONG = "12345678901234567"  # BAD_CUSTOMERS[0]'s number: too long for a Netvisor code

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := condition():
                return result
        except Exception:  # noqa: BLE001 - the page is still changing
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_find_an_error_fix_the_record_and_retry_it(room, netvisor, severa, browser):
    from selenium.webdriver.common.by import By

    guids = severa.seed(customers=[GOOD_CUSTOMERS[0], REFUSED_BY_NETVISOR] + BAD_CUSTOMERS)["customers"]
    assert run_dag(DAG_ID, {"registers": ["customers"]}).state == "success"
    driver = browser

    # No login: the control room sends the browser to Airflow's login page, which brings it back.
    driver.get(room.url("/"))
    wait_for(lambda: "/auth/login" in driver.current_url, what="the login page")
    assert "Smith" not in driver.page_source
    user = wait_for(lambda: driver.find_element(By.NAME, "username"), what="the login form")
    user.send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(room.passwords["admin"])
    shot(driver, "01-login")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: unquote(driver.current_url).startswith(room.url("/")) and
             driver.find_elements(By.ID, "history"), what="the history after login")
    shot(driver, "02-history")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#history tbody tr[data-id]")) == 4

    # Filter to the record Netvisor refused and open its error: Netvisor's own words.
    field = driver.find_element(By.NAME, "record")
    field.send_keys("1004")
    driver.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
    wait_for(lambda: "record=1004" in driver.current_url, what="the filtered history")
    rows = driver.find_elements(By.CSS_SELECTOR, "#history tbody tr[data-id]")
    assert len(rows) == 1
    rows[0].find_element(By.TAG_NAME, "summary").click()
    error = rows[0].find_element(By.CSS_SELECTOR, "pre.error-text")
    wait_for(error.is_displayed, what="the error text")
    assert error.text.startswith("INVALID_DATA :: ")
    shot(driver, "03-error-opened")
    link = rows[0].find_element(By.CSS_SELECTOR, "a[data-airflow]").get_attribute("href")
    assert "/dags/severa_netvisor_registers/runs/" in link and link.endswith("/tasks/sync_customers")

    # Quarantine: fix the long number in Severa, press "Retry now" for it.
    driver.find_element(By.LINK_TEXT, "Quarantine").click()
    row = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, f"tr.record[data-key='{LONG}']"), what="quarantine")
    assert len(driver.find_elements(By.CSS_SELECTOR, "tr.record")) == 3
    shot(driver, "04-quarantine")
    severa_api(severa, "PATCH", f"customers/{guids[2]}", json=[{"op": "Replace", "path": "/number", "value": 1777}])
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    notice = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".notice"), what="the retry notice")
    assert notice.text.startswith(f"retry of customer {LONG} started: run manual__")
    shot(driver, "05-retry-started")
    run_id = notice.text.split("run ", 1)[1].split(" of ", 1)[0]

    # No scheduler in the tests: execute the run Airflow's REST API queued, under its own id.
    run = execute_queued_run(DAG_ID, run_id)
    assert run.state == "success"
    assert run.conf["retry_records"] == [{"entity": "customer", "source_id": guids[2]}]

    driver.get(room.url("/quarantine"))
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "tr.record"), what="quarantine after the retry")
    assert [r.get_attribute("data-key") for r in driver.find_elements(By.CSS_SELECTOR, "tr.record")].count(LONG) == 0
    shot(driver, "06-quarantine-after-retry")
    driver.get(room.url("/?record=1777"))
    rows = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#history tbody tr[data-id]"), what="history")
    assert [r.find_element(By.CSS_SELECTOR, ".badge").text for r in rows] == ["created"]
    assert run_id in unquote(rows[0].find_element(By.CSS_SELECTOR, "a[data-airflow]").get_attribute("href"))
    shot(driver, "07-transferred")
    assert "1777" in [c["code"] for c in netvisor.state()["customers"]]

    # The per-flow page and the link inside Airflow's own UI.
    driver.get(room.url("/flows"))
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".card[data-flow=severa_netvisor_registers] .last-success"),
             what="the last successful run")
    shot(driver, "08-flows")
    driver.execute_script("window.localStorage.setItem('theme', 'dark')")  # Airflow's colour mode, same origin
    driver.get(room.url("/quarantine"))
    assert driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    shot(driver, "08-quarantine-dark")
    driver.execute_script("window.localStorage.setItem('theme', 'light')")
    # A staged payroll batch: correct a flagged row before the decision; the edit is listed.
    batch_id = room.db.execute(
        "INSERT INTO payroll_batch (flow, period_start, period_end, dag_id, run_id) VALUES ('horizon_payroll',"
        " '2026-10-01', '2026-10-31', 'horizon_payroll_time_import', 'manual__x') RETURNING id").fetchone()[0]
    room.db.execute("INSERT INTO payroll_row (batch_id, source, source_ref, employee_code, work_date, time_type, hours,"
                    " flags) VALUES (%s, 'csv', 'hours.csv:2', 'E1', '2026-10-02', 'NORMAL', -8, ARRAY['negative hours'])",
                    (batch_id,))
    driver.get(room.url("/review"))
    driver.find_element(By.LINK_TEXT, f"#{batch_id}").click()
    hours = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#rows input[name=hours]"), what="the batch rows")
    hours.clear()
    hours.send_keys("8")
    driver.find_element(By.CSS_SELECTOR, "#rows button[type=submit]").click()
    wait_for(lambda: "changed hours" in driver.find_element(By.CSS_SELECTOR, ".notice").text, what="the edit")
    assert "negative hours" in driver.find_element(By.ID, "edits").text
    assert driver.find_elements(By.CSS_SELECTOR, "#rows .flag") == []
    shot(driver, "10-payroll-row-edited")

    driver.get(f"{room.base}/plugin/erpbridge")
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "iframe[title=Transfers]"), what="the embedded view")
    time.sleep(1)
    shot(driver, "11-inside-airflow")
