"""The web side: views, templates, URLs and the operators' admin. The data model is `koppel.core`."""

from __future__ import annotations

from koppel.core import setup

__all__ = ["setup"]
