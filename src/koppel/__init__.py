"""Koppel: keeps a MijnWebwinkel shop and an AccountView administration in sync."""

__version__ = "0.1.0"
