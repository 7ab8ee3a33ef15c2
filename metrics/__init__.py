"""Measures, statistics, SPC and disclosure control for the BSol outcomes dashboard."""
