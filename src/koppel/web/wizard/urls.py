"""The setup wizard and the flows' settings pages (under /setup/), and the setup guides."""

from django.urls import URLPattern, URLResolver, path

from koppel.web.guides import views as guides
from koppel.web.wizard import views

app_name = "wizard"
integration = "w/<int:workspace_id>/i/<int:integration_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.start, name="start"),
    path("w/<int:workspace_id>/shop/", views.shop, name="shop"),
    path("w/<int:workspace_id>/shop/test/", views.test_shop, name="test_shop"),
    path("w/<int:workspace_id>/books/", views.books, name="books"),
    path("w/<int:workspace_id>/books/done/", views.create_integration, name="create_integration"),
    path(integration + "flows/", views.flows, name="flows"),
    path(integration + "flows/<slug:flow>/", views.flow_settings, name="flow_settings"),
    path(integration + "dry-run/", views.dry_run, name="dry_run"),
    path(integration + "activate/", views.activate, name="activate"),
    path(integration + "runs/", views.runs, name="runs"),
    path("guides/", guides.index, name="guides"),
    path("guides/<slug:system>/", guides.guide, name="guide"),
    path("guides/media/<str:name>", guides.media, name="guide_media"),
]
