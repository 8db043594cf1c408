"""What an operator does in Airflow's own pages, in headless Chromium against one real Airflow (api-server,
scheduler, dag-processor: include/airflow_services.py) with the demo's data in the simulators and its
connections in the metadata DB: every DAG's trigger form submitted untouched and with only dry_run on
(both runs succeed; the dry runs write nothing), Admin > Connections with its Test button, and secret
extras hidden from an op user in the REST API. Screenshots go to test-artifacts/ui/."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from include.airflow_services import AirflowServices, wait_healthy
from erpbridge.provider import SECRET_EXTRAS
from include.sandbox import configure_simulators, connections, outbound_settings
from include.simulators.client import SimulatorAdmin, launch, stop
from tests.conftest import ARTIFACTS
from tests.control_room.test_browser import CHROMEDRIVER, CHROMIUM, wait_for
from tests.samba_ad import BASE_DN, CERT_NAME
from tests.test_dag_files import FORM_DAGS

SHOTS = ARTIFACTS / "ui"
TIMEOUT = 900
SIMULATOR_CONNECTIONS = ["netvisor_default", "severa_default", "standard_books_default", "envoice_default",
                         "visma_horizon_default", "woocommerce_default", "fakturownia_default", "saldeo_default",
                         "eservice_default", "weighing_default"]
AD_OU = f"OU=UiTests,{BASE_DN}"  # the accounts these runs create stay out of the identity tests' OU
LEDGER_TABLES = ["id_map", "watermark", "transfer_log", "quarantine", "document_transfer", "eshop_reservation",
                 "accounting_export_file", "payment_file", "weighing"]

pytestmark = [pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                 reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"),
              pytest.mark.timeout(TIMEOUT + 300)]


def _database(postgres, prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.get_uri(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return name


def _ad_connection(samba_ad) -> dict:
    conn = samba_ad.admin_conn()
    conn.add(AD_OU, ["top", "organizationalUnit"])  # already there on a rerun in the same session: fine
    conn.unbind()
    return {"conn_type": "active_directory", "host": samba_ad.host, "port": 636, "login": samba_ad.admin,
            "password": samba_ad.password,
            "extra": {"base_dn": AD_OU, "users_ou": AD_OU, "upn_suffix": "test.local", "ca_file": samba_ad.ca_file,
                      "tls_server_name": CERT_NAME}}


@pytest.fixture(scope="module")
def airflow(postgres, samba_ad, tmp_path_factory):
    """One Airflow for the module, the demo's simulators and connections, users admin and op."""
    sims, urls = launch("demo")
    configure_simulators(urls)
    ledger = _database(postgres, "ledger_ui")
    conns = connections(urls, postgres.get_uri(), ledger)
    conns["netvisor_wrong_key"] = {**conns["netvisor_default"],
                                   "extra": {**conns["netvisor_default"]["extra"], "partner_key": "not-the-key"}}
    conns["active_directory_default"] = _ad_connection(samba_ad)
    outbound = tmp_path_factory.mktemp("outbound")
    services = AirflowServices(tmp_path_factory.mktemp("airflow-ui"), postgres.get_uri(_database(postgres, "airflow_ui")), {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,operator:op",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the runs the forms trigger
        **outbound_settings(outbound),  # the bank and accounting-exchange folders the file-writing flows fill
    }, conns)
    try:
        services.start()
        wait_healthy(f"{services.env['AIRFLOW__API__BASE_URL']}/api/v2/monitor/health", services.procs["api-server"],
                     timeout=180)
        services.wait_parsed(FORM_DAGS, time.monotonic() + 300)
        services.urls, services.ledger_uri, services.outbound = urls, postgres.get_uri(ledger), outbound
        services.passwords = json.loads((services.home / "simple_auth_manager_passwords.json.generated").read_text())
        yield services
    finally:
        services.stop()
        stop(sims, timeout=10)


