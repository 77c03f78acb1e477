"""Tests of the real-time tier."""
