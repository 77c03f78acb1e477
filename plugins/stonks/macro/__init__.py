"""Layer 2: macro events, company exposure profiles, and their interpolated impact."""
