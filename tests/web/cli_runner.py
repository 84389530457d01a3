"""Moved to tests/cli_runner.py (the command is not the web's); kept while tests/sync/test_token_store.py
and tests/flows/test_engine.py import it from here. Import from tests.cli_runner."""

from tests.cli_runner import Koppel, make_koppel

__all__ = ["Koppel", "make_koppel"]
