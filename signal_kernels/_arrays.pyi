"""Boundary helpers shared by the kernel modules (C-level only; nothing public)."""
