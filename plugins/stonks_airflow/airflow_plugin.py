"""The Stonks Oracle Airflow plugin (loaded from the plugins folder)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from stonks_airflow.timetables import NyseSessionTimetable


class StonksAirflowPlugin(AirflowPlugin):
    """Registers Stonks Oracle with Airflow: the NYSE session timetable (needed to
    deserialize DAGs that use it); DAGs import the rest of the glue from ``stonks_airflow``."""

    name = "stonks"
    timetables = [NyseSessionTimetable]
