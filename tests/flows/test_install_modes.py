"""erpbridge works both as an installed provider and from Airflow's plugins folder
(``AIRFLOW__CORE__PLUGINS_FOLDER=<repo>/plugins``, as the Astro layout has it). In the plugins-folder mode
Airflow loads every ``.py`` file under the folder as a top-level module named after the file, replacing
any module of that name in ``sys.modules``: a ``hooks/http.py`` became ``http`` and every task failed with
"cannot import name 'HTTPStatus' from 'http'"."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from include.simulators.standard_books import DEMO_SEED as SB_DEMO
from tests.flows.test_standardbooks_envoice import envoice_holds, expected_envoice

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"


def test_no_module_of_the_package_is_named_like_a_top_level_module():
    ours = {path.stem for path in PLUGINS.rglob("*.py")}
    others = set(sys.stdlib_module_names) | {m.name for m in pkgutil.iter_modules() if m.name != "erpbridge"}
    assert sorted(ours & others) == []


@pytest.mark.parametrize("plugins_folder", [None, PLUGINS], ids=["installed-provider", "plugins-folder"])
def test_a_dag_runs_its_tasks(airflow_db, ledger, standard_books, envoice, tmp_path, plugins_folder):
    standard_books.seed(**SB_DEMO)
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder or tmp_path)}
    out = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", "standardbooks_envoice_master_data"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "cannot import name" not in out.stdout + out.stderr
    assert envoice_holds(envoice) == expected_envoice(standard_books.state())  # the tasks ran in that mode
