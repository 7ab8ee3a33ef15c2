"""Scorecard page callbacks (placeholder until the dashboard lands)."""
