"""Answer a human-in-the-loop step the way the UI does, while dag.test() waits for it.

dag.test() keeps a run alive while a task is parked in AWAITING_INPUT, until a response recorded
from outside flips it back to SCHEDULED. This responder does what the Core API's
``PATCH .../hitlDetails`` handler does (record the response on the hitl_detail row and submit the
resume event for the task instance), from a thread, against the same metadata DB.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

from tests.flows.dagrun import load_dag

Answer = Callable[[dict], tuple[list[str], dict] | None]  # None: answered from outside, e.g. in a browser


class Responder(threading.Thread):
    def __init__(self, answer: Answer, timeout: float = 120):
        super().__init__(daemon=True)
        self.answer = answer
        self.timeout = timeout
        self.asked: list[dict] = []  # what each request showed: subject, body, options, params
        self.outside: set = set()  # requests left to be answered from outside
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        import time

        deadline = time.monotonic() + self.timeout  # for a request that stays unanswered, not for the run
        try:
            while not self.done.wait(0.3):
                if self._respond_once():
                    deadline = time.monotonic() + self.timeout
                elif time.monotonic() > deadline and self._give_up():
                    return
        except BaseException as exc:  # surfaced by the test
            self.error = exc
            self._give_up()

    def _give_up(self) -> bool:
        """Fail what is still waiting, so dag.test() ends instead of waiting for ever; False if nothing waits."""
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        with create_session() as session:
            waiting = session.query(TaskInstance).filter(TaskInstance.state == TaskInstanceState.AWAITING_INPUT).all()
            for ti in waiting:
                ti.state = TaskInstanceState.FAILED
        if waiting:
            self.error = self.error or TimeoutError(f"no answer given within {self.timeout}s")
        return bool(waiting)

    def _respond_once(self) -> int:
        """Answer every open request; returns how many were answered."""
        from sqlalchemy import select

        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.sdk import timezone
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        answered = 0
        with create_session() as session:
            for detail in session.scalars(select(HITLDetail)).unique():
                ti = session.get(TaskInstance, detail.ti_id)
                if ti is None or ti.state != TaskInstanceState.AWAITING_INPUT:
                    continue
                if detail.responded_at is not None:
                    # answered, yet still parked: dag.test() wrote the task's state back over the resume
                    # in a race; submit the recorded answer again (as a repeated PATCH would)
                    if (timezone.utcnow() - detail.responded_at).total_seconds() > 2:
                        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti,
                                            session=session)
                    continue
                asked = {"subject": detail.subject, "body": detail.body, "options": list(detail.options),
                         "params": dict(detail.params or {}), "task_id": ti.task_id}
                if detail.ti_id in self.outside:
                    continue
                self.asked.append(asked)
                response = self.answer(asked)
                if response is None:  # to be answered from outside (a browser, through Airflow's UI)
                    self.outside.add(detail.ti_id)
                    continue
                chosen, given = response
                # the form sends every field, those left untouched with their defaults
                params_input = {name: (spec.get("value") if isinstance(spec, dict) else spec)
                                for name, spec in asked["params"].items()} | given
                detail.responded_by = {"id": "reviewer", "name": "Test Reviewer"}
                detail.responded_at = timezone.utcnow()
                detail.chosen_options = chosen
                detail.params_input = params_input
                session.add(detail)
                handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
                answered += 1
        return answered


def run_dag_answering(dag_id: str, answer: Answer, conf: dict | None = None, *, retries: bool = False):
    """dag.test() with each human-in-the-loop request answered by ``answer(request)``. ``retries``: keep the
    DAG's own retries (without their wait), else a failed task fails the run at once."""
    dag = load_dag(dag_id)
    for task in dag.tasks:
        if retries:
            task.retry_delay = timedelta(0)
        else:
            task.retries = 0
    from airflow.models import import_all_models
    from sqlalchemy.orm import configure_mappers

    import_all_models()  # here, not first in the responder's thread while dag.test() imports the same modules
    configure_mappers()
    responder = Responder(answer)
    responder.start()
    try:
        run = dag.test(run_conf=conf or {})
    finally:
        responder.done.set()
        responder.join(10)
    if responder.error:
        raise responder.error
    return run, responder.asked