@pytest.fixture(scope="module")
def browser(airflow):
    """Chromium signed in to Airflow as admin through Airflow's login page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        driver.base = airflow.env["AIRFLOW__API__BASE_URL"]
        driver.get(f"{driver.base}/")
        wait_for(lambda: driver.find_element(By.NAME, "username"), what="Airflow's login page").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(airflow.passwords["admin"])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(lambda: "/auth/login" not in driver.current_url and "Dags" in driver.find_element(By.TAG_NAME, "body").text,
                 what="the home page")
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def trigger_from_form(driver, dag_id: str, dry_run: bool, screenshot: str | None = None) -> None:
    """Open the DAG's page, its Trigger form, leave every field as it is (dry_run switched on if asked), submit."""
    from selenium.webdriver.common.by import By

    driver.get(f"{driver.base}/dags/{dag_id}")
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "button[aria-label='Trigger Dag']"),
             what=f"{dag_id}'s page").click()
    dialog = wait_for(lambda: [d for d in driver.find_elements(By.CSS_SELECTOR, "[role=dialog]") if d.is_displayed()
                               and "Trigger Dag" in d.text][0], what="the trigger form")
    wait_for(lambda: dialog.find_element(By.NAME, "element_dry_run"), what="the Run Parameters")
    if dry_run:
        dialog.find_element(By.CSS_SELECTOR, "label[id='switch:element_dry_run']").click()
        wait_for(lambda: dialog.find_element(By.NAME, "element_dry_run").is_selected(), what="dry_run on")
    if screenshot:
        shot(driver, screenshot)
    button = [b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Trigger"][0]
    wait_for(lambda: button.is_enabled(), what="an enabled Trigger button (nothing required is empty)")
    button.click()
    wait_for(lambda: not [d for d in driver.find_elements(By.CSS_SELECTOR, "[role=dialog]")
                          if d.is_displayed() and "Trigger Dag" in d.text], what="the form to close after the run was triggered")


def runs(airflow, dag_ids) -> dict[str, list[tuple]]:
    rows = airflow.query("SELECT dag_id, run_id, state, conf FROM dag_run WHERE dag_id = ANY(%s) ORDER BY id",
                         (list(dag_ids),))
    found: dict[str, list[tuple]] = {}
    for dag_id, run_id, state, conf in rows:
        found.setdefault(dag_id, []).append((run_id, state, conf if isinstance(conf, dict) else json.loads(conf or "{}")))
    return found


def wait_all_finished(airflow, count: int) -> dict[str, list[tuple]]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = runs(airflow, FORM_DAGS)
        if all(len(found.get(d, [])) >= count and all(r[1] in ("success", "failed") for r in found[d])
               for d in FORM_DAGS):
            return found
        airflow._check_alive(deadline, f"runs not finished: {found}")
        time.sleep(2)


def ledger_rows(airflow) -> dict[str, int]:
    import psycopg

    with psycopg.connect(airflow.ledger_uri, autocommit=True) as conn:
        present = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in LEDGER_TABLES if t in present}


def written_files(airflow) -> list:
    return [path for path in airflow.outbound.rglob("*") if path.is_file()]


def targets(airflow) -> dict[str, object]:
    """What the simulators hold (not Netvisor's count of used transaction ids: every read uses one)."""
    state = {name: SimulatorAdmin(url).state() for name, url in airflow.urls.items()}
    state["netvisor"].pop("transaction_ids")
    return state


def test_every_trigger_form_runs_untouched_and_as_a_dry_run(airflow, browser):
    """Dry runs first (they must leave the ledger and every target as they were), then untouched forms."""
    from selenium.webdriver.common.by import By

    before = targets(airflow)
    for dag_id in FORM_DAGS:
        trigger_from_form(browser, dag_id, dry_run=True,
                          screenshot="01-trigger-form-dry-run" if dag_id == "severa_netvisor_sales_invoices" else None)
    dry = wait_all_finished(airflow, 1)
    assert {d: [(r[1], r[2].get("dry_run")) for r in found] for d, found in dry.items()} == \
        {d: [("success", True)] for d in FORM_DAGS}, airflow.tail()
    assert targets(airflow) == before, "a dry run changed a target system"
    assert not any(ledger_rows(airflow).values()), f"a dry run wrote to the ledger: {ledger_rows(airflow)}"
    assert not written_files(airflow), "a dry run wrote a bank or exchange file"

    for dag_id in FORM_DAGS:
        trigger_from_form(browser, dag_id, dry_run=False,
                          screenshot="02-trigger-form-untouched" if dag_id == "severa_netvisor_registers" else None)
    done = wait_all_finished(airflow, 2)
    assert {d: [(r[1], r[2].get("dry_run")) for r in found] for d, found in done.items()} == \
        {d: [("success", True), ("success", False)] for d in FORM_DAGS}, airflow.tail()
    assert ledger_rows(airflow)["transfer_log"] > 0 and targets(airflow) != before
    assert {path.parent.name for path in written_files(airflow)} == {"bank_outbox", "accounting_exchange"}
    browser.get(f"{browser.base}/dags/severa_netvisor_sales_invoices")
    wait_for(lambda: "transfer_documents" in browser.find_element(By.TAG_NAME, "body").text
             and not browser.find_elements(By.CSS_SELECTOR, ".chakra-skeleton"), what="the runs, rendered")
    shot(browser, "03-runs")

    logs = list(airflow.logs.rglob("*.log"))
    assert logs and not [p for p in logs if "Skipping masking" in p.read_text(errors="replace")], \
        "a task log warns about a secret too short to mask"


