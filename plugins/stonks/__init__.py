"""Stonks Oracle's framework-free domain library.

Models, message schemas, settings, Redis keys and the queue library live here; nothing in
this package imports Airflow or FastAPI.
"""

__version__ = "0.1.0"
