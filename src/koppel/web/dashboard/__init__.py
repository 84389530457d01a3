"""The merchant's dashboard pages."""