def test_connections_are_listed_and_tested_in_admin_connections(airflow, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{browser.base}/connections")
    wait_for(lambda: "netvisor_default" in browser.find_element(By.TAG_NAME, "tbody").text, what="the connections")
    listed = browser.find_element(By.TAG_NAME, "tbody").text
    for conn_id in [*SIMULATOR_CONNECTIONS, "erpbridge_ledger", "active_directory_default"]:
        assert conn_id in listed
    shot(browser, "04-connections")

    def press(button) -> None:
        """Click as a person would: first move the pointer off the tooltip the last click left open (it sits
        over the next row's buttons) and close it, retrying while a toast still covers the button."""
        def click():
            ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, "thead")).send_keys(
                Keys.ESCAPE).perform()
            button.click()
            return True
        wait_for(click, what="the button to take a click")

    def test_button(conn_id: str, screenshot: str = "") -> tuple[str, str]:
        """Press the row's Test button; the type (success / error) and text of the toast it brings."""
        toasts = "[data-scope=toast][data-part=root]"
        seen = set(browser.execute_script(  # in one read: a closing toast may leave the page meanwhile
            "return [...document.querySelectorAll(arguments[0])].map(t => t.id)", toasts))
        row = [r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if conn_id in r.text.split()][0]
        press(row.find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']"))
        try:
            toast = wait_for(lambda: [t for t in browser.find_elements(By.CSS_SELECTOR, toasts)  # shown with its text
                                      if t.get_attribute("id") not in seen and t.text.strip()][0],
                             what=f"the test result of {conn_id}")
        except IndexError:
            shot(browser, f"failed-test-button-{conn_id}")
            raise AssertionError(f"no new toast with text after {conn_id}'s Test button; on screen: " + repr(
                browser.execute_script("return [...document.querySelectorAll(arguments[0])].map(t => [t.id, "
                                       "t.dataset.type, t.dataset.state, t.innerText])", toasts))) from None
        kind, text = toast.get_attribute("data-type"), toast.text
        if screenshot:
            shot(browser, screenshot)
        dismiss(toast)
        return kind, text

    def dismiss(toast) -> None:
        """Close the toast as a person would, then move the pointer off it: Airflow's toasts stay while the page
        is idle or hovered, and a stack of them covers the lower rows' buttons. Clicked again until it closes."""
        def closed() -> bool:
            try:
                return toast.get_attribute("data-state") == "closed" or not toast.is_displayed()
            except StaleElementReferenceException:
                return True

        def close() -> bool:
            if not closed():
                for button in toast.find_elements(By.CSS_SELECTOR, "[data-part=close-trigger]"):
                    button.click()
                ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, "thead")).perform()
            return closed()
        wait_for(close, what="the toast to close")

    for conn_id in SIMULATOR_CONNECTIONS:
        kind, text = test_button(conn_id)
        assert kind == "success", (conn_id, text)
    kind, text = test_button("netvisor_wrong_key", screenshot="05-connection-test-failed")
    assert kind == "error" and "Netvisor connection failed" in text, text

    row = [r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if "netvisor_default" in r.text.split()][0]
    press(row.find_element(By.CSS_SELECTOR, "button[aria-label='Edit Connection']"))
    dialog = wait_for(lambda: [d for d in browser.find_elements(By.CSS_SELECTOR, "[role=dialog]") if d.is_displayed()
                               and "Edit Connection" in d.text][0], what="the connection form")
    [b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Extra Fields"][0].click()
    key = wait_for(lambda: dialog.find_element(By.ID, "element_partner_key"), what="the partner key field")
    assert key.get_attribute("type") == "password" and key.get_attribute("value") == "***"
    shot(browser, "06-connection-form")


def test_an_op_user_reads_no_secret_through_the_rest_api(airflow):
    base = airflow.env["AIRFLOW__API__BASE_URL"]
    token = requests.post(f"{base}/auth/token", json={"username": "operator", "password": airflow.passwords["operator"]},
                          timeout=30).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = requests.get(f"{base}/api/v2/connections", headers=headers, timeout=30)
    assert listed.status_code == 200
    bodies = [listed.text] + [requests.get(f"{base}/api/v2/connections/{c['connection_id']}", headers=headers,
                                           timeout=30).text for c in listed.json()["connections"]]
    demo = connections(airflow.urls, "?host=/", "-")
    secrets = [conn["password"] for conn in demo.values() if conn.get("password")]
    secrets += [conn["extra"][name] for conn in demo.values() for name in SECRET_EXTRAS if name in conn.get("extra", {})]
    assert "demo-partner-key" in secrets
    for body in bodies:
        assert not [s for s in secrets if s in body], body
    shown = {c["connection_id"]: json.loads(c["extra"] or "{}") for c in listed.json()["connections"]}
    assert shown["netvisor_default"]["partner_key"] == "***"
