"""The company filter in headless Chromium against the real api-server: two companies' records of one flow,
the quarantine and the flows page grouped by company, and choosing one company in the picker shows only its
records. Screenshots go to test-artifacts/control_room/."""

from __future__ import annotations

from datetime import datetime, timezone

from erpbridge.company import dag_id
from tests.control_room.test_api import REGISTERS, add_rows, quarantine_row
from tests.control_room.test_browser import browser, pytestmark, shot, wait_for  # noqa: F401  (fixture, marks)
from tests.control_room.test_browser_iframe import into_transfers, sign_in

COMPANIES = ("acme", "globex")


def test_the_company_picker_shows_one_companys_quarantine_and_flows(room, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    now = datetime.now(timezone.utc)
    for company in COMPANIES:
        add_rows(room.db, [{"at": now, "company": company, "flow": REGISTERS, "system": "severa", "entity": "customer",
                            "source_id": f"{company}-1", "source_key": f"C-{company}", "action": "rejected",
                            "error_text": "customer code refused", "dag_id": dag_id(REGISTERS, company),
                            "run_id": "r", "task_id": "sync_customers"}])
        quarantine_row(room.db, f"{company}-1", f"C-{company}", "customer code refused", company=company)
    driver = browser
    sign_in(driver, room)
    wait_for(lambda: "/auth/login" not in driver.current_url, what="signed in")
    into_transfers(driver, room, "/quarantine")

    def shown() -> list[tuple[str, str]]:
        return [(row.get_attribute("data-key"), row.find_element(By.CSS_SELECTOR, "td.company").text)
                for row in driver.find_elements(By.CSS_SELECTOR, "tr.record")]

    wait_for(lambda: len(shown()) == 2, what="both companies' records")
    assert [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h2.company-heading")] == list(COMPANIES)
    shot(driver, "30-quarantine-two-companies")

    Select(driver.find_element(By.NAME, "company")).select_by_visible_text("globex")
    driver.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
    wait_for(lambda: shown() == [("C-globex", "globex")], what="globex's records only")
    retry = driver.find_element(By.CSS_SELECTOR, "tr.record button.retry")
    assert retry.get_attribute("title") == "runs severa_netvisor_registers__globex"
    shot(driver, "31-quarantine-company-filter")

    into_transfers(driver, room, "/flows")
    cards = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".card"), what="the flows")
    assert [(c.get_attribute("data-company"), c.get_attribute("data-flow")) for c in cards] == [
        (company, REGISTERS) for company in COMPANIES]
    Select(driver.find_element(By.NAME, "company")).select_by_visible_text("acme")
    driver.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
    wait_for(lambda: [c.get_attribute("data-company") for c in driver.find_elements(By.CSS_SELECTOR, ".card")]
             == ["acme"], what="acme's flows only")
    assert "severa_netvisor_registers__acme" in driver.find_element(By.CSS_SELECTOR, ".card").text
    shot(driver, "32-flows-company-filter")
