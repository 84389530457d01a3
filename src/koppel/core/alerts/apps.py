from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "koppel.core.alerts"
    label = "alerts"
    verbose_name = "Alerts and channels"
