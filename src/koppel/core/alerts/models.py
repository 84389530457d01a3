"""Alert channels per workspace and the alerts raised (see koppel.alerts for how they are sent)."""
