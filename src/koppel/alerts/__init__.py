"""Alerts: the merchant hears about a problem within minutes, with exactly what to do.

What raises one (`connections`: a broken connection pauses its integrations and recovers them; `watch`:
parked records, silence, stuck work), how it is decided once per problem (`raising`), put in words
(`messages`, in Dutch, English or German) and sent durably over e-mail or a signed webhook (`delivery`,
`channels`); the monitor (`monitor`) runs the periodic checks beside the scheduler, `status` sums every
integration's health up for `koppel status`, and `metrics` feeds /metrics.

Operators configure the mail server with `KOPPEL_SMTP_HOST`, `_PORT`, `_SECURITY` (starttls, tls, none),
`_USERNAME`, `_PASSWORD` (or a `koppel_smtp_password` file in the secrets dir), `_SENDER`, `_CA_FILE`; the
monitor with `KOPPEL_ALERTS_*` (`settings.py`: the dashboard's public address for links, the check
interval, delivery tries, worker, queue and stuck-run thresholds, the /metrics token). Merchants set
their channels, language, quiet hours and thresholds per workspace on the alert settings page.
"""
