"""The control room: transfer history, quarantine and flow status inside Airflow's UI (issue 6)."""
