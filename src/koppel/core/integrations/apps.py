from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "koppel.core.integrations"
    label = "integrations"
    verbose_name = "Connections and integrations"
