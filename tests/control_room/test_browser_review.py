"""The payroll review of the demo's seed answered on Airflow's own Required Actions page, in headless
Chromium against the real api-server: rows and flags shown, a Reject without a reason refused (the review is
asked again), then Approve without a reason loads. Screenshots in test-artifacts/control_room/."""

from __future__ import annotations

import copy
import threading

from include.simulators import horizon as horizon_sim
from tests.control_room.test_browser import browser, pytestmark, shot, wait_for  # noqa: F401  (fixture, marks)
from tests.control_room.test_browser_iframe import sign_in
from tests.flows.dagrun import task_states
from tests.flows.hitl import run_dag_answering

DAG_ID = "horizon_payroll_time_import"
TASK_ID = "review_work_time"


def waiting_request(room, after: int = 0, timeout: float = 120) -> dict:
    """The review's next request waiting for an answer (Airflow's REST API), with its run."""
    http = room.session()

    def find():
        found = http.get(f"{room.base}/api/v2/dags/{DAG_ID}/dagRuns/~/hitlDetails", timeout=30).json()
        waiting = [d for d in found.get("hitl_details", []) if d.get("responded_at") is None
                   and d["task_instance"]["try_number"] > after]
        return waiting[0] if waiting else None
    return wait_for(find, timeout=timeout, what="a review request")


def answer_in_airflow(driver, room, request: dict, option: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    ti = request["task_instance"]
    driver.get(f"{room.base}/dags/{DAG_ID}/runs/{ti['dag_run_id']}/tasks/{TASK_ID}/required_actions")
    button = wait_for(lambda: next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip() == option
                                   and b.is_enabled()), what=f"an enabled {option} button")
    shot(driver, name)
    button.click()


def test_the_demo_review_on_airflows_required_actions_page(room, horizon, severa, browser, tmp_path):
    horizon.seed(**copy.deepcopy(horizon_sim.DEMO_SEED))
    file_name, text = horizon_sim.demo_work_time()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / file_name).write_text(text, encoding="utf-8")
    problems: list[BaseException] = []

    def reviewer():
        try:
            from selenium.webdriver.common.by import By

            sign_in(browser, room)
            wait_for(lambda: "/auth/login" not in browser.current_url, what="signed in")
            first = waiting_request(room)
            answer_in_airflow(browser, room, first, "Reject", "30-review-required-action")
            page = browser.find_element(By.TAG_NAME, "body").text
            for flag in ("unknown employee code E9999", "negative hours", "unreadable hours"):
                assert flag in page, flag
            second = waiting_request(room, after=first["task_instance"]["try_number"])
            answer_in_airflow(browser, room, second, "Approve", "31-review-asked-again")
        except BaseException as exc:  # surfaced below
            problems.append(exc)

    thread = threading.Thread(target=reviewer, daemon=True)
    thread.start()
    run, asked = run_dag_answering(DAG_ID, lambda asked: None, {"inbox": str(inbox)}, retries=True)
    thread.join(30)

    assert not problems, problems
    assert run.state == "success", task_states(run)
    assert len(asked) == 2, "the Reject without a reason was refused and the review asked again"
    # Horizon refuses the 26 h day in its own words: loaded, with that one error
    assert room.db.execute("SELECT status, decision, reason FROM payroll_batch").fetchall() == [
        ("loaded_with_errors", "Approve", None)]
    assert {r["EmployeeCode"] for r in horizon.state()["time_import"]} == {"E1001", "E1002"}
