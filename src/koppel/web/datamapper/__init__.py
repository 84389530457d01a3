"""The datamapper: an integration's field maps shown, overridden and previewed on real records."""
