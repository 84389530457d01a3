"""Alerts: the merchant hears about a problem within minutes, with exactly what to do.

What raises one (`connections`: a broken connection pauses its integrations and recovers them; `watch`:
parked records, silence, stuck work), how it is decided once per problem (`raising`), put in words
(`messages`, in Dutch, English or German) and sent durably over e-mail or a signed webhook (`delivery`,
`channels`); the monitor (`monitor`) runs the periodic checks beside the scheduler, and `status` sums
every integration's health up for `koppel status`.
"""
