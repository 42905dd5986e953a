"""Worked examples for rcbench (importable as ``examples.<module>`` from the checkout root)."""
