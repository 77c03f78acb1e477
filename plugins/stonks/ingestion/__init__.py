"""Ingestion: raw payloads to the object store, documents and ingestion runs to the database.

Entry points for the Airflow tasks live in ``stonks.ingestion.jobs``; each fetches exactly one
data interval and can be re-run or run concurrently with the same result.
"""
