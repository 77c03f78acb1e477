"""Airflow glue for Stonks Oracle: assets, pools, the pipeline-toggle guard and the plugin.

Business logic stays in ``stonks``; this package only adapts it to Airflow.
"""
