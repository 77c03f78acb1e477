"""The real-time tier: signal engine, recommendations, trading, broker (never imports airflow)."""
