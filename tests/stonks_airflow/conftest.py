"""The Airflow environment of the DAG tests (set before airflow is imported)."""

from tests.dags.conftest import airflow_db, migrated_pg_url, stonks_env

__all__ = ["airflow_db", "migrated_pg_url", "stonks_env"]
