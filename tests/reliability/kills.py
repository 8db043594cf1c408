"""kill -9 trials: a run started in a session of its own, watched until it is under way, then killed (SIGKILL to its
whole session) at a random moment; what the next clean run makes of it is the test's business."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Callable

# Kill -9 trials per test in `make test`. Two is the fewest that covers both cases a crash leaves: a clean start
# killed mid-transfer, and a run that resumes what a killed run left and is killed in turn; each test asserts that
# a kill landed in a live transfer, and the windows that matter most are pinned by deterministic tests (killed
# after the write but before the ledger heard, and the like). `make soak` draws 50 (CRASH_TRIALS).
TRIALS = int(os.environ.get("CRASH_TRIALS", "2"))


def dags_test(dag_id: str) -> subprocess.Popen:
    """``airflow dags test <dag_id>`` in a session of its own, its output discarded."""
    return subprocess.Popen([sys.executable, "-m", "airflow", "dags", "test", dag_id], env=os.environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def under_way(proc: subprocess.Popen, condition: Callable[[], bool], timeout: float = 90.0) -> bool:
    """True once ``condition()`` holds (one that raises, e.g. before the run made its ledger tables, does not yet);
    False when the process ended, or ``timeout`` passed, first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if condition():
                return True
        except Exception:  # noqa: BLE001 (the run has not created what the condition reads)
            pass
        time.sleep(0.02)
    return False


def kill_mid_run(proc: subprocess.Popen, started: bool, rng: random.Random, max_delay: float) -> bool:
    """SIGKILL the process's session up to ``max_delay`` s (drawn from ``rng``) after it got under way, unless it
    has ended by then; waits for it. True when it was killed mid-run."""
    if started:
        time.sleep(rng.uniform(0.0, max_delay))
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed
