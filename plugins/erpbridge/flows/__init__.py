"""One package per flow family: its Airflow tasks, its sync code over the engines, its mapping(s)."""
