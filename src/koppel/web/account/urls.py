"""The account pages (the user's own, no workspace) and the sign-in's code step."""

from django.urls import URLPattern, path

from koppel.web.account import login, views

app_name = "account"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("two-factor/start/", views.start, name="start"),
    path("two-factor/set-up/", views.set_up, name="set_up"),
    path("two-factor/backup-codes/", views.backup_codes, name="backup_codes"),
    path("two-factor/off/", views.turn_off, name="turn_off"),
    path("sign-in/code/", login.code_step, name="sign_in_code"),
]
