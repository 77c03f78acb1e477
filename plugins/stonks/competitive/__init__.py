"""Layer 3: competitor relationships, co-movement patterns, and propagated signals."""
