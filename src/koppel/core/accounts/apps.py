from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "koppel.core.accounts"
    label = "accounts"
    verbose_name = "Workspaces and users"
