"""The merchant's alerts pages."""
