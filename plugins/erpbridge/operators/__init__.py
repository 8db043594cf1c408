"""Thin Airflow tasks over sync/: the building blocks the DAG files wire together."""
