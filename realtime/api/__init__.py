"""HTTP routers of the real-time tier, one module per concern."""
