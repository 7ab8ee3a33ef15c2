"""Data foundation: extract formats, validation, atomic loads, the database, demo data."""
