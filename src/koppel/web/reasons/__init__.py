"""Reasons in the user's language: a record's reason (why it was sent, skipped or parked) is kept as
English text plus its template and values (`koppel.reasons`); this part of the dashboard translates the
template and fills in the values. Templates use `{% load reasons %}{{ activity|reason }}`.

Its translations (msgid = the English template) live in its own locale/ folder.
"""
