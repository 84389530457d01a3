"""The merchant's wizard pages."""
