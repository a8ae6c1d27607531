"""Sensors (file drops, external events). The first ones arrive with the CSV/Excel imports."""
