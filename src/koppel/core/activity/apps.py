from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "koppel.core.activity"
    label = "sync"  # the tables and migration history were made under this label; keep it
    verbose_name = "Links, cursors, runs and activity"
