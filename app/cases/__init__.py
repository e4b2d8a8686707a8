"""Accountability cases: opening, reading, listing (services used by the API and the web views)."""
