from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "koppel.sync"
    label = "sync"
    verbose_name = "Links, cursors, runs and activity"
