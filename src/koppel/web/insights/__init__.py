"""Insights: an integration's numbers (orders sent per day, parked records by reason, time from shop to
books, last successful run per flow) from the runs and activity tables, as server-rendered bars."""
