"""The Stonks Oracle Airflow plugin (loaded from the plugins folder)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class StonksAirflowPlugin(AirflowPlugin):
    """Registers Stonks Oracle with Airflow; DAGs import the glue from ``stonks_airflow``."""

    name = "stonks"
