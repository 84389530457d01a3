"""Runs per integration: sync now with live progress, and the run history."""
