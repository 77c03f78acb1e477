"""Tests of the dual-pipeline signal engine."""
