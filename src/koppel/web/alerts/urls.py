"""The merchant's alerts: the list, and acknowledging one."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.alerts import views

app_name = "alerts"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.alert_list, name="list"),
    path("<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("w/<int:workspace_id>/settings/", views.alert_settings, name="settings"),
    path("w/<int:workspace_id>/channels/<int:channel_id>/remove/", views.remove_channel, name="remove_channel"),
]
