from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "koppel.web.accounts"
    label = "accounts"
    verbose_name = "Workspaces and users"
