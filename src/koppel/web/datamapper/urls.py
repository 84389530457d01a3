"""The datamapper of one integration: its maps, changing an override, the preview, undoing one."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.datamapper import views

app_name = "datamapper"
INTEGRATION = "w/<int:workspace_id>/integrations/<int:integration_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(INTEGRATION, views.index, name="index"),
    path(INTEGRATION + "edit/", views.edit, name="edit"),
    path(INTEGRATION + "preview/", views.preview, name="preview"),
    path(INTEGRATION + "undo/", views.undo, name="undo"),
]
