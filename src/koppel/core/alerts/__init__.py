"""Alerts: channels per workspace, and the problems they were told about (the data model; sending lives
in koppel.alerts)."""
